// elementwise.h — layers that act element by element: ReLU and the residual Add.
//
// Relu: y = max(x, 0).  Add: y = a + b for two inputs of equal shape (the residual join).
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
};

class Add : public Layer {
 public:
  std::string_view Kind() const override { return "add"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
};

}  // namespace cimsim
