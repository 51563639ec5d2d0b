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

TensorD MaxPoolReference(const TensorD& x, int k, int stride, int padding) {
  const int64_t OH = (x.dim(2) + 2 * padding - k) / stride + 1, OW = (x.dim(3) + 2 * padding - k) / stride + 1;
  TensorD y({x.dim(0), x.dim(1), OH, OW});
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < x.dim(1); ++c)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double m = -std::numeric_limits<double>::infinity();  // the padding
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int64_t h = i * stride - padding + ky, w = j * stride - padding + kx;
              if (h >= 0 && h < x.dim(2) && w >= 0 && w < x.dim(3)) m = std::max(m, x.at(n, c, h, w));
            }
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

TensorD ReluBackwardReference(const TensorD& x, const TensorD& g) {
  TensorD gx(x.shape());
  for (int64_t i = 0; i < x.size(); ++i) gx[i] = x[i] > 0 ? g[i] : 0.0;
  return gx;
}

TensorD GlobalAvgPoolBackwardReference(const Shape& x_shape, const TensorD& g) {
  TensorD gx(x_shape);
  const double area = static_cast<double>(gx.dim(2) * gx.dim(3));
  for (int64_t n = 0; n < gx.dim(0); ++n)
    for (int64_t c = 0; c < gx.dim(1); ++c)
      for (int64_t h = 0; h < gx.dim(2); ++h)
        for (int64_t w = 0; w < gx.dim(3); ++w) gx.at(n, c, h, w) = g[n * gx.dim(1) + c] / area;
  return gx;
}

TensorD MaxPoolBackwardReference(const TensorD& x, const TensorD& g, int k, int stride, int padding) {
  TensorD gx(x.shape());  // zero-initialized
  for (int64_t n = 0; n < g.dim(0); ++n)
    for (int64_t c = 0; c < g.dim(1); ++c)
      for (int64_t i = 0; i < g.dim(2); ++i)
        for (int64_t j = 0; j < g.dim(3); ++j) {
          int64_t best_h = -1, best_w = -1;  // the first maximum in scan order among the map's positions
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int64_t h = i * stride - padding + ky, w = j * stride - padding + kx;
              if (h < 0 || h >= x.dim(2) || w < 0 || w >= x.dim(3)) continue;
              if (best_h < 0 || x.at(n, c, h, w) > x.at(n, c, best_h, best_w)) {
                best_h = h;
                best_w = w;
              }
            }
          gx.at(n, c, best_h, best_w) += g.at(n, c, i, j);
        }
  return gx;
}

void LinearBackwardReference(const TensorD& x, const TensorD& w, const TensorD& g, TensorD& grad_x,
                             TensorD& grad_w, TensorD& grad_b) {
  const int64_t N = x.dim(0), I = x.dim(1), O = w.dim(0);
  grad_x = TensorD({N, I});
  grad_w = TensorD({O, I});
  grad_b = TensorD({O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      grad_b[o] += g[n * O + o];
      for (int64_t i = 0; i < I; ++i) {
        grad_x[n * I + i] += g[n * O + o] * w[o * I + i];
        grad_w[o * I + i] += g[n * O + o] * x[n * I + i];
      }
    }
}

TensorD ShortcutABackwardReference(const Shape& x_shape, const TensorD& g, int stride, int pad) {
  TensorD gx(x_shape);  // zero-initialized
  for (int64_t n = 0; n < gx.dim(0); ++n)
    for (int64_t c = 0; c < gx.dim(1); ++c)
      for (int64_t i = 0; i < g.dim(2); ++i)
        for (int64_t j = 0; j < g.dim(3); ++j) gx.at(n, c, i * stride, j * stride) = g.at(n, c + pad, i, j);
  return gx;
}

void Conv2dBackwardReference(const TensorD& x, const TensorD& w, const TensorD& g, int stride, int pad,
                             TensorD& grad_x, TensorD& grad_w, TensorD& grad_b) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), KH = w.dim(2), KW = w.dim(3), OH = g.dim(2), OW = g.dim(3);
  grad_x = TensorD(x.shape());
  grad_w = TensorD(w.shape());
  grad_b = TensorD({O});
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          const double gy = g.at(n, o, i, j);
          grad_b[o] += gy;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t ky = 0; ky < KH; ++ky)
              for (int64_t kx = 0; kx < KW; ++kx) {
                const int64_t yy = i * stride + ky - pad, xx = j * stride + kx - pad;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                grad_x.at(n, c, yy, xx) += w.at(o, c, ky, kx) * gy;
                grad_w.at(o, c, ky, kx) += gy * x.at(n, c, yy, xx);
              }
        }
}

TensorD BatchNormTrainReference(const TensorD& x, const TensorD& gamma, const TensorD& beta, double eps) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const double m = static_cast<double>(N * H * W);
  TensorD y(x.shape());
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) mean += x.at(n, c, h, w) / m;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) var += (x.at(n, c, h, w) - mean) * (x.at(n, c, h, w) - mean) / m;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w)
          y.at(n, c, h, w) = gamma[c] * (x.at(n, c, h, w) - mean) / std::sqrt(var + eps) + beta[c];
  }
  return y;
}

void BatchNormTrainBackwardReference(const TensorD& x, const TensorD& gamma, const TensorD& g, double eps,
                                     TensorD& grad_x, TensorD& grad_gamma, TensorD& grad_beta) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const double m = static_cast<double>(N * H * W);
  grad_x = TensorD(x.shape());
  grad_gamma = TensorD({C});
  grad_beta = TensorD({C});
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) mean += x.at(n, c, h, w) / m;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) var += (x.at(n, c, h, w) - mean) * (x.at(n, c, h, w) - mean) / m;
    const double inv_std = 1.0 / std::sqrt(var + eps);
    double sum_g = 0, sum_gxhat = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          sum_g += g.at(n, c, h, w);
          sum_gxhat += g.at(n, c, h, w) * (x.at(n, c, h, w) - mean) * inv_std;
        }
    grad_gamma[c] = sum_gxhat;
    grad_beta[c] = sum_g;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const double xhat = (x.at(n, c, h, w) - mean) * inv_std;
          grad_x.at(n, c, h, w) = gamma[c] * inv_std / m * (m * g.at(n, c, h, w) - sum_g - xhat * sum_gxhat);
        }
  }
}

void BatchNormFrozenBackwardReference(const TensorD& x, const TensorD& gamma, const TensorD& mean, const TensorD& var,
                                      const TensorD& g, double eps, TensorD& grad_x, TensorD& grad_gamma,
                                      TensorD& grad_beta) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  grad_x = TensorD(x.shape());
  grad_gamma = TensorD({C});
  grad_beta = TensorD({C});
  for (int64_t c = 0; c < C; ++c) {
    const double inv_std = 1.0 / std::sqrt(var[c] + eps);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          grad_gamma[c] += g.at(n, c, h, w) * (x.at(n, c, h, w) - mean[c]) * inv_std;
          grad_beta[c] += g.at(n, c, h, w);
          grad_x.at(n, c, h, w) = gamma[c] * inv_std * g.at(n, c, h, w);
        }
  }
}

}  // namespace cimsim
