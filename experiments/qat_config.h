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
//   "batch_norm": "folded" | "train"  BatchNorm folded into the weights before QAT (default), or kept
//                                   with batch statistics while training and folded exactly at export
//                                   (train/qat_network.h; docs/training.md).
//   "batch_norm_freeze_after": E    with "batch_norm": "train": after E epochs (E in [0, epochs)) the
//                                   running statistics are frozen and used in training as at inference
//                                   (nets/batch_norm.h; γ, β still train) — the network trained in the
//                                   last epochs is then the deployed one. Default: never.
//   "oscillation_dampening": {      optional: pull every LSQ/DSQ layer's latent weights to the centres of
//      "weight": 0.1,               their bins (train/oscillation_dampening.h): λ at the end of the run
//      "start_weight": 0}           (>= 0) and at its start (>= 0, default 0), a cosine ramp over the steps
//   "weight_freezing": {            optional: freeze every LSQ/DSQ weight whose code oscillates
//      "threshold": 0.01,           (train/weight_freezing.h): the frequency above which a weight freezes
//      "start_threshold": 0.1,      at the end of the run (in (0, 1]) and at its start (> 0, default the
//      "momentum": 0.01}            end value; above 1: nothing freezes early), a cosine ramp over the
//                                   steps; the EMA momentum (in (0, 1], default 0.01)
//   "hardware_aware": {             hardware-aware (noise-injection) training (docs/hardware_aware_training.md)
//      "xbar": {...} | "xbar.json",   the chip, as `cimsim experiment` reads it (no "external")
//      "layers": "all" | ["conv1", ...],  the CIM layers (default all conv/linear layers); others are digital
//      "strength": 1,                 scale of every deviation the chip causes (>= 0)
//      "layer_strength": {"conv1": 0.5},  per CIM layer, overriding "strength"
//      "epoch_strength": [0.5, 1, 0],  factor on every strength in epoch 1, 2, ... (the last for later
//                                   epochs; >= 0, 0 = a noise-free epoch); default all 1
//      "seed": 1,                     root of the noise streams
//      "read_times": {                optional: each draw reads the chip at a time t after programming,
//         "min": 3600, "max": 3.2e7,  log-uniform in [min, max] s (crossbar.read_time <= min <= max), the
//         "compensation": "global"}   drift compensated by one factor per layer (default) or "per_column"
//                                   (train/hardware_noise.h); default: every draw read at crossbar.read_time
// QAT defaults (where a training config has its own): epochs 15, optimizer.lr 0.01, schedule cosine.
// The flags --w-bits, --a-bits [--method lsq|dsq|auto] build the uniform plan instead of "quant": every
// layer at those bits except the first conv and the last linear (8 bits, post-training ranges), mode
// "qat" with that method (or the hybrid rule for "auto").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/train_config.h"
#include "experiments/xbar_config.h"
#include "quant/quant_plan.h"
#include "train/hardware_aware.h"
#include "train/oscillation_dampening.h"
#include "train/qat_network.h"
#include "train/weight_freezing.h"

namespace cimsim {

struct HardwareAwareConfig {
  nlohmann::json json;                 // as given (with "xbar" resolved), for the checkpoint's config
  XbarConfig chip;
  bool all_layers = true;
  std::vector<std::string> layers;     // !all_layers
  double strength = 1;
  std::map<std::string, double> layer_strength;
  std::vector<double> epoch_strength;  // the schedule's factors (HardwareAwareParams::epoch_factors)
  HardwareReadTimes read_times;        // "read_times" (HardwareAwareParams::read_times)
  uint64_t seed = 1;
  std::string where;                   // "<file>: hardware_aware", for messages
  // The parameters for a model whose conv/linear layers are `names` (InputError naming `where` for a
  // layer_strength of a layer that is not a CIM layer: noise on a digital layer).
  HardwareAwareParams Resolve(const std::vector<std::string>& names) const;
};

struct QatConfig {
  TrainConfig train;
  QuantPlan plan;
  bool plan_given = false;  // "quant" present (else the flags must give one)
  QatBatchNorm batch_norm = QatBatchNorm::kFolded;
  std::optional<int> batch_norm_freeze_after;  // epochs with batch statistics before freezing
  std::optional<HardwareAwareConfig> hardware_aware;
  std::optional<OscillationDampeningParams> oscillation_dampening;
  std::optional<WeightFreezingParams> weight_freezing;
};

QatConfig ParseQatConfig(const nlohmann::json& j, const std::string& source);
QatConfig LoadQatConfig(const std::string& path);
// The defaults of a QAT run with no config file.
QatConfig DefaultQatConfig();
nlohmann::json QatConfigToJson(const QatConfig& c);

struct QatFlags {
  std::optional<int> weight_bits, activation_bits;
  std::optional<std::string> method;  // "lsq", "dsq", "auto"
  std::optional<std::string> batch_norm;  // "folded", "train"
};
// Replaces the plan with the uniform one when bits are given (both needed), and the BatchNorm mode
// when given; InputError naming the flag for bits outside 2..8 or an unknown method or mode, or naming
// batch_norm_freeze_after when the resulting mode is not "train".
void ApplyQatFlags(const QatFlags& flags, QatConfig& c);

}  // namespace cimsim
