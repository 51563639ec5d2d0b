// linear.h — fully connected layer, PyTorch nn.Linear.
//
// y[n,o] = b[o] + Σ_i W[o,i] · x[n,i];  x [N, I], W [O, I], b [O], y [N, O].
// Fast path: one Eigen matrix-vector product per image (the layer is tiny: 64×10 in ResNet-20),
// images spread over the pool; an image's output never depends on the batch or the thread split.
//
// Backward (g = dL/dy [N, O]):
//   dL/dx = g·W            [N, I]   (dL/dx[n,i] = Σ_o g[n,o]·W[o,i])
//   dL/dW = gᵀ·x           [O, I]   (dL/dW[o,i] = Σ_n g[n,o]·x[n,i])
//   dL/db = Σ_n g[n, :]    [O]
// Fast path: the batch is cut into chunks of kGradChunkImages images; one worker handles a whole
// chunk: its rows of dL/dx (one Eigen GEMM) and its partial dL/dW (one GEMM) and dL/db. The partials
// are then summed in chunk order (in parallel over the parameter elements), so the gradients are
// bit-identical for any thread count. Every GEMM writes to a 64-byte-aligned slot of the workspace
// (Eigen's small-product path peels scalar elements depending on the destination's alignment).
// The parameter gradients are owned by the layer (weight_grad_, bias_grad_) and exposed with the
// parameters by VisitParams.
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
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  // ("weight", weight, weight_grad), ("bias", bias, bias_grad).
  void VisitParams(const std::function<void(const std::string&, Tensor&, Tensor&)>& fn) override;
  // params: {W [O, I], b [O]}.
  void ForwardTrainReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                             TensorD& out) const override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;
  int64_t MacsPerImage(const std::vector<Shape>& inputs) const override;

  int in_features() const { return in_; }
  int out_features() const { return out_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }
  Tensor& weight_grad() { return weight_grad_; }
  Tensor& bias_grad() { return bias_grad_; }

 private:
  int in_, out_;
  Tensor weight_;       // [O, I]
  Tensor bias_;         // [O]
  Tensor weight_grad_;  // [O, I], dL/dW of the last Backward
  Tensor bias_grad_;    // [O], dL/db of the last Backward
};

}  // namespace cimsim
