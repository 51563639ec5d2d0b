// device_config_json.h — the "device" object of a crossbar config ↔ DeviceParams.
//
// The keys, their ranges, defaults and kinds are the field table DeviceFields() (devices/device_fields.h;
// the generated table in docs/devices.md); every key is optional.
// Order: the preset first, then every other key overrides it. Inside a section, a "kind" different
// from the current one (the preset's) resets the section to that kind's built-in defaults (the
// published PCM fits for pcm_1f and pcm) and then applies the section's keys; constant and
// proportional need their "sigma" / "relative", polynomial its "coefficients", constant_nu its "nu".
// A key that belongs to another kind than the section's is an error, as is any unknown key.
//
// Every error is an InputError "<where>.<path>: <problem>" naming the value and what is allowed:
// structure and types here, value ranges by DeviceParams::Validate with the same paths, e.g.
// "xbar.json: device.g_min: 30 must be < device.g_max (25)".
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "devices/device_params.h"

namespace cimsim {

// `where` names the object in messages, e.g. "xbar.json: device". The result is validated.
DeviceParams ParseDeviceConfig(const nlohmann::json& j, const std::string& where);

// "preset" (when set), every top-level value, and per section its kind with that kind's keys only.
// ParseDeviceConfig(DeviceParamsToJson(p), w) == p for any p that came from a preset or from
// ParseDeviceConfig (in general: up to the fields that p's kinds ignore).
nlohmann::json DeviceParamsToJson(const DeviceParams& p);

}  // namespace cimsim
