// linear.h — fully connected layer, PyTorch nn.Linear.
//
// y[n,o] = b[o] + Σ_i W[o,i] · x[n,i];  x [N, I], W [O, I], b [O], y [N, O].
// Fast path: one Eigen matrix-vector product per image (the layer is tiny: 64×10 in ResNet-20),
// images spread over the pool; an image's output never depends on the batch or the thread split.
#pragma once

#include "nets/layer.h"

namespace cimsim {

class Linear : public Layer {
 public:
  Linear(int in_features, int out_features);

  std::string_view Kind() const override { return "linear"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void VisitTensors(const std::function<void(const std::string&, Tensor&)>& fn) override;
  int64_t MacsPerImage(const std::vector<Shape>& inputs) const override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  int in_, out_;
  Tensor weight_;  // [O, I]
  Tensor bias_;    // [O]
};

}  // namespace cimsim
