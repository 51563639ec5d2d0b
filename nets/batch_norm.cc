#include "nets/batch_norm.h"

#include <cmath>
#include <stdexcept>

#include "nets/reference_ops.h"

namespace cimsim {

BatchNorm2d::BatchNorm2d(int channels, double eps)
    : channels_(channels), eps_(eps), gamma_({channels}), beta_({channels}), mean_({channels}), var_({channels}) {
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
  const Tensor& x = *inputs[0];
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
      for (int64_t i = 0; i < plane; ++i) dst[i] = a * src[i] + b;
    }
  });
}

void BatchNorm2d::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = BatchNormReference(*inputs[0], gamma_.Cast<double>(), beta_.Cast<double>(), mean_.Cast<double>(),
                           var_.Cast<double>(), eps_);
}

void BatchNorm2d::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  fn("weight", gamma_);
  fn("bias", beta_);
  fn("running_mean", mean_);
  fn("running_var", var_);
}

}  // namespace cimsim
