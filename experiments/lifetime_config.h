// lifetime_config.h — the "lifetime" key of an experiment config: read the same programmed chip at
// several times after programming, under drift-compensation policies (docs/lifetime.md).
//
//   "lifetime": {"times": [1, 60, 3600, 86400, 2592000, 31536000, 315360000],
//                          seconds after programming; each finite and > 0, strictly increasing (1..64)
//                "policies": ["none", "global", "per_column", "reprogram"],
//                          any non-empty subset, no duplicates, in the order results list them
//                "calibrate_at": 1,
//                          seconds after programming of the initial calibration and drift reference
//                          read; 0 <= calibrate_at <= times[0]; default times[0]
//                "reprogram": {"metric": "error", "threshold": 0.2}}
//                          only (and required) with the policy "reprogram": a layer whose monitored
//                          metric exceeds the threshold at a time is reprogrammed then
//
// Policies (what each CIM layer is at time t; experiments/lifetime_runner.h has the maths):
//   none        the calibration made at calibrate_at, kept
//   global      that calibration, plus one factor α per layer from a known input read at t
//   per_column  a full auto calibration (ADC ranges, per-column corrections) at every time
//   reprogram   global, and a layer whose metric exceeds the threshold is programmed afresh
// Reprogram metrics: "error" — the layer's relative RMS error on the drift-reference input after global
// compensation, against the exact integer products; "alpha" — |α − 1|.
//
// Errors are InputErrors naming the file and the key path, e.g.
//   run.json: lifetime.times[2]: 60 must be > lifetime.times[1] (3600); the times are strictly increasing
// Checks that involve other keys (calibration, xbar, sweep) are in experiment_config.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/json_reader.h"

namespace cimsim {

enum class LifetimePolicy { kNone, kGlobal, kPerColumn, kReprogram };
std::string_view ToString(LifetimePolicy policy);   // "none", "global", "per_column", "reprogram"

enum class ReprogramMetric { kError, kAlpha };
std::string_view ToString(ReprogramMetric metric);  // "error", "alpha"

struct ReprogramParams {
  ReprogramMetric metric = ReprogramMetric::kError;
  double threshold = 0;   // > 0; a layer is reprogrammed when its metric is > threshold
};

struct LifetimeParams {
  std::vector<double> times;                 // s after programming, > 0, strictly increasing
  std::vector<LifetimePolicy> policies;      // non-empty, distinct
  double calibrate_at = 0;                   // s, resolved (times[0] when not given)
  std::optional<ReprogramParams> reprogram;  // set exactly when policies hold kReprogram
  bool Has(LifetimePolicy p) const;
};

// The "lifetime" object j (path "lifetime").
LifetimeParams ReadLifetime(const JsonReader& r, const nlohmann::json& j);
// The resolved form (calibrate_at always written); ReadLifetime of it gives the same params.
nlohmann::json LifetimeToJson(const LifetimeParams& params);
// A time as JSON: an integer when it is one (3600, not 3600.0), else the number.
nlohmann::json SecondsToJson(double seconds);

}  // namespace cimsim
