// pooling.h — global average pooling and max pooling.
//
// GlobalAvgPool: [N, C, H, W] -> [N, C], y[n,c] = (1/HW) Σ_{h,w} x[n,c,h,w] (PyTorch's
//   F.avg_pool2d(x, x.size(3)) followed by flattening, for square maps).
// MaxPool2d(k, s, p): [N, C, H, W] -> [N, C, (H+2p−k)/s+1, (W+2p−k)/s+1] (floor, PyTorch's
//   ceil_mode=False), y[n,c,i,j] = max over the k×k window at rows i·s−p .. i·s−p+k−1 and columns
//   j·s−p .. j·s−p+k−1 of the positions inside the map: the padding is −∞ (PyTorch's), never a value.
//   0 <= p <= k/2 (PyTorch's rule), so every window holds at least one position of the map.
//
// Backward (g = dL/dy, no parameters):
//   GlobalAvgPool: dL/dx[n,c,h,w] = g[n,c] / (H·W).
//   MaxPool2d: each g[n,c,i,j] goes to the argmax of window (i, j) of x and to nothing else:
//     dL/dx[n,c,h,w] = Σ_{(i,j): argmax(i,j) = (h,w)} g[n,c,i,j] (overlapping windows, s < k, add up).
//     Ties: the first maximum in scan order (ky outer, kx inner) among the window's positions inside
//     the map — the element the forward's running max keeps — as PyTorch's CPU kernel does; the
//     argmax is recomputed from x, nothing is stored.
// Both fast paths run over (image, channel) planes; each plane's result is computed by one worker in a
// fixed order, so they do not depend on the thread count.
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
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;
};

class MaxPool2d : public Layer {
 public:
  // kernel, stride >= 1; 0 <= padding <= kernel / 2 (else std::invalid_argument).
  MaxPool2d(int kernel, int stride, int padding = 0);
  std::string_view Kind() const override { return "max_pool2d"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;

  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int padding() const { return padding_; }

 private:
  int kernel_, stride_, padding_;
};

}  // namespace cimsim
