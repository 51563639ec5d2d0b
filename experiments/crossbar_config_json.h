// crossbar_config_json.h — the "crossbar" object of a crossbar config ↔ CrossbarParams.
//
// Schema (every key optional; defaults are CrossbarParams'; reference and examples in docs/crossbar.md):
//   {"rows_max": 1..65536, "cols_max": 1..65536,            tile size (default 128 × 128)
//    "mapping": "differential"|"offset",                     (differential)
//    "slice_bits": 0..16,                                    bits per cell, 0 = one cell per weight (0)
//    "input": {"mode": "dac"|"bit_serial",                   (bit_serial)
//              "dac_bits": 1..16 (dac, default 8), "slice_bits": 1..16 (bit_serial, default 1)},
//    "adc": {"bits": 1..24 (8), "range": "max"|"fixed"|"calibrated" (max),
//            "fixed_range": > 0 (fixed: required; full scale in integer units)},
//    "read_time": seconds >= 0 (0), "read_noise": true|false (true),
//    "periphery": {"gain_sigma": 0..0.5 (0), "offset_sigma": 0..1 (0)}}   column gain/offset spread
// A key that belongs to another mode than the object's ("dac_bits" with "mode": "bit_serial",
// "fixed_range" without "range": "fixed"), an unknown key, a wrong type or a non-integral integer is an
// error. Every error is an InputError "<where>.<path>: <problem>" naming the value and what is allowed:
// structure and types here, value ranges by CrossbarParams::Validate with the same paths, e.g.
// "xbar.json: crossbar.adc.bits: 40 is out of range; allowed 1..24". Checks that need the layer
// (slice bits against weight bits, DAC bits against input bits) run when a CrossbarCore is built.
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
