// quant_config_json.h — the quantization config file (`cimsim quantize --config q.json`) ↔ QuantPlan.
//
// Schema (every section and key optional except "match" in a rule; full reference with an example
// in docs/quant_config.md):
//   {"default":     {<layer keys>},
//    "layers":      [{"match": "<glob>", <layer keys>}, ...],          // applied in order, later wins
//    "calibration": {"images": int >= 1, "seed": uint64, "class_balanced": bool,
//                    "sample_capacity": int >= 1}}
//   <layer keys>: "weight_bits", "activation_bits": int 2..8; "per_channel", "bias_correction": bool;
//                 "output_clip_search", "output_bias_correction": bool; "rounding": "nearest"|"adaround";
//                 "adaround": {"iterations", "learning_rate", "lambda", "beta_start", "beta_end", "warmup"};
//                 "reconstruction_images": int >= 1 (quant/adaround.h);
//                 "weight_calibration", "activation_calibration": <range>; "mode": "auto"|"ptq"|"qat".
//   <range>:      {"method": "max"|"percentile"|"mse"|"aciq" (default "aciq"),
//                  "prior": "laplace"|"gauss" (aciq only), "percentile": (0, 100] (percentile only),
//                  "candidates": int 8..65536 (mse only)}; a <range> replaces the whole setting, its
//                 missing keys take the built-in defaults of RangeParams.
// A "match" is a GlobMatch pattern ('*' any run, '?' one character) of letters, digits, '_', '.'.
//
// Every error is an InputError "<source>: <path>: <problem>", the path in the file's own terms
// ("layers[1].weight_calibration.percentile"), naming the value and what is allowed. Unknown keys,
// wrong types, non-integral numbers for integer fields, duplicate keys (LoadQuantConfig) are errors.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "quant/quant_plan.h"

namespace cimsim {

// `source` names the file in messages and becomes QuantPlan::source; rule i gets the where
// "<source>: layers[i]".
QuantPlan ParseQuantConfig(const nlohmann::json& j, const std::string& source);

// Reads and parses the file at `path` (used as the source). InputError for a missing or unreadable
// file, invalid JSON (with nlohmann's line and column) or a duplicate key within one object.
QuantPlan LoadQuantConfig(const std::string& path);

// Every default and calibration key written out; a rule only with the keys it sets; a <range> with
// its method and only the key that method uses. ParseQuantConfig(QuantPlanToJson(p), s) gives p back
// (up to RangeParams fields its method ignores).
nlohmann::json QuantPlanToJson(const QuantPlan& plan);

}  // namespace cimsim
