#include "nets/batch_norm.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "nets/lane_sum.h"
#include "nets/reference_ops.h"

namespace cimsim {

void BatchNorm2d::set_momentum(double momentum) {
  if (!(momentum > 0.0 && momentum <= 1.0))
    throw std::invalid_argument("batch_norm momentum " + std::to_string(momentum) + " is outside (0, 1]");
  momentum_ = momentum;
}

BatchNorm2d::BatchNorm2d(int channels, double eps, double momentum)
    : channels_(channels),
      eps_(eps),
      momentum_(momentum),
      gamma_({channels}),
      beta_({channels}),
      mean_({channels}),
      var_({channels}),
      gamma_grad_({channels}),
      beta_grad_({channels}) {
  if (channels < 1) throw std::invalid_argument("batch_norm channels must be >= 1");
  gamma_.Fill(1.0f);
  var_.Fill(1.0f);
}

Shape BatchNorm2d::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][1] != channels_) {
    throw std::invalid_argument("batch_norm expects one [N, " + std::to_string(channels_) + ", H, W] input");
  }
  return inputs[0];
}

void BatchNorm2d::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  ApplyRunningAffine(*inputs[0], out, pool, false);
}

void BatchNorm2d::ApplyRunningAffine(const Tensor& x, Tensor& out, ThreadPool& pool, bool relu) const {
  out.Resize(OutputShape({x.shape()}));
  const int64_t plane = x.dim(2) * x.dim(3);
  pool.ParallelFor(x.dim(0) * channels_, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      const int64_t c = nc % channels_;
      const double scale = gamma_[c] / std::sqrt(static_cast<double>(var_[c]) + eps_);
      const float a = static_cast<float>(scale);
      const float b = static_cast<float>(beta_[c] - scale * mean_[c]);
      const float* src = x.data() + nc * plane;
      float* dst = out.data() + nc * plane;
      if (relu) {
        for (int64_t i = 0; i < plane; ++i) dst[i] = std::max(a * src[i] + b, 0.0f);
      } else {
        for (int64_t i = 0; i < plane; ++i) dst[i] = a * src[i] + b;
      }
    }
  });
}

void BatchNorm2d::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = BatchNormReference(*inputs[0], gamma_.Cast<double>(), beta_.Cast<double>(), mean_.Cast<double>(),
                           var_.Cast<double>(), eps_);
}

BatchNorm2d::ChannelMoments BatchNorm2d::MomentsOf(const Tensor& x, int64_t c) const {
  const int64_t N = x.dim(0), C = channels_, plane = x.dim(2) * x.dim(3);
  double sum = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    const float* src = x.data() + (n * C + c) * plane;
    sum += SumD(plane, [&](int64_t i) { return static_cast<double>(src[i]); });
  }
  const double mean = sum / static_cast<double>(N * plane);
  double squares = 0.0;  // second pass: Σ (x − μ)², no cancellation
  for (int64_t n = 0; n < N; ++n) {
    const float* src = x.data() + (n * C + c) * plane;
    squares += SumD(plane, [&](int64_t i) {
      const double d = static_cast<double>(src[i]) - mean;
      return d * d;
    });
  }
  return {mean, squares};
}

void BatchNorm2d::NormalizeChannel(const Tensor& x, int64_t c, double mean, double inv_std, Tensor& out, bool relu) {
  const int64_t N = x.dim(0), C = channels_, plane = x.dim(2) * x.dim(3);
  batch_mean_[static_cast<size_t>(c)] = mean;
  batch_inv_std_[static_cast<size_t>(c)] = inv_std;
  const double scale = gamma_[c] * inv_std;
  const float a = static_cast<float>(scale);
  const float shift = static_cast<float>(beta_[c] - scale * mean);
  for (int64_t n = 0; n < N; ++n) {
    const float* src = x.data() + (n * C + c) * plane;
    float* dst = out.data() + (n * C + c) * plane;
    if (relu) {
      for (int64_t i = 0; i < plane; ++i) dst[i] = std::max(a * src[i] + shift, 0.0f);
    } else {
      for (int64_t i = 0; i < plane; ++i) dst[i] = a * src[i] + shift;
    }
  }
}

void BatchNorm2d::ForwardTrain(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) {
  ForwardTrainBody(*inputs[0], out, pool, false);
}

void BatchNorm2d::ForwardTrainRelu(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) {
  ForwardTrainBody(*inputs[0], out, pool, true);
}

void BatchNorm2d::ForwardTrainBody(const Tensor& x, Tensor& out, ThreadPool& pool, bool relu) {
  out.Resize(OutputShape({x.shape()}));
  const int64_t N = x.dim(0), C = channels_, plane = x.dim(2) * x.dim(3), m = N * plane;
  if (m < 2) {
    throw std::invalid_argument("batch_norm training needs more than one value per channel, got input " +
                                ShapeString(x.shape()));
  }
  batch_mean_.resize(static_cast<size_t>(C));
  batch_inv_std_.resize(static_cast<size_t>(C));
  const double md = static_cast<double>(m);
  if (frozen_) {
    // The inference formula (Forward's per-channel affine, the same float32 a_c, b_c) on the running
    // statistics, which stay as they are.
    for (int64_t c = 0; c < C; ++c) {
      batch_mean_[static_cast<size_t>(c)] = mean_[c];
      batch_inv_std_[static_cast<size_t>(c)] = 1.0 / std::sqrt(static_cast<double>(var_[c]) + eps_);
    }
    ApplyRunningAffine(x, out, pool, relu);
    return;
  }
  pool.ParallelFor(C, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t c = begin; c < end; ++c) {
      const ChannelMoments mo = MomentsOf(x, c);
      const double mean = mo.mean, var = mo.squares / md;
      const double inv_std = 1.0 / std::sqrt(var + eps_);
      NormalizeChannel(x, c, mean, inv_std, out, relu);
      mean_[c] = static_cast<float>((1.0 - momentum_) * mean_[c] + momentum_ * mean);
      var_[c] = static_cast<float>((1.0 - momentum_) * var_[c] + momentum_ * var * md / (md - 1.0));
    }
  });
}

void BatchNorm2d::CheckBackward(const Tensor& x, const Tensor& grad_out) const {
  if (grad_out.shape() != OutputShape({x.shape()})) {
    throw std::invalid_argument("batch_norm backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(x.shape()));
  }
  if (batch_mean_.size() != static_cast<size_t>(channels_)) {
    throw std::logic_error("batch_norm backward without a preceding ForwardTrain");
  }
}

void BatchNorm2d::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                           const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  CheckBackward(x, grad_out);
  BackwardOnKept<false>(x, nullptr, grad_out, 1.0, grad_inputs.empty() ? nullptr : grad_inputs[0], pool);
}

void BatchNorm2d::BackwardRelu(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                               const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  CheckBackward(x, grad_out);
  if (out.shape() != x.shape())
    throw std::invalid_argument("batch_norm fused ReLU backward: output of shape " + ShapeString(out.shape()) +
                                ", input has " + ShapeString(x.shape()));
  BackwardOnKept<true>(x, &out, grad_out, 1.0, grad_inputs.empty() ? nullptr : grad_inputs[0], pool);
}

template <bool kMasked>
void BatchNorm2d::BackwardOnKept(const Tensor& x, const Tensor* relu_out, const Tensor& grad_out, double grad_scale,
                                 Tensor* gx, ThreadPool& pool) {
  if (gx != nullptr) gx->Resize(x.shape());
  const int64_t N = x.dim(0), C = channels_, plane = x.dim(2) * x.dim(3);
  const double md = static_cast<double>(N * plane);
  // The gradient the BatchNorm sees at flat index j: g, or g·[y > 0] behind a fused ReLU.
  const float* g_base = grad_out.data();
  const float* y_base = kMasked ? relu_out->data() : grad_out.data();
  pool.ParallelFor(C, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t c = begin; c < end; ++c) {
      const double mean = batch_mean_[static_cast<size_t>(c)], inv_std = batch_inv_std_[static_cast<size_t>(c)];
      double sum_g = 0.0, sum_gd = 0.0;  // Σ g and Σ g·(x − μ_B)
      for (int64_t n = 0; n < N; ++n) {
        const float* xs = x.data() + (n * C + c) * plane;
        const float* g = g_base + (n * C + c) * plane;
        const float* y = y_base + (n * C + c) * plane;
        const auto gv = [g, y](int64_t i) { return kMasked ? (y[i] > 0.0f ? g[i] : 0.0f) : g[i]; };
        const auto [g_sum, gd_sum] = SumD2(
            plane, [&](int64_t i) { return static_cast<double>(gv(i)); },
            [&](int64_t i) { return static_cast<double>(gv(i)) * (static_cast<double>(xs[i]) - mean); });
        sum_g += g_sum;
        sum_gd += gd_sum;
      }
      const double sum_gxhat = sum_gd * inv_std;
      gamma_grad_[c] = static_cast<float>(sum_gxhat);
      beta_grad_[c] = static_cast<float>(sum_g);
      if (gx == nullptr) continue;
      if (frozen_) {  // dx = a·g: the statistics are constants
        const float a = static_cast<float>(gamma_[c] * inv_std * grad_scale);
        for (int64_t n = 0; n < N; ++n) {
          const float* g = g_base + (n * C + c) * plane;
          const float* y = y_base + (n * C + c) * plane;
          float* d = gx->data() + (n * C + c) * plane;
          for (int64_t i = 0; i < plane; ++i) d[i] = a * (kMasked ? (y[i] > 0.0f ? g[i] : 0.0f) : g[i]);
        }
        continue;
      }
      // dx = a·(g − Σg/m − (x − μ_B)·inv_std·Σgx̂/m), a = γ·inv_std.
      const float a = static_cast<float>(gamma_[c] * inv_std * grad_scale);
      const float mean_g = static_cast<float>(sum_g / md);
      const float k = static_cast<float>(inv_std * sum_gxhat / md);
      const float mu = static_cast<float>(mean);
      for (int64_t n = 0; n < N; ++n) {
        const float* xs = x.data() + (n * C + c) * plane;
        const float* g = g_base + (n * C + c) * plane;
        const float* y = y_base + (n * C + c) * plane;
        float* d = gx->data() + (n * C + c) * plane;
        for (int64_t i = 0; i < plane; ++i) {
          const float gi = kMasked ? (y[i] > 0.0f ? g[i] : 0.0f) : g[i];
          d[i] = a * (gi - mean_g - (xs[i] - mu) * k);
        }
      }
    }
  });
}

void BatchNorm2d::ForwardTrainAffine(const Tensor& x, std::span<const double> u, std::span<const double> b, Tensor& out,
                                     ThreadPool& pool) {
  out.Resize(OutputShape({x.shape()}));
  const int64_t N = x.dim(0), C = channels_, plane = x.dim(2) * x.dim(3), m = N * plane;
  if (u.size() != static_cast<size_t>(C) || b.size() != static_cast<size_t>(C))
    throw std::invalid_argument("batch_norm affine input: u and b need " + std::to_string(C) + " values each");
  for (int64_t c = 0; c < C; ++c)
    if (!(u[static_cast<size_t>(c)] > 0) || !std::isfinite(u[static_cast<size_t>(c)]) || !std::isfinite(b[static_cast<size_t>(c)]))
      throw std::invalid_argument("batch_norm affine input: channel " + std::to_string(c) + " has u " +
                                  std::to_string(u[static_cast<size_t>(c)]) + ", b " + std::to_string(b[static_cast<size_t>(c)]) +
                                  "; u must be > 0 and both finite");
  if (m < 2) {
    throw std::invalid_argument("batch_norm training needs more than one value per channel, got input " +
                                ShapeString(x.shape()));
  }
  batch_mean_.resize(static_cast<size_t>(C));
  batch_inv_std_.resize(static_cast<size_t>(C));
  const double md = static_cast<double>(m);
  pool.ParallelFor(C, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t c = begin; c < end; ++c) {
      const double uc = u[static_cast<size_t>(c)], bc = b[static_cast<size_t>(c)];
      double mean_x = 0.0, k = 0.0;
      if (frozen_) {  // the running statistics, unchanged
        const double inv_std = 1.0 / std::sqrt(static_cast<double>(var_[c]) + eps_);
        k = uc * inv_std;
        mean_x = (static_cast<double>(mean_[c]) - bc) / uc;
      } else {
        const ChannelMoments mo = MomentsOf(x, c);
        mean_x = mo.mean;
        const double var_z = uc * uc * (mo.squares / md);
        k = uc / std::sqrt(var_z + eps_);
        mean_[c] = static_cast<float>((1.0 - momentum_) * mean_[c] + momentum_ * (uc * mean_x + bc));
        var_[c] = static_cast<float>((1.0 - momentum_) * var_[c] + momentum_ * var_z * md / (md - 1.0));
      }
      NormalizeChannel(x, c, mean_x, k, out, false);
    }
  });
}

void BatchNorm2d::BackwardAffine(const Tensor& x, const Tensor& grad_out, double grad_scale, Tensor* grad_x,
                                 std::span<double> sum_grad_z, ThreadPool& pool) {
  CheckBackward(x, grad_out);
  if (sum_grad_z.size() != static_cast<size_t>(channels_))
    throw std::invalid_argument("batch_norm affine backward: sum_grad_z needs " + std::to_string(channels_) + " values");
  BackwardOnKept<false>(x, nullptr, grad_out, grad_scale, grad_x, pool);
  for (int64_t c = 0; c < channels_; ++c)  // dL/dz = dL/dx / u; summed: 0 on batch statistics (Σ x̂ = 0)
    sum_grad_z[static_cast<size_t>(c)] =
        frozen_ ? gamma_[c] * static_cast<double>(beta_grad_[c]) / std::sqrt(static_cast<double>(var_[c]) + eps_) : 0.0;
}

void BatchNorm2d::VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) {
  fn("weight", gamma_, gamma_grad_);
  fn("bias", beta_, beta_grad_);
}

void BatchNorm2d::ForwardTrainReference(const std::vector<const TensorD*>& inputs,
                                        const std::vector<const TensorD*>& params, TensorD& out) const {
  out = frozen_ ? BatchNormReference(*inputs[0], *params[0], *params[1], mean_.Cast<double>(), var_.Cast<double>(), eps_)
                : BatchNormTrainReference(*inputs[0], *params[0], *params[1], eps_);
}

void BatchNorm2d::BackwardReference(const std::vector<const TensorD*>& inputs,
                                    const std::vector<const TensorD*>& params, const TensorD& grad_out,
                                    std::vector<TensorD>& grad_inputs, std::vector<TensorD>& grad_params) const {
  grad_inputs.resize(1);
  grad_params.resize(2);
  if (frozen_) {
    BatchNormFrozenBackwardReference(*inputs[0], *params[0], mean_.Cast<double>(), var_.Cast<double>(), grad_out, eps_,
                                     grad_inputs[0], grad_params[0], grad_params[1]);
  } else {
    BatchNormTrainBackwardReference(*inputs[0], *params[0], grad_out, eps_, grad_inputs[0], grad_params[0],
                                    grad_params[1]);
  }
}

void BatchNorm2d::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  fn("weight", gamma_);
  fn("bias", beta_);
  fn("running_mean", mean_);
  fn("running_var", var_);
}

}  // namespace cimsim
