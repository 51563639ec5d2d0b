#include "nets/pooling.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "nets/pool_window.h"
#include "nets/reference_ops.h"

namespace cimsim {
namespace {

void CheckGradShape(const Tensor& grad_out, const Shape& expected, const char* kind) {
  if (grad_out.shape() != expected) {
    throw std::invalid_argument(std::string(kind) + " backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(expected));
  }
}

}  // namespace

Shape GlobalAvgPool::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4) throw std::invalid_argument("global_avg_pool expects [N, C, H, W]");
  return {inputs[0][0], inputs[0][1]};
}

void GlobalAvgPool::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const int64_t plane = x.dim(2) * x.dim(3);
  const float inv = 1.0f / static_cast<float>(plane);
  pool.ParallelFor(x.dim(0) * x.dim(1), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      const float* src = x.data() + nc * plane;
      float sum = 0.0f;
      for (int64_t i = 0; i < plane; ++i) sum += src[i];
      out[nc] = sum * inv;
    }
  });
}

void GlobalAvgPool::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = GlobalAvgPoolReference(*inputs[0]);
}

void GlobalAvgPool::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                             const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  CheckGradShape(grad_out, OutputShape({x.shape()}), "global_avg_pool");
  Tensor* gx = grad_inputs.empty() ? nullptr : grad_inputs[0];
  if (gx == nullptr) return;
  gx->Resize(x.shape());
  const int64_t plane = x.dim(2) * x.dim(3);
  const float inv = 1.0f / static_cast<float>(plane);
  pool.ParallelFor(x.dim(0) * x.dim(1), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      float* dst = gx->data() + nc * plane;
      std::fill(dst, dst + plane, grad_out[nc] * inv);
    }
  });
}

void GlobalAvgPool::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>&,
                                      const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                                      std::vector<TensorD>& grad_params) const {
  grad_inputs.assign(1, GlobalAvgPoolBackwardReference(inputs[0]->shape(), grad_out));
  grad_params.clear();
}

MaxPool2d::MaxPool2d(int kernel, int stride, int padding) : kernel_(kernel), stride_(stride), padding_(padding) {
  if (kernel < 1 || stride < 1) throw std::invalid_argument("max_pool2d kernel and stride must be >= 1");
  if (padding < 0 || padding > kernel / 2)
    throw std::invalid_argument("max_pool2d padding " + std::to_string(padding) + " must be in [0, kernel/2 = " +
                                std::to_string(kernel / 2) + "]");
}

Shape MaxPool2d::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1 || inputs[0].size() != 4 || inputs[0][2] + 2 * padding_ < kernel_ ||
      inputs[0][3] + 2 * padding_ < kernel_) {
    throw std::invalid_argument("max_pool2d expects [N, C, H, W] with H + 2·padding, W + 2·padding >= kernel");
  }
  return {inputs[0][0], inputs[0][1], (inputs[0][2] + 2 * padding_ - kernel_) / stride_ + 1,
          (inputs[0][3] + 2 * padding_ - kernel_) / stride_ + 1};
}

void MaxPool2d::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(OutputShape({x.shape()}));
  const int64_t H = x.dim(2), W = x.dim(3), OH = out.dim(2), OW = out.dim(3);
  pool.ParallelFor(x.dim(0) * x.dim(1), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      const float* src = x.data() + nc * H * W;
      float* dst = out.data() + nc * OH * OW;
      for (int64_t i = 0; i < OH; ++i) {
        const PoolWindow rows = ClippedPoolWindow(i, stride_, padding_, kernel_, H);
        for (int64_t j = 0; j < OW; ++j) {
          const PoolWindow cols = ClippedPoolWindow(j, stride_, padding_, kernel_, W);
          float m = src[rows.lo * W + cols.lo];
          for (int64_t h = rows.lo; h < rows.hi; ++h)
            for (int64_t w = cols.lo; w < cols.hi; ++w) m = std::max(m, src[h * W + w]);
          dst[i * OW + j] = m;
        }
      }
    }
  });
}

void MaxPool2d::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = MaxPoolReference(*inputs[0], kernel_, stride_, padding_);
}

void MaxPool2d::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                         const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  CheckGradShape(grad_out, OutputShape({x.shape()}), "max_pool2d");
  Tensor* gx = grad_inputs.empty() ? nullptr : grad_inputs[0];
  if (gx == nullptr) return;
  gx->Resize(x.shape());
  const int64_t H = x.dim(2), W = x.dim(3), OH = grad_out.dim(2), OW = grad_out.dim(3);
  pool.ParallelFor(x.dim(0) * x.dim(1), [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t nc = begin; nc < end; ++nc) {
      const float* src = x.data() + nc * H * W;
      const float* g = grad_out.data() + nc * OH * OW;
      float* dst = gx->data() + nc * H * W;
      std::fill(dst, dst + H * W, 0.0f);
      for (int64_t i = 0; i < OH; ++i) {
        const PoolWindow rows = ClippedPoolWindow(i, stride_, padding_, kernel_, H);
        for (int64_t j = 0; j < OW; ++j) {
          const PoolWindow cols = ClippedPoolWindow(j, stride_, padding_, kernel_, W);
          // Argmax with strict >, so the first maximum in scan order wins (as std::max in Forward).
          int64_t best = rows.lo * W + cols.lo;
          for (int64_t h = rows.lo; h < rows.hi; ++h)
            for (int64_t w = cols.lo; w < cols.hi; ++w)
              if (src[h * W + w] > src[best]) best = h * W + w;
          dst[best] += g[i * OW + j];
        }
      }
    }
  });
}

void MaxPool2d::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>&,
                                  const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                                  std::vector<TensorD>& grad_params) const {
  grad_inputs.assign(1, MaxPoolBackwardReference(*inputs[0], grad_out, kernel_, stride_, padding_));
  grad_params.clear();
}

}  // namespace cimsim
