#include "nets/fake_quant_forward.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace cimsim {
namespace {

using MatrixRD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// s·clamp(round_half_away(y/s), lo, hi)
double Q(double y, double s, int32_t lo, int32_t hi) {
  return s * std::clamp(std::round(y / s), static_cast<double>(lo), static_cast<double>(hi));
}

}  // namespace

std::vector<double> FakeQuantForward(const QuantizedModel& model, const uint8_t* image) {
  const auto shapes = model.NodeShapes();
  const int64_t C0 = model.input_chw[0], H0 = model.input_chw[1], W0 = model.input_chw[2];
  std::vector<double> x0(static_cast<size_t>(C0 * H0 * W0));
  for (int64_t c = 0; c < C0; ++c)
    for (int64_t i = 0; i < H0 * W0; ++i)
      x0[static_cast<size_t>(c * H0 * W0 + i)] =
          model.input_scale * model.input_lut[static_cast<size_t>(c)][image[c * H0 * W0 + i]];
  auto scale_of = [&](int in) { return in == QNode::kImage ? model.input_scale : model.nodes[static_cast<size_t>(in)].out_scale; };

  std::vector<std::vector<double>> acts(model.nodes.size());
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    const QNode& n = model.nodes[i];
    const std::vector<double>& x = n.inputs[0] == QNode::kImage ? x0 : acts[static_cast<size_t>(n.inputs[0])];
    const std::array<int64_t, 3> in = n.inputs[0] == QNode::kImage ? std::array<int64_t, 3>{C0, H0, W0}
                                                                    : shapes[static_cast<size_t>(n.inputs[0])];
    const auto& out = shapes[i];
    std::vector<double>& y = acts[i];
    y.assign(static_cast<size_t>(out[0] * out[1] * out[2]), 0.0);
    switch (n.kind) {
      case QNodeKind::kConv:
      case QNodeKind::kLinear: {
        const int k = n.kernel;
        const int64_t K = n.Depth(), P = out[1] * out[2];
        MatrixRD w(n.out_channels, K);
        for (int64_t o = 0; o < n.out_channels; ++o)
          for (int64_t j = 0; j < K; ++j)
            w(o, j) = n.weight_scales[static_cast<size_t>(o)] * n.weights[static_cast<size_t>(o * K + j)];
        MatrixRD cols = MatrixRD::Zero(K, P);
        for (int64_t c = 0; c < in[0]; ++c)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx)
              for (int64_t r = 0; r < out[1]; ++r)
                for (int64_t q = 0; q < out[2]; ++q) {
                  const int64_t iy = r * n.stride + ky - n.padding, ix = q * n.stride + kx - n.padding;
                  if (iy >= 0 && iy < in[1] && ix >= 0 && ix < in[2])
                    cols((c * k + ky) * k + kx, r * out[2] + q) = x[static_cast<size_t>((c * in[1] + iy) * in[2] + ix)];
                }
        const MatrixRD acc = w * cols;
        const double sx = scale_of(n.inputs[0]);
        for (int64_t o = 0; o < n.out_channels; ++o) {
          const double b = n.weight_scales[static_cast<size_t>(o)] * sx * n.bias[static_cast<size_t>(o)];
          for (int64_t p = 0; p < P; ++p)
            y[static_cast<size_t>(o * P + p)] = Q(acc(o, p) + b, n.out_scale, n.out_min, n.out_max);
        }
        break;
      }
      case QNodeKind::kAdd:
        for (size_t e = 0; e < y.size(); ++e) {
          double sum = 0;
          for (size_t j = 0; j < n.inputs.size(); ++j) {
            const double v = n.inputs[j] == QNode::kImage ? x0[e] : acts[static_cast<size_t>(n.inputs[j])][e];
            sum += n.rescale_identity[j] ? v : Q(v, n.out_scale, std::numeric_limits<int32_t>::min(),
                                                 std::numeric_limits<int32_t>::max());
          }
          y[e] = Q(sum, n.out_scale, n.out_min, n.out_max);
        }
        break;
      case QNodeKind::kGlobalAvgPool:
        for (int64_t c = 0; c < in[0]; ++c) {
          double sum = 0;
          for (int64_t j = 0; j < in[1] * in[2]; ++j) sum += x[static_cast<size_t>(c * in[1] * in[2] + j)];
          y[static_cast<size_t>(c)] = Q(sum / static_cast<double>(in[1] * in[2]), n.out_scale, n.out_min, n.out_max);
        }
        break;
      case QNodeKind::kRequant:
        for (size_t e = 0; e < y.size(); ++e) y[e] = Q(x[e], n.out_scale, n.out_min, n.out_max);
        break;
      case QNodeKind::kShortcutA:
        for (int64_t c = n.pad; c < n.pad + in[0]; ++c)
          for (int64_t r = 0; r < out[1]; ++r)
            for (int64_t q = 0; q < out[2]; ++q)
              y[static_cast<size_t>((c * out[1] + r) * out[2] + q)] =
                  x[static_cast<size_t>(((c - n.pad) * in[1] + r * n.stride) * in[2] + q * n.stride)];
        break;
      case QNodeKind::kMaxPool:
        for (int64_t c = 0; c < out[0]; ++c)
          for (int64_t r = 0; r < out[1]; ++r)
            for (int64_t q = 0; q < out[2]; ++q) {
              double m = -std::numeric_limits<double>::infinity();  // the padding
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
  return acts.back();
}

}  // namespace cimsim
