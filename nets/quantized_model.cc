#include "nets/quantized_model.h"

#include <cmath>
#include <cstdlib>

#include "common/error.h"

namespace cimsim {
namespace {

constexpr std::array<std::string_view, 7> kKindNames = {"conv", "linear", "add", "global_avg_pool",
                                                        "shortcut_a", "max_pool", "requant"};

[[noreturn]] void Fail(const std::string& where, const QNode& node, const std::string& what) {
  throw InputError(where + ": node '" + node.name + "' (" + std::string(ToString(node.kind)) + "): " + what);
}

// A multiplier applied to inputs |x| <= max_abs_input: valid fields, and no saturation in its left shift.
void CheckMultiplier(const std::string& where, const QNode& node, const std::string& field, FixedPointMultiplier m,
                     int64_t max_abs_input) {
  if (m.multiplier != 0 && m.multiplier < (int32_t{1} << 30))
    Fail(where, node, field + " multiplier " + std::to_string(m.multiplier) + " is not normalised; allowed 0 or [2^30, 2^31)");
  if (m.shift < -31 || m.shift > 30)
    Fail(where, node, field + " shift " + std::to_string(m.shift) + " is out of range; allowed -31..30");
  if (m.headroom < 0 || m.LeftShift() > 31 || m.RightShift() > 31)
    Fail(where, node, field + " headroom " + std::to_string(m.headroom) + " is out of range (total shifts <= 31)");
  if (m.LeftShift() < 31 ? (max_abs_input << m.LeftShift()) >= (int64_t{1} << 31) : max_abs_input > 0)
    Fail(where, node, field + " headroom " + std::to_string(m.headroom) + " lets inputs up to " +
                          std::to_string(max_abs_input) + " saturate");
}

// The largest |code| a tensor with this range can hold.
int64_t MaxAbs(int32_t lo, int32_t hi) { return std::max(std::llabs(lo), std::llabs(hi)); }

}  // namespace

std::string_view ToString(QNodeKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

QNodeKind ParseQNodeKind(std::string_view name, const std::string& where) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<QNodeKind>(i);
  throw InputError(where + ": unknown node kind '" + std::string(name) +
                   "'; allowed conv, linear, add, global_avg_pool, shortcut_a, max_pool, requant");
}

std::vector<std::array<int64_t, 3>> QuantizedModel::NodeShapes() const {
  std::vector<std::array<int64_t, 3>> shapes(nodes.size());
  const std::array<int64_t, 3> image{input_chw[0], input_chw[1], input_chw[2]};
  for (size_t i = 0; i < nodes.size(); ++i) {
    const QNode& n = nodes[i];
    const std::array<int64_t, 3> in = n.inputs.empty() ? image
                                      : n.inputs[0] == QNode::kImage ? image
                                                                     : shapes[static_cast<size_t>(n.inputs[0])];
    switch (n.kind) {
      case QNodeKind::kConv:
        shapes[i] = {n.out_channels, (in[1] + 2 * n.padding - n.kernel) / n.stride + 1,
                     (in[2] + 2 * n.padding - n.kernel) / n.stride + 1};
        break;
      case QNodeKind::kLinear: shapes[i] = {n.out_channels, 1, 1}; break;
      case QNodeKind::kAdd:
      case QNodeKind::kRequant: shapes[i] = in; break;
      case QNodeKind::kGlobalAvgPool: shapes[i] = {in[0], 1, 1}; break;
      case QNodeKind::kShortcutA:
        shapes[i] = {in[0] + 2 * n.pad, (in[1] + n.stride - 1) / n.stride, (in[2] + n.stride - 1) / n.stride};
        break;
      case QNodeKind::kMaxPool:
        shapes[i] = {in[0], (in[1] + 2 * n.padding - n.kernel) / n.stride + 1,
                     (in[2] + 2 * n.padding - n.kernel) / n.stride + 1};
        break;
    }
  }
  return shapes;
}

int64_t QuantizedModel::MacsPerImage() const {
  const auto shapes = NodeShapes();
  int64_t macs = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const QNode& n = nodes[i];
    if (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear)
      macs += n.out_channels * n.Depth() * shapes[i][1] * shapes[i][2];
  }
  return macs;
}

void QuantizedModel::Validate(const std::string& where) const {
  if (nodes.empty()) throw InputError(where + ": the model has no nodes");
  if (num_classes < 1) throw InputError(where + ": num_classes " + std::to_string(num_classes) + " must be >= 1");
  for (int c = 0; c < 3; ++c)
    if (input_chw[static_cast<size_t>(c)] < 1) throw InputError(where + ": input_shape must be positive");
  if (!(input_scale > 0) || !std::isfinite(input_scale))
    throw InputError(where + ": input scale " + std::to_string(input_scale) + " must be finite and > 0");
  for (const auto& row : input_lut)
    for (int16_t v : row)
      if (v < -127 || v > 127)
        throw InputError(where + ": input lut code " + std::to_string(v) + " is outside [-127, 127]");

  // Shapes need valid geometry first.
  for (size_t i = 0; i < nodes.size(); ++i) {
    const QNode& n = nodes[i];
    const size_t want_inputs = n.kind == QNodeKind::kAdd ? 2 : 1;
    if (n.inputs.size() != want_inputs)
      Fail(where, n, "has " + std::to_string(n.inputs.size()) + " inputs; allowed exactly " + std::to_string(want_inputs));
    for (int in : n.inputs)
      if (in != QNode::kImage && (in < 0 || static_cast<size_t>(in) >= i))
        Fail(where, n, "input index " + std::to_string(in) + " is not an earlier node");
    if (n.kernel < 1 || n.stride < 1 || n.padding < 0 || n.pad < 0)
      Fail(where, n, "kernel/stride must be >= 1 and padding/pad >= 0");
    // Bounded before any shape arithmetic (no overflow from a damaged file).
    if (n.kernel > 4096 || n.stride > 4096 || n.padding > 4096 || n.pad > 65536)
      Fail(where, n, "kernel " + std::to_string(n.kernel) + ", stride " + std::to_string(n.stride) + ", padding " +
                         std::to_string(n.padding) + ", pad " + std::to_string(n.pad) + ": allowed kernel/stride/padding <= 4096, pad <= 65536");
  }
  const auto shapes = NodeShapes();
  const std::array<int64_t, 3> image{input_chw[0], input_chw[1], input_chw[2]};
  auto shape_of = [&](int in) { return in == QNode::kImage ? image : shapes[static_cast<size_t>(in)]; };
  // Code range of a node's input tensor.
  auto range_of = [&](int in) {
    return in == QNode::kImage ? std::pair<int32_t, int32_t>{-127, 127}
                               : std::pair<int32_t, int32_t>{nodes[static_cast<size_t>(in)].out_min,
                                                             nodes[static_cast<size_t>(in)].out_max};
  };

  for (size_t i = 0; i < nodes.size(); ++i) {
    const QNode& n = nodes[i];
    if (shapes[i][0] < 1 || shapes[i][1] < 1 || shapes[i][2] < 1) Fail(where, n, "output shape is empty");
    if (n.out_min > n.out_max) Fail(where, n, "out_min > out_max");
    if (!(n.out_scale > 0) || !std::isfinite(n.out_scale)) Fail(where, n, "out_scale must be finite and > 0");
    if (n.out_bits < 0 || n.out_bits > 8) Fail(where, n, "out_bits " + std::to_string(n.out_bits) + " not in 0..8");
    if (n.out_bits > 0) {
      const int32_t top = n.out_min == 0 ? (1 << n.out_bits) - 1 : (1 << (n.out_bits - 1)) - 1;
      if (n.out_max != top || (n.out_min != 0 && n.out_min != -top))
        Fail(where, n, "out range [" + std::to_string(n.out_min) + ", " + std::to_string(n.out_max) +
                           "] does not match out_bits " + std::to_string(n.out_bits));
    } else if (n.out_min < -(int32_t{1} << 30) || n.out_max > (int32_t{1} << 30)) {
      Fail(where, n, "a wide tensor must stay within ±2^30");
    }
    const auto in_shape = shape_of(n.inputs[0]);
    const auto [in_lo, in_hi] = range_of(n.inputs[0]);
    // A window larger than the padded map would read outside it (C++'s truncating division can still
    // give a positive output size, e.g. (2 − 3) / 2 + 1 = 1).
    if ((n.kind == QNodeKind::kConv || n.kind == QNodeKind::kMaxPool) &&
        (in_shape[1] + 2 * n.padding < n.kernel || in_shape[2] + 2 * n.padding < n.kernel))
      Fail(where, n, "kernel " + std::to_string(n.kernel) + " is larger than its input " + std::to_string(in_shape[1]) +
                         " x " + std::to_string(in_shape[2]) + " with padding " + std::to_string(n.padding));
    if (n.kind == QNodeKind::kMaxPool && n.padding > n.kernel / 2)
      Fail(where, n, "max_pool padding " + std::to_string(n.padding) + " exceeds kernel/2 = " + std::to_string(n.kernel / 2));
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        if (n.kind == QNodeKind::kLinear &&
            (n.kernel != 1 || n.stride != 1 || n.padding != 0 || in_shape[1] != 1 || in_shape[2] != 1))
          Fail(where, n, "a linear layer needs a [C, 1, 1] input and kernel 1");
        if (n.in_channels != in_shape[0])
          Fail(where, n, "in_channels " + std::to_string(n.in_channels) + " but the input has " +
                             std::to_string(in_shape[0]) + " channels");
        if (n.out_channels < 1) Fail(where, n, "out_channels must be >= 1");
        if (n.weight_bits < 2 || n.weight_bits > 8)
          Fail(where, n, "weight_bits " + std::to_string(n.weight_bits) + " is out of range; allowed 2..8");
        if (n.input_bits < 2 || n.input_bits > 8)
          Fail(where, n, "input_bits " + std::to_string(n.input_bits) + " is out of range; allowed 2..8");
        const int32_t in_top = n.input_signed ? (1 << (n.input_bits - 1)) - 1 : (1 << n.input_bits) - 1;
        const int32_t in_bottom = n.input_signed ? -in_top : 0;
        if (in_lo < in_bottom || in_hi > in_top)
          Fail(where, n, "its input codes [" + std::to_string(in_lo) + ", " + std::to_string(in_hi) +
                             "] do not fit " + std::to_string(n.input_bits) + "-bit " +
                             (n.input_signed ? "signed" : "unsigned") + " input codes");
        const size_t O = static_cast<size_t>(n.out_channels);
        const int64_t K = n.Depth();
        if (n.weights.size() != O * static_cast<size_t>(K)) Fail(where, n, "weights has the wrong size");
        if (n.bias.size() != O || n.multipliers.size() != O || n.shifts.size() != O || n.headrooms.size() != O ||
            n.weight_scales.size() != O)
          Fail(where, n, "bias, multipliers, shifts, headrooms and weight_scales need one entry per output channel");
        if (n.weight_grid == WeightGrid::kFull && n.weight_bits > 7)
          Fail(where, n, "weight_bits " + std::to_string(n.weight_bits) + " with the full weight grid; allowed 2..7");
        const WeightCodeRange wr = n.WeightRange();
        for (int16_t w : n.weights)
          if (w < wr.min || w > wr.max)
            Fail(where, n, "weight code " + std::to_string(w) + " is outside [" + std::to_string(wr.min) + ", " +
                               std::to_string(wr.max) + "] (" + std::string(ToString(n.weight_grid)) + " grid)");
        const int64_t worst = K * wr.MaxAbs() * MaxAbs(in_lo, in_hi);
        for (size_t o = 0; o < O; ++o) {
          if (worst + std::llabs(n.bias[o]) >= (int64_t{1} << 31))
            Fail(where, n, "accumulator may overflow int32 (K·max|w|·max|x| + |bias| >= 2^31)");
          CheckMultiplier(where, n, "channel " + std::to_string(o), n.Multiplier(static_cast<int>(o)),
                          worst + std::llabs(n.bias[o]));
        }
        break;
      }
      case QNodeKind::kAdd: {
        const size_t k = n.inputs.size();
        if (n.rescale_identity.size() != k || n.rescale_multipliers.size() != k || n.rescale_shifts.size() != k ||
            n.rescale_headrooms.size() != k)
          Fail(where, n, "rescale fields need one entry per input");
        for (size_t j = 0; j < k; ++j) {
          if (shape_of(n.inputs[j]) != in_shape) Fail(where, n, "inputs have different shapes");
          const auto [lo, hi] = range_of(n.inputs[j]);
          CheckMultiplier(where, n, "input " + std::to_string(j), n.Rescale(j), MaxAbs(lo, hi));
        }
        break;
      }
      case QNodeKind::kGlobalAvgPool:
        if (in_shape[1] * in_shape[2] * MaxAbs(in_lo, in_hi) >= (int64_t{1} << 31))
          Fail(where, n, "the pooled sum may overflow int32");
        CheckMultiplier(where, n, "pool", n.pool, in_shape[1] * in_shape[2] * MaxAbs(in_lo, in_hi));
        break;
      case QNodeKind::kRequant:
        if (n.inputs[0] == QNode::kImage) Fail(where, n, "cannot read the image (its codes are fixed 8-bit)");
        if (n.out_bits < 1) Fail(where, n, "must have out_bits >= 1 (a requant node writes narrow codes)");
        CheckMultiplier(where, n, "requant", n.pool, MaxAbs(in_lo, in_hi));
        break;
      case QNodeKind::kShortcutA:
      case QNodeKind::kMaxPool:
        if (n.out_min != in_lo || n.out_max != in_hi) Fail(where, n, "must keep its input's code range");
        break;
    }
  }
  const auto& last = shapes.back();
  if (last[0] != num_classes || last[1] != 1 || last[2] != 1)
    throw InputError(where + ": the last node gives [" + std::to_string(last[0]) + ", " + std::to_string(last[1]) +
                     ", " + std::to_string(last[2]) + "], not the " + std::to_string(num_classes) + " logits");
}

}  // namespace cimsim
