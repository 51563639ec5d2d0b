#include "nets/shortcut_a.h"

#include <algorithm>
#include <stdexcept>

#include "nets/reference_ops.h"

namespace cimsim {

ShortcutA::ShortcutA(int stride, int pad_channels) : stride_(stride), pad_(pad_channels) {
  if (stride < 1 || pad_channels < 0) throw std::invalid_argument("shortcut_a needs stride >= 1, pad >= 0");
}

Shape ShortcutA::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4) throw std::invalid_argument("shortcut_a expects [N, C, H, W]");
  const Shape& s = inputs[0];
  return {s[0], s[1] + 2 * pad_, (s[2] + stride_ - 1) / stride_, (s[3] + stride_ - 1) / stride_};
}

void ShortcutA::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t OC = out.dim(1), OH = out.dim(2), OW = out.dim(3);
  pool.ParallelFor(x.dim(0) * OC, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t noc = begin; noc < end; ++noc) {
      const int64_t n = noc / OC, oc = noc % OC, c = oc - pad_;
      float* dst = out.data() + noc * OH * OW;
      if (c < 0 || c >= C) {
        std::fill(dst, dst + OH * OW, 0.0f);
        continue;
      }
      const float* src = x.data() + (n * C + c) * H * W;
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) dst[i * OW + j] = src[i * stride_ * W + j * stride_];
    }
  });
}

void ShortcutA::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = ShortcutAReference(*inputs[0], stride_, pad_);
}

void ShortcutA::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                         const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  if (grad_out.shape() != OutputShape({x.shape()})) {
    throw std::invalid_argument("shortcut_a backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(OutputShape({x.shape()})));
  }
  Tensor* gx = grad_inputs.empty() ? nullptr : grad_inputs[0];
  if (gx == nullptr) return;
  gx->Resize(x.shape());
  const int64_t C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t OC = grad_out.dim(1), OH = grad_out.dim(2), OW = grad_out.dim(3);
  pool.ParallelFor(x.dim(0) * C, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      const int64_t n = nc / C, c = nc % C;
      const float* src = grad_out.data() + (n * OC + c + pad_) * OH * OW;
      float* dst = gx->data() + nc * H * W;
      if (stride_ == 1) {
        std::copy(src, src + H * W, dst);
        continue;
      }
      std::fill(dst, dst + H * W, 0.0f);
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) dst[i * stride_ * W + j * stride_] = src[i * OW + j];
    }
  });
}

void ShortcutA::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>&,
                                  const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                                  std::vector<TensorD>& grad_params) const {
  grad_inputs.assign(1, ShortcutABackwardReference(inputs[0]->shape(), grad_out, stride_, pad_));
  grad_params.clear();
}

}  // namespace cimsim
