// quantize_network.h — post-training quantization: a float Network → a QuantizedModel.
//
// 1. Fusion. The float graph is cut into integer nodes: conv [→ BatchNorm] [→ ReLU] becomes one conv
//    node (BatchNorm folded: W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β; a ReLU becomes the clamp at
//    0), add [→ ReLU] one add node, linear / global average pool / option-A shortcut / max pool one node
//    each. Anything else (a lone BatchNorm or ReLU) is rejected.
// 2. Calibration (quantization calibration, docs/glossary.md). The float network runs over the
//    calibration images (in the given order, one at a time, so the statistics are a pure function of
//    the images and the seed); every tensor that gets its own scale feeds a RangeStats (exact max,
//    seeded reservoir sample; seeds RangeStatsSeed, patch positions ReconstructionPatchStream,
//    common/streams.h).
// 3. Bits. A tensor read by conv/linear layers gets the largest activation_bits among them; a tensor
//    read only through adds, pools and shortcuts gets what its readers' outputs need (so with an 8-bit
//    last linear the residual stream stays 8-bit). The image input is signed 8-bit with scale
//    max_c max(|−mean_c/std_c|, |(1−mean_c)/std_c|) / 127 (no calibration: every pixel value is
//    representable). Requant nodes: every conv/linear reader whose activation_bits b are fewer than
//    its input tensor's bits reads a requant node instead (QNodeKind::kRequant: out = clamp(x·M)),
//    one per (tensor, b), placed right after the tensor's node and named "<first reader>.input"; its
//    scale is ChooseClip(the tensor's calibration sample, b, its signedness, the first reader's range
//    params) / q_max(b), M = s_tensor / s_requant. So every conv/linear reads codes of exactly its own
//    activation_bits (the image: always 8). A plan with one activation width makes no requant nodes.
//    Bias correction's mean(x) and the layer reconstruction below then use the requant's output.
// 4. Scales. Activation scale s = α/q_max with α = ChooseClip(sample, max, bits, signed, params) and
//    the params of the layer that reads the tensor with the most bits (a requant node: its first reader's); q_max = 2^b − 1 (unsigned, after
//    a ReLU) or 2^(b−1) − 1 (signed). A conv without ReLU whose only reader is an add writes "wide"
//    int32 codes at the add's output scale (no extra rounding to few bits before the residual sum); the
//    logits are wide with scale max|logit| / 2^14.
// 5. Integer nodes. Weights: QuantizeWeights (per channel or per tensor, the layer's method);
//    bias_int[o] = round(b'_o / (s_w[o]·s_x)); multiplier M_o = s_w[o]·s_x / s_out as a fixed-point
//    multiplier; add inputs not already at the output scale get M = s_in / s_out; the average pool
//    M = s_in / (H·W·s_out); a requant node M = s_in / s_out (the formulas of nets/requantization.h). With bias correction, the weight mean shift δ_o of each channel is folded
//    into the bias as δ_o·K·mean(x) (K = C·k·k, mean(x) the calibration mean of the layer's input;
//    through a requant node, the mean of the calibration sample on the source's then the requant's grid).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/cifar10.h"
#include "nets/batch_norm.h"
#include "nets/model_spec.h"
#include "nets/network.h"
#include "nets/quantized_model.h"
#include "quant/quant_plan.h"

namespace cimsim {

struct QuantizeOptions {
  int64_t sample_capacity = 1 << 20;  // reservoir size per tensor
  uint64_t seed = 1;                  // reservoir and patch streams (common/streams.h)
  std::string description;            // stored in the model (e.g. source file and config summary)
};

// Names of the conv/linear layers of a float network, in graph order (what a QuantPlan resolves).
std::vector<std::string> MvmLayerNames(const Network& net);

// `layers`: one resolved entry per MvmLayerNames(net) (any order); all must be PTQ.
// `calibration` images `indices` drive the range statistics. Throws InputError for a layer that
// cannot be quantized as asked (e.g. a multiplier out of range), std::logic_error for a graph the
// fusion rules do not cover.
QuantizedModel QuantizeNetwork(const Network& net, const ModelSpec& spec, const std::vector<ResolvedLayer>& layers,
                               const Cifar10Set& calibration, const std::vector<int64_t>& indices,
                               const QuantizeOptions& options, Progress* progress);

// What a plan's calibration settings (quant/quant_plan.h) ask of QuantizeNetwork: the images of `train`
// CalibrationSubset picks (count, seed, class balance) and the options (sample capacity, seed; the
// description left to the caller).
struct PlannedCalibration {
  std::vector<int64_t> indices;
  QuantizeOptions options;
};
PlannedCalibration PlanCalibration(const Cifar10Set& train, const CalibrationParams& calibration);

// Conv/linear `layer` and the BatchNorm that alone consumes it (if any), folded with step 1's formulas:
// weights[o, k] = float(raw_weights[o, k]·scale[o]) (scale = γ/√(σ²+ε), 1 without BatchNorm), bias the
// folded bias — the starting point of quantization-aware training.
struct FoldedLayer {
  std::vector<float> raw_weights, weights;  // [O, K]
  std::vector<double> scale, bias;          // [O]
  std::vector<double> raw_bias;             // [O], the layer's own bias (0 without one)
  const BatchNorm2d* batch_norm = nullptr;  // the folded BatchNorm (in `net`), or null
};
FoldedLayer FoldLayer(const Network& net, const std::string& layer);

}  // namespace cimsim
