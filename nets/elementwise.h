// elementwise.h — layers that act element by element: ReLU and the residual Add.
//
// Relu: y = max(x, 0).  Add: y = a + b for two inputs of equal shape (the residual join).
//
// Backward (any shape, element-wise; g = dL/dy):
//   Relu: dL/dx = g · [x > 0]  (subgradient 0 at the kink x = 0, as PyTorch);
//   Add:  dL/da = dL/db = g.
// Add with the block's ReLU fused in (Layer::FusesRelu): y = max(a + b, 0) in one pass, and
// dL/da = dL/db = g·[y > 0] written together from one read of g and y.
// Neither layer has parameters. The fast paths are one vectorizable loop over blocks of elements.
#pragma once

#include "nets/layer.h"

namespace cimsim {

class Relu : public Layer {
 public:
  std::string_view Kind() const override { return "relu"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;
};

class Add : public Layer {
 public:
  std::string_view Kind() const override { return "add"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;
  bool FusesRelu() const override { return true; }
  void ForwardTrainRelu(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
                        Workspace& ws) override;
  void BackwardRelu(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                    const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
};

}  // namespace cimsim
