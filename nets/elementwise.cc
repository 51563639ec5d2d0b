#include "nets/elementwise.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "nets/reference_ops.h"

namespace cimsim {
namespace {

// Splits [0, n) element ranges over the pool in blocks of 4096 (cache-friendly, any thread count).
template <typename Fn>
void ForEachBlock(ThreadPool& pool, int64_t n, Fn fn) {
  constexpr int64_t kBlock = 4096;
  pool.ParallelFor((n + kBlock - 1) / kBlock, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    fn(begin * kBlock, std::min<int64_t>(end * kBlock, n));
  });
}

// grad_inputs[k], or null when the caller does not need it (or passed fewer pointers).
Tensor* GradInput(const std::vector<Tensor*>& grad_inputs, size_t k) {
  return k < grad_inputs.size() ? grad_inputs[k] : nullptr;
}

void CheckGradShape(const Tensor& grad_out, const Shape& expected, const char* kind) {
  if (grad_out.shape() != expected) {
    throw std::invalid_argument(std::string(kind) + " backward: gradient of shape " + ShapeString(grad_out.shape()) +
                                ", output has " + ShapeString(expected));
  }
}

}  // namespace

Shape Relu::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 1) throw std::invalid_argument("relu expects one input");
  return inputs[0];
}

void Relu::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& x = *inputs[0];
  out.Resize(x.shape());
  ForEachBlock(pool, x.size(), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = std::max(x[i], 0.0f);
  });
}

void Relu::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = ReluReference(*inputs[0]);
}

void Relu::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                    const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  const Tensor& x = *inputs[0];
  CheckGradShape(grad_out, x.shape(), "relu");
  Tensor* gx = GradInput(grad_inputs, 0);
  if (gx == nullptr) return;
  gx->Resize(x.shape());
  const float* xs = x.data();
  const float* g = grad_out.data();
  float* d = gx->data();
  // Restrict-qualified locals and an unconditional load: the select vectorizes (a branch on the
  // sign of x, and the pointers reloaded through the capture, made this the slowest pass of a step).
  ForEachBlock(pool, x.size(), [xs, g, d](int64_t b, int64_t e) {
    const float* __restrict xr = xs;
    const float* __restrict gr = g;
    float* __restrict dr = d;
    for (int64_t i = b; i < e; ++i) {
      const float gi = gr[i];
      dr[i] = xr[i] > 0.0f ? gi : 0.0f;
    }
  });
}

void Relu::BackwardReference(const std::vector<const TensorD*>& inputs, const std::vector<const TensorD*>&,
                             const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                             std::vector<TensorD>& grad_params) const {
  grad_inputs.assign(1, ReluBackwardReference(*inputs[0], grad_out));
  grad_params.clear();
}

Shape Add::OutputShape(const std::vector<Shape>& inputs) const {
  if (inputs.size() != 2 || inputs[0] != inputs[1]) {
    throw std::invalid_argument("add expects two inputs of equal shape, got " +
                                (inputs.size() == 2 ? ShapeString(inputs[0]) + " and " + ShapeString(inputs[1])
                                                    : std::to_string(inputs.size()) + " inputs"));
  }
  return inputs[0];
}

void Add::Forward(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) const {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  out.Resize(OutputShape({a.shape(), b.shape()}));
  ForEachBlock(pool, a.size(), [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) out[i] = a[i] + b[i];
  });
}

void Add::ForwardReference(const std::vector<const TensorD*>& inputs, TensorD& out) const {
  out = AddReference(*inputs[0], *inputs[1]);
}

void Add::Backward(const std::vector<const Tensor*>& inputs, const Tensor&, const Tensor& grad_out,
                   const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  CheckGradShape(grad_out, OutputShape({inputs[0]->shape(), inputs[1]->shape()}), "add");
  const float* g = grad_out.data();
  for (size_t k = 0; k < 2; ++k) {
    Tensor* gx = GradInput(grad_inputs, k);
    if (gx == nullptr) continue;
    gx->Resize(grad_out.shape());
    float* d = gx->data();
    ForEachBlock(pool, grad_out.size(), [&](int64_t b, int64_t e) { std::copy(g + b, g + e, d + b); });
  }
}

void Add::ForwardTrainRelu(const std::vector<const Tensor*>& inputs, Tensor& out, ThreadPool& pool, Workspace&) {
  const Tensor& a = *inputs[0];
  const Tensor& b = *inputs[1];
  out.Resize(OutputShape({a.shape(), b.shape()}));
  const float* as = a.data();
  const float* bs = b.data();
  float* ys = out.data();
  ForEachBlock(pool, a.size(), [as, bs, ys](int64_t s, int64_t e) {
    const float* __restrict ar = as;
    const float* __restrict br = bs;
    float* __restrict yr = ys;
    for (int64_t i = s; i < e; ++i) yr[i] = std::max(ar[i] + br[i], 0.0f);
  });
}

void Add::BackwardRelu(const std::vector<const Tensor*>& inputs, const Tensor& out, const Tensor& grad_out,
                       const std::vector<Tensor*>& grad_inputs, ThreadPool& pool, Workspace&) {
  CheckGradShape(grad_out, OutputShape({inputs[0]->shape(), inputs[1]->shape()}), "add");
  CheckGradShape(out, grad_out.shape(), "add (fused ReLU output)");
  Tensor* ga = GradInput(grad_inputs, 0);
  Tensor* gb = GradInput(grad_inputs, 1);
  if (ga != nullptr) ga->Resize(grad_out.shape());
  if (gb != nullptr) gb->Resize(grad_out.shape());
  const float* g = grad_out.data();
  const float* y = out.data();
  float* da = ga != nullptr ? ga->data() : nullptr;
  float* db = gb != nullptr ? gb->data() : nullptr;
  ForEachBlock(pool, grad_out.size(), [g, y, da, db](int64_t s, int64_t e) {
    const float* __restrict gr = g;
    const float* __restrict yr = y;
    float* __restrict ar = da;
    float* __restrict br = db;
    if (ar != nullptr && br != nullptr) {
      for (int64_t i = s; i < e; ++i) {
        const float gi = gr[i];
        const float v = yr[i] > 0.0f ? gi : 0.0f;
        ar[i] = v;
        br[i] = v;
      }
      return;
    }
    float* __restrict dr = ar != nullptr ? ar : br;
    if (dr == nullptr) return;
    for (int64_t i = s; i < e; ++i) {
      const float gi = gr[i];
      dr[i] = yr[i] > 0.0f ? gi : 0.0f;
    }
  });
}

void Add::BackwardReference(const std::vector<const TensorD*>&, const std::vector<const TensorD*>&,
                            const TensorD& grad_out, std::vector<TensorD>& grad_inputs,
                            std::vector<TensorD>& grad_params) const {
  grad_inputs.assign(2, grad_out);  // dL/da = dL/db = g
  grad_params.clear();
}

}  // namespace cimsim
