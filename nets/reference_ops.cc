#include "nets/reference_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace cimsim {

TensorD Conv2dReference(const TensorD& x, const TensorD& w, const TensorD& bias, int stride, int pad) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), KH = w.dim(2), KW = w.dim(3);
  const int64_t OH = (H + 2 * pad - KH) / stride + 1, OW = (W + 2 * pad - KW) / stride + 1;
  TensorD y({N, O, OH, OW});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double acc = bias.size() ? bias[o] : 0.0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t yy = i * stride + ky - pad, xx = j * stride + kx - pad;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                acc += w.at(o, c, ky, kx) * x.at(n, c, yy, xx);
              }
          y.at(n, o, i, j) = acc;
        }
  return y;
}

TensorD BatchNormReference(const TensorD& x, const TensorD& gamma, const TensorD& beta,
                           const TensorD& mean, const TensorD& var, double eps) {
  TensorD y(x.shape());
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w)
          y.at(n, c, h, w) = gamma[c] * (x.at(n, c, h, w) - mean[c]) / std::sqrt(var[c] + eps) + beta[c];
  return y;
}

TensorD ReluReference(const TensorD& x) {
  TensorD y(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0 ? x[i] : 0.0;
  return y;
}

TensorD AddReference(const TensorD& a, const TensorD& b) {
  TensorD y(a.shape());
  for (int64_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

TensorD GlobalAvgPoolReference(const TensorD& x) {
  TensorD y({x.dim(0), x.dim(1)});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c) {
      double sum = 0;
      for (int64_t h = 0; h < x.dim(2); ++h)
        for (int64_t w = 0; w < x.dim(3); ++w) sum += x.at(n, c, h, w);
      y[n * x.dim(1) + c] = sum / static_cast<double>(x.dim(2) * x.dim(3));
    }
  return y;
}

TensorD MaxPoolReference(const TensorD& x, int k, int stride) {
  const int64_t OH = (x.dim(2) - k) / stride + 1, OW = (x.dim(3) - k) / stride + 1;
  TensorD y({x.dim(0), x.dim(1), OH, OW});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double m = -std::numeric_limits<double>::infinity();
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) m = std::max(m, x.at(n, c, i * stride + ky, j * stride + kx));
          y.at(n, c, i, j) = m;
        }
  return y;
}

TensorD LinearReference(const TensorD& x, const TensorD& w, const TensorD& bias) {
  const int64_t N = x.dim(0), I = x.dim(1), O = w.dim(0);
  TensorD y({N, O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      double acc = bias.size() ? bias[o] : 0.0;
      for (int64_t i = 0; i < I; ++i) acc += w[o * I + i] * x[n * I + i];
      y[n * O + o] = acc;
    }
  return y;
}

TensorD ShortcutAReference(const TensorD& x, int stride, int pad) {
  const int64_t OH = (x.dim(2) + stride - 1) / stride, OW = (x.dim(3) + stride - 1) / stride;
  TensorD y({x.dim(0), x.dim(1) + 2 * pad, OH, OW});  // zero-initialized
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) y.at(n, c + pad, i, j) = x.at(n, c, i * stride, j * stride);
  return y;
}

}  // namespace cimsim
