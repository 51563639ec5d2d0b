// qat_config.h — the config of `cimsim qat --config qat.json --out DIR [--resume]` (docs/training.md).
//
// Every key of a training config (experiments/train_config.h; "model" must be {"init": float model})
// plus
//   "quant": "q.json" or {...}      the per-layer quantization config of `cimsim quantize`
//                                   (docs/quant_config.md): bits, ranges, mode and "qat_method" per layer.
// Which layers train their quantizers follows the plan: a layer resolved to QAT (mode "qat", or "auto"
// below 4 bits) learns its weight steps and its input activations' steps with its qat_method (LSQ or
// DSQ); a post-training layer keeps the ranges calibrated at the start (ACIQ etc.) while its float
// weights still fine-tune through the straight-through estimator.
// QAT defaults (where a training config has its own): epochs 15, optimizer.lr 0.01, schedule cosine.
// The flags --w-bits, --a-bits [--method lsq|dsq|auto] build the uniform plan instead of "quant": every
// layer at those bits except the first conv and the last linear (8 bits, post-training ranges), mode
// "qat" with that method (or the hybrid rule for "auto").
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "experiments/train_config.h"
#include "quant/quant_plan.h"

namespace cimsim {

struct QatConfig {
  TrainConfig train;
  QuantPlan plan;
  bool plan_given = false;  // "quant" present (else the flags must give one)
};

QatConfig ParseQatConfig(const nlohmann::json& j, const std::string& source);
QatConfig LoadQatConfig(const std::string& path);
// The defaults of a QAT run with no config file.
QatConfig DefaultQatConfig();
nlohmann::json QatConfigToJson(const QatConfig& c);

struct QatFlags {
  std::optional<int> weight_bits, activation_bits;
  std::optional<std::string> method;  // "lsq", "dsq", "auto"
};
// Replaces the plan with the uniform one when bits are given (both needed); InputError naming the
// flag for bits outside 2..8 or an unknown method.
void ApplyQatFlags(const QatFlags& flags, QatConfig& c);

}  // namespace cimsim
