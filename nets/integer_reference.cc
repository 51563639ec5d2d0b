#include "nets/integer_reference.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "quant/fixed_point.h"

namespace cimsim {
namespace {

int32_t ToInt32(int64_t v, const QNode& node) {
  if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
    throw std::logic_error("int32 overflow in node " + node.name);
  return static_cast<int32_t>(v);
}

int32_t Requantize(int64_t acc, FixedPointMultiplier m, int32_t lo, int32_t hi, const QNode& node) {
  return std::clamp(MultiplyByQuantizedMultiplierReference(ToInt32(acc, node), m), lo, hi);
}

}  // namespace

std::vector<std::vector<int32_t>> IntegerReferenceActivations(const QuantizedModel& model, const uint8_t* image) {
  const auto shapes = model.NodeShapes();
  const int64_t C0 = model.input_chw[0], H0 = model.input_chw[1], W0 = model.input_chw[2];
  std::vector<int32_t> codes(static_cast<size_t>(C0 * H0 * W0));
  for (int64_t c = 0; c < C0; ++c)
    for (int64_t i = 0; i < H0 * W0; ++i)
      codes[static_cast<size_t>(c * H0 * W0 + i)] = model.input_lut[static_cast<size_t>(c)][image[c * H0 * W0 + i]];

  std::vector<std::vector<int32_t>> acts(model.nodes.size());
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    const QNode& n = model.nodes[i];
    auto input = [&](size_t j) -> const std::vector<int32_t>& {
      return n.inputs[j] == QNode::kImage ? codes : acts[static_cast<size_t>(n.inputs[j])];
    };
    const std::array<int64_t, 3> in = n.inputs[0] == QNode::kImage ? std::array<int64_t, 3>{C0, H0, W0}
                                                                    : shapes[static_cast<size_t>(n.inputs[0])];
    const auto& out = shapes[i];
    const std::vector<int32_t>& x = input(0);
    std::vector<int32_t>& y = acts[i];
    y.assign(static_cast<size_t>(out[0] * out[1] * out[2]), 0);
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        const int k = n.kernel;
        for (int64_t o = 0; o < out[0]; ++o)
          for (int64_t r = 0; r < out[1]; ++r)
            for (int64_t q = 0; q < out[2]; ++q) {
              int64_t acc = 0;
              for (int64_t c = 0; c < in[0]; ++c)
                for (int ky = 0; ky < k; ++ky)
                  for (int kx = 0; kx < k; ++kx) {
                    const int64_t iy = r * n.stride + ky - n.padding, ix = q * n.stride + kx - n.padding;
                    if (iy < 0 || iy >= in[1] || ix < 0 || ix >= in[2]) continue;
                    const int64_t w = n.weights[static_cast<size_t>(((o * in[0] + c) * k + ky) * k + kx)];
                    acc += w * x[static_cast<size_t>((c * in[1] + iy) * in[2] + ix)];
                  }
              acc += n.bias[static_cast<size_t>(o)];
              y[static_cast<size_t>((o * out[1] + r) * out[2] + q)] =
                  Requantize(acc, n.Multiplier(static_cast<int>(o)), n.out_min, n.out_max, n);
            }
        break;
      }
      case QNodeKind::kAdd:
        for (size_t e = 0; e < y.size(); ++e) {
          int64_t sum = 0;
          for (size_t j = 0; j < n.inputs.size(); ++j) {
            const int32_t v = input(j)[e];
            sum += n.rescale_identity[j]
                       ? v
                       : MultiplyByQuantizedMultiplierReference(v, n.Rescale(j));
          }
          y[e] = static_cast<int32_t>(std::clamp<int64_t>(sum, n.out_min, n.out_max));
        }
        break;
      case QNodeKind::kGlobalAvgPool:
        for (int64_t c = 0; c < in[0]; ++c) {
          int64_t sum = 0;
          for (int64_t j = 0; j < in[1] * in[2]; ++j) sum += x[static_cast<size_t>(c * in[1] * in[2] + j)];
          y[static_cast<size_t>(c)] = Requantize(sum, n.pool, n.out_min, n.out_max, n);
        }
        break;
      case QNodeKind::kRequant:
        for (size_t e = 0; e < y.size(); ++e) y[e] = Requantize(x[e], n.pool, n.out_min, n.out_max, n);
        break;
      case QNodeKind::kShortcutA:
        for (int64_t c = 0; c < out[0]; ++c)
          for (int64_t r = 0; r < out[1]; ++r)
            for (int64_t q = 0; q < out[2]; ++q) {
              const int64_t src_c = c - n.pad;
              y[static_cast<size_t>((c * out[1] + r) * out[2] + q)] =
                  (src_c < 0 || src_c >= in[0])
                      ? 0
                      : x[static_cast<size_t>((src_c * in[1] + r * n.stride) * in[2] + q * n.stride)];
            }
        break;
      case QNodeKind::kMaxPool:
        for (int64_t c = 0; c < out[0]; ++c)
          for (int64_t r = 0; r < out[1]; ++r)
            for (int64_t q = 0; q < out[2]; ++q) {
              int32_t m = std::numeric_limits<int32_t>::min();  // the padding
              for (int a = 0; a < n.kernel; ++a)
                for (int b = 0; b < n.kernel; ++b) {
                  const int64_t h = r * n.stride - n.padding + a, w = q * n.stride - n.padding + b;
                  if (h >= 0 && h < in[1] && w >= 0 && w < in[2])
                    m = std::max(m, x[static_cast<size_t>((c * in[1] + h) * in[2] + w)]);
                }
              y[static_cast<size_t>((c * out[1] + r) * out[2] + q)] = m;
            }
        break;
    }
  }
  return acts;
}

std::vector<int32_t> IntegerReferenceForward(const QuantizedModel& model, const uint8_t* image) {
  return IntegerReferenceActivations(model, image).back();
}

}  // namespace cimsim
