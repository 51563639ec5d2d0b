// crossbar_config_json.h — the "crossbar" object of a crossbar config ↔ CrossbarParams.
//
// The keys, their ranges, defaults and modes are the field table CrossbarFields() (sim/crossbar_fields.h;
// the generated table in docs/crossbar.md); every key is optional. A key that belongs to another mode
// than the object's ("dac_bits" with "mode": "bit_serial", "fixed_range" without "range": "fixed"), an
// unknown key, a wrong type or a non-integral integer is an error, as is a missing fixed_range with
// "range": "fixed". Every error is an InputError "<where>.<path>: <problem>" naming the value and what
// is allowed, e.g. "xbar.json: crossbar.adc.bits: 40 is out of range; allowed 1..24". Checks that need
// the layer (slice bits against weight bits, DAC bits against input bits) run when a CrossbarCore is
// built.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sim/crossbar_params.h"

namespace cimsim {

// `where` names the object in messages, e.g. "xbar.json: crossbar". The result is validated.
CrossbarParams ParseCrossbarConfig(const nlohmann::json& j, const std::string& where);

// Every top-level value; "input" with its mode and that mode's key; "adc" with bits, range and, for a
// fixed range, fixed_range. ParseCrossbarConfig(CrossbarParamsToJson(p), w) == p for any p that came
// from ParseCrossbarConfig (in general: up to the fields that p's modes ignore).
nlohmann::json CrossbarParamsToJson(const CrossbarParams& p);

}  // namespace cimsim
