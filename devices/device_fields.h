// device_fields.h — the field table of DeviceParams (common/field_table.h): every key of the "device"
// config object once, with its range, unit, doc and the kind it belongs to. It drives
// DeviceParams::Validate (plus the checks that involve two fields), the JSON reader and writer
// (experiments/device_config_json.h) and the key table of docs/devices.md (a test keeps them equal).
//
// Preset semantics live in the setters, so that every input applied in table order (JSON, a swept
// value) behaves alike: "preset" (first) replaces the whole struct with the named preset; a section's
// "kind" (first in its section) that differs from the current one resets the section to that kind's
// built-in defaults. Messages about a key of another kind name where the kind came from (", from the
// preset \"pcm\"", ", the default") unless the same input set it.
#pragma once

#include <vector>

#include "common/field_table.h"
#include "devices/device_params.h"

namespace cimsim {

std::vector<Field<DeviceParams>> DeviceFields();

}  // namespace cimsim
