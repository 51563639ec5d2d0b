// quantize_network.h — post-training quantization: a float Network → a QuantizedModel.
//
// 1. Fusion. The float graph is cut into integer nodes: conv [→ BatchNorm] [→ ReLU] becomes one conv
//    node (BatchNorm folded: W' = W·γ/√(σ²+ε), b' = (b − μ)·γ/√(σ²+ε) + β; a ReLU becomes the clamp at
//    0), add [→ ReLU] one add node, linear / global average pool / option-A shortcut / max pool one node
//    each. Anything else (a lone BatchNorm or ReLU) is rejected.
// 2. Calibration. The float network runs over the calibration images (in the given order, one
//    at a time, so the statistics are a pure function of the images and the seed); every tensor that
//    gets its own scale feeds a RangeStats (exact max, seeded reservoir sample).
// 3. Bits. A tensor read by conv/linear layers gets the largest activation_bits among them; a tensor
//    read only through adds, pools and shortcuts gets what its readers' outputs need. The image input
//    is signed 8-bit with scale max_c max(|−mean_c/std_c|, |(1−mean_c)/std_c|) / 127 (no calibration:
//    every pixel value is representable).
// 4. Scales. Activation scale s = α/q_max with α = ChooseClip(sample, max, bits, signed, params) and
//    the params of the layer that reads the tensor with the most bits; q_max = 2^b − 1 (unsigned, after
//    a ReLU) or 2^(b−1) − 1 (signed). A conv without ReLU whose only reader is an add writes "wide"
//    int32 codes at the add's output scale (no extra rounding to few bits before the residual sum); the
//    logits are wide with scale max|logit| / 2^14.
// 5. Integer nodes. Weights: QuantizeWeights (per channel or per tensor, the layer's method);
//    bias_int[o] = round(b'_o / (s_w[o]·s_x)); multiplier M_o = s_w[o]·s_x / s_out as a fixed-point
//    multiplier; add inputs not already at the output scale get M = s_in / s_out; the average pool
//    M = s_in / (H·W·s_out). With bias correction, the weight mean shift δ_o of each channel is folded
//    into the bias as δ_o·K·mean(x) (K = C·k·k, mean(x) the calibration mean of the layer's input).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/cifar10.h"
#include "nets/model_spec.h"
#include "nets/network.h"
#include "nets/quantized_model.h"
#include "quant/quant_plan.h"

namespace cimsim {

struct QuantizeOptions {
  int64_t sample_capacity = 1 << 20;  // reservoir size per tensor
  uint64_t seed = 1;                  // reservoir sampling streams
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

}  // namespace cimsim
