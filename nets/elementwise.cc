#include "nets/elementwise.h"

#include <algorithm>
#include <stdexcept>

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

}  // namespace cimsim
