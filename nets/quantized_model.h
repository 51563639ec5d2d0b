// quantized_model.h — everything integer-only inference needs, and nothing float on its hot path.
//
// A QuantizedModel is a graph of integer nodes in topological order. Every tensor between nodes
// holds integer codes q with real value r = scale · q (zero point 0: symmetric signed or unsigned
// codes), NCHW per image without the batch dimension. Node kinds:
//  - conv / linear: acc[o,p] = Σ_k w[o,k]·x[k,p]  (int32; w int codes [O, C·kh·kw] in OIHW order,
//    x the im2col patches of the input codes, p the output position; linear: one position),
//    out[o,p] = clamp(MultiplyByQuantizedMultiplier(acc[o,p] + bias[o], M_o), out_min, out_max)
//    with M_o ≈ weight_scale[o]·in_scale / out_scale (fixed-point multiplier, shift and headroom —
//    the headroom chosen so that no |acc + bias| the layer can produce saturates) (BatchNorm folded in beforehand; a following
//    ReLU is the clamp at 0). Its dot products go through an MvmCore.
//  - add (two inputs): out = clamp(r_0 + r_1, out_min, out_max) with r_i = x_i when the input already has the
//    output's scale (rescale_identity[i]), else MultiplyByQuantizedMultiplier(x_i, rescale[i]) with
//    rescale[i] ≈ in_scale_i / out_scale (the residual add; the block's ReLU is the clamp at 0).
//  - global_avg_pool: out[c] = clamp(MultiplyByQuantizedMultiplier(Σ_{h,w} x[c,h,w], pool), ...)
//    with pool ≈ in_scale / (H·W·out_scale).
//  - shortcut_a: option-A shortcut on codes (subsample by `stride`, `pad` zero channels each side);
//    max_pool: k×k max over codes. Both exact, output scale = input scale.
//  - requant (one input, same shape): out = clamp(MultiplyByQuantizedMultiplier(x, pool), out_min, out_max)
//    with pool ≈ in_scale / out_scale (headroom for |x| <= max(|in lo|, |in hi|)): re-encodes a tensor
//    at fewer bits for the conv/linear layers that read it with lower activation_bits (e.g. the 8-bit
//    residual stream → the 4-bit input of a block's conv1). Digital, no MACs, never on a crossbar.
// The image input: code = input_lut[c][pixel] (signed 8-bit, [−127, 127]) with real value
// input_scale · code ≈ (pixel/255 − mean_c)/std_c.
// Float fields (scales) are kept for reports and for the fake-quantized float64 evaluation; the
// integer engine never reads them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "quant/fixed_point.h"
#include "quant/weight_grid.h"

namespace cimsim {

enum class QNodeKind { kConv, kLinear, kAdd, kGlobalAvgPool, kShortcutA, kMaxPool, kRequant };
std::string_view ToString(QNodeKind kind);
// Throws InputError naming `where` for an unknown name.
QNodeKind ParseQNodeKind(std::string_view name, const std::string& where);

struct QNode {
  static constexpr int kImage = -1;  // input index meaning "the image codes"

  std::string name;              // PyTorch module path of the (first) float layer, e.g. "layer1.0.conv1"
  QNodeKind kind = QNodeKind::kConv;
  std::vector<int> inputs;       // earlier nodes or kImage

  // Output codes: real = out_scale · code, clamped to [out_min, out_max]. out_bits is the code width
  // (unsigned when out_min == 0) or 0 for a "wide" int32 tensor (a residual branch at the add's
  // scale, or the logits).
  double out_scale = 1.0;
  int32_t out_min = 0, out_max = 0;
  int out_bits = 0;

  // conv / linear
  int in_channels = 0, out_channels = 0, kernel = 1, stride = 1, padding = 0;
  int weight_bits = 8;           // weight codes in ±(2^(bits−1)−1), or [−2^(bits−1), 2^(bits−1)−1] (full grid)
  WeightGrid weight_grid = WeightGrid::kSymmetric;  // quant/weight_grid.h; file attribute absent = symmetric
  int input_bits = 8;            // width of the input codes (the DAC/bit-serial precision on CIM)
  bool input_signed = false;     // true only for the image input
  std::vector<int16_t> weights;  // [O, C·k·k]
  std::vector<double> weight_scales;  // [O] (report / fake-quant only)
  std::vector<int32_t> bias;          // [O], in accumulator units (weight_scale[o]·in_scale)
  std::vector<int32_t> multipliers;   // [O]
  std::vector<int32_t> shifts;        // [O]
  std::vector<int32_t> headrooms;     // [O] (FixedPointMultiplier::headroom: no saturation for any input)

  // add
  std::vector<uint8_t> rescale_identity;  // [inputs]
  std::vector<int32_t> rescale_multipliers, rescale_shifts, rescale_headrooms;  // [inputs]

  // global_avg_pool and requant: one multiplier
  FixedPointMultiplier pool;

  // shortcut_a (stride, pad) and max_pool (kernel, stride) reuse `stride` / `kernel`; pad:
  int pad = 0;

  // The weight codes' range, and the symmetric grid width the MVM cores are given (quant/weight_grid.h).
  WeightCodeRange WeightRange() const { return WeightCodes(weight_bits, weight_grid); }
  int CoreWeightBits() const { return cimsim::CoreWeightBits(weight_bits, weight_grid); }
  int64_t Depth() const { return static_cast<int64_t>(in_channels) * kernel * kernel; }  // K
  // The input code range: [−(2^(b−1) − 1), 2^(b−1) − 1] for signed inputs (the image), else [0, 2^b − 1].
  int32_t InputMin() const { return input_signed ? -((1 << (input_bits - 1)) - 1) : 0; }
  int32_t InputMax() const { return input_signed ? (1 << (input_bits - 1)) - 1 : (1 << input_bits) - 1; }
  FixedPointMultiplier Multiplier(int o) const {
    return {multipliers[static_cast<size_t>(o)], shifts[static_cast<size_t>(o)], headrooms[static_cast<size_t>(o)]};
  }
  FixedPointMultiplier Rescale(size_t i) const {
    return {rescale_multipliers[i], rescale_shifts[i], rescale_headrooms[i]};
  }
};

struct QuantizedModel {
  std::string description;  // e.g. "resnet20 (shortcut A, 10 classes) W8A8 aciq"
  int num_classes = 10;
  std::array<int, 3> input_chw{3, 32, 32};
  std::array<std::array<int16_t, 256>, 3> input_lut{};
  double input_scale = 1.0;
  std::vector<QNode> nodes;  // the last node's output are the logits [num_classes]

  // Checks the graph and every node's fields (indices, sizes, code ranges, multipliers, shifts,
  // no possible int32 overflow); throws InputError naming `where` (a file), the node and the field.
  void Validate(const std::string& where) const;
  // Output shape [C, H, W] of every node (linear and pool: [C, 1, 1]).
  std::vector<std::array<int64_t, 3>> NodeShapes() const;
  int64_t MacsPerImage() const;
};

}  // namespace cimsim
