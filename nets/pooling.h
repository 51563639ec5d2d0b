// pooling.h — global average pooling and max pooling.
//
// GlobalAvgPool: [N, C, H, W] -> [N, C], y[n,c] = (1/HW) Σ_{h,w} x[n,c,h,w] (PyTorch's
//   F.avg_pool2d(x, x.size(3)) followed by flattening, for square maps).
// MaxPool2d(k, s): [N, C, H, W] -> [N, C, (H−k)/s+1, (W−k)/s+1], max over each k×k window, no padding.
#pragma once

#include "nets/layer.h"

namespace cimsim {

class GlobalAvgPool : public Layer {
 public:
  std::string_view Kind() const override { return "global_avg_pool"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
};

class MaxPool2d : public Layer {
 public:
  MaxPool2d(int kernel, int stride);
  std::string_view Kind() const override { return "max_pool2d"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
};

}  // namespace cimsim
