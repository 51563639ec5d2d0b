// shortcut_a.h — the parameter-free "option A" residual shortcut of He et al. (2016) for CIFAR.
//
// y = zero-pad channels(x[:, :, ::s, ::s]), `pad` zero channels before and `pad` after:
// [N, C, H, W] -> [N, C + 2·pad, ⌈H/s⌉, ⌈W/s⌉]. In the CIFAR ResNets pad = planes/4, which doubles
// the channels (PyTorch: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, planes//4, planes//4))).
//
// Backward (g = dL/dy [N, C + 2·pad, ⌈H/s⌉, ⌈W/s⌉], no parameters): the transpose of the selection,
// dL/dx[n,c,i·s,j·s] = g[n,c+pad,i,j], and 0 for the elements the stride skips; the padded channels'
// gradients are dropped. Fast path over (image, input channel) planes.
#pragma once

#include "nets/layer.h"

namespace cimsim {

class ShortcutA : public Layer {
 public:
  ShortcutA(int stride, int pad_channels);
  std::string_view Kind() const override { return "shortcut_a"; }
  Shape OutputShape(const std::vector<Shape>& inputs) const override;
  void Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool,
               Workspace& ws) const override;
  void ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const override;
  void Backward(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace& ws) override;
  void BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>& params,
                         const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                         std::vector<TensorD>& grad_params) const override;

  int stride() const { return stride_; }
  int pad_channels() const { return pad_; }

 private:
  int stride_, pad_;
};

}  // namespace cimsim
