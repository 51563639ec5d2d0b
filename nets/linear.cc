#include "nets/linear.h"

#include <stdexcept>

#include "nets/eigen_maps.h"
#include "nets/reference_ops.h"

namespace cimsim {

Linear::Linear(int in_features, int out_features)
    : in_(in_features), out_(out_features), weight_({out_features, in_features}), bias_({out_features}) {
  if (in_features < 1 || out_features < 1) throw std::invalid_argument("linear features must be >= 1");
}

Shape Linear::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 2 || inputs[0][1] != in_) {
    throw std::invalid_argument("linear expects one [N, " + std::to_string(in_) + "] input");
  }
  return {inputs[0][0], out_};
}

void Linear::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const ConstRowMap<float> w(weight_.data(), out_, in_);
  const Eigen::Map<const Eigen::RowVectorXf> b(bias_.data(), out_);
  // One matrix-vector product per image, so an image's logits never depend on the batch split.
  pool.ParallelFor(x.dim(0), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t n = begin; n < end; ++n) {
      Eigen::Map<Eigen::VectorXf> y(out.data() + n * out_, out_);
      y.noalias() = w * Eigen::Map<const Eigen::VectorXf>(x.data() + n * in_, in_);
      y += b.transpose();
    }
  });
}

void Linear::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = LinearReference(*inputs[0], weight_.Cast<double>(), bias_.Cast<double>());
}

void Linear::VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) {
  fn("weight", weight_);
  fn("bias", bias_);
}

int64_t Linear::MacsPerImage(const std::vector<Shape>&) const { return static_cast<int64_t>(in_) * out_; }

}  // namespace cimsim
