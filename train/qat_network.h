// qat_network.h — a quantization-aware-training network built from a quantized model, and its export.
//
// Start: the float network and its post-training quantized model (QuantizeNetwork with every layer
// quantized post-training, which fixes the integer graph: fused nodes, code widths, and initial scales).
// BatchNorm is either folded into the conv weights and biases before QAT (FoldLayer; the weights that
// train are exactly the ones deployed), or kept in training mode inside each QatMvm and folded at
// export exactly through the per-channel weight scales (train/qat_layers.h; docs/training.md compares
// the two). Per node of the quantized model:
//   conv / linear → QatMvm with the folded float weights, a WeightQuantizer (method of the layer,
//                   initial per-channel scales from the model), and its output on
//                     - its own ActQuantizer (codes out_min..out_max, initial scale out_scale), or
//                     - the grid of the add it feeds (a wide output), or a fixed wide grid (the logits);
//   add → QatAdd, global average pool → QatAvgPool (own ActQuantizers);
//   option-A shortcut, max pool → the float layers (exact on grid values; their output stays on their
//                   input's grid).
// The method of an activation quantizer is the method of the conv/linear layer that reads the tensor
// with the most bits (directly or through adds, pools and shortcuts; the first such layer on a tie) —
// the same reader whose bits the tensor has; kFixed when no reader trains.
// Export: the model with the current weight codes, weight scales, bias codes and output scales, and
// every fixed-point multiplier recomputed (nets/requantization.h): exactly what the QAT network computes.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nets/network.h"
#include "nets/quantized_model.h"
#include "train/fake_quantizer.h"

namespace cimsim {

struct QatNetwork {
  QuantizedModel base;                                 // the structure (and the initial scales)
  std::vector<std::unique_ptr<ActQuantizer>> quantizers;  // owned; declared before net (outlive its layers)
  std::vector<const ActQuantizer*> grid;               // per node: the quantizer its output lies on
  std::unique_ptr<ActQuantizer> image;                 // the fixed grid of the image input
  Network net;                                         // one node per model node, same names
};

enum class QatBatchNorm {
  kFolded,  // folded into the weights before QAT, frozen at the running statistics
  kTrain,   // kept after each conv that has one: batch statistics in training, folded at export
};
std::string_view ToString(QatBatchNorm mode);  // "folded", "train"

// methods: for every conv/linear node name of `base`, kFixed (post-training ranges; weights still
// fine-tune), kLsq or kDsq. With kTrain, a conv's initial weight steps are the model's scales divided
// by |γ/√(σ²+ε)| (the same codes on the raw weights). Throws std::invalid_argument for a node without a
// method or a float network that does not match the model.
std::unique_ptr<QatNetwork> BuildQatNetwork(const QuantizedModel& base, const Network& float_net,
                                            const std::map<std::string, QatMethod>& methods,
                                            QatBatchNorm batch_norm = QatBatchNorm::kFolded);

// BatchNorm kept (QatBatchNorm::kTrain): every kept BatchNorm trains with frozen running statistics
// (true) or with batch statistics (false) from now on (nets/batch_norm.h). No effect when folded.
void FreezeBatchNormStatistics(QatNetwork& qat, bool frozen);

// Oscillation dampening (train/oscillation_dampening.h) with weight λ >= 0 on every conv/linear layer's
// weight quantizer from the next step on; layers with post-training ranges (kFixed) ignore it.
void SetOscillationDampening(QatNetwork& qat, double lambda);
// Σ over the layers of the dampening term R of the last Backward (0 when off).
double OscillationDampeningLoss(const QatNetwork& qat);

// Iterative freezing of oscillating weights (train/weight_freezing.h) on every conv/linear layer that
// trains its weight steps (LSQ, DSQ); tracked from the current codes on.
void EnableWeightFreezing(QatNetwork& qat);
struct WeightFreezingCount {
  int64_t frozen = 0;   // weights frozen so far
  int64_t tracked = 0;  // weights tracked
};
// One training step of every layer's tracker (before the step's forward pass) with threshold f_th and
// momentum m; returns the number of weights it froze.
int64_t TrackWeightOscillations(QatNetwork& qat, double momentum, double threshold);
// The counts without a step.
WeightFreezingCount CountFrozenWeights(const QatNetwork& qat);

// The latent float network of a QAT network: writes its trained (unquantized) parameters into
// `float_net`, the float network it was built from (same architecture), so that the float network is
// the QAT network without its quantizers — the starting point of another QAT run (e.g. progressive
// bit reduction, W3A3 → W2A2) or an ordinary float model file. Per conv/linear node N with latent
// weights v and bias b:
//   BatchNorm kept:   N.weight = v; its BatchNorm's γ, β, σ² = the QAT ones, μ = μ_QAT − b (the conv's
//                     own bias, if the float layer has none: BN(z + b) with mean μ is BN(z) with μ − b);
//   BatchNorm folded: N.weight = v; γ, β, σ² unchanged, μ = b_raw + (β − b_f)/a_o, where b_f is the
//                     trained folded bias and a_o = γ/√(σ²+ε) (b_f = β + a_o·(b_raw − μ) inverted);
//   no BatchNorm:     N.weight = v, N.bias = b;
//   v is QatMvm::LatentWeights: a frozen weight (train/weight_freezing.h) at its frozen code's value.
// The float network then computes, up to float rounding, what the QAT network computes before its
// roundings. Throws std::invalid_argument if the networks do not match, or a layer without bias or
// BatchNorm has a non-zero trained bias, or a folded a_o is 0.
void WriteLatentFloatNetwork(QatNetwork& qat, Network& float_net);

// The integer model of the network's current parameters (validated; InputError naming `where` if a
// scale makes a multiplier or bias impossible).
QuantizedModel ExportQuantizedModel(QatNetwork& qat, const std::string& description, const std::string& where);

}  // namespace cimsim
