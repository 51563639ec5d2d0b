// tensor.h — dense row-major tensors of rank 1..4.
//
// Convention (docs/model_format.md): activations NCHW, conv weights OIHW, linear weights [out, in],
// matching PyTorch so that state_dict tensors map 1:1. TensorT<double> serves the slow reference
// path; Tensor (float) the fast one. Resize() keeps the allocation when it is large enough, so a
// tensor reused across batches does not allocate again.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace cimsim {

using Shape = std::vector<int64_t>;

inline int64_t NumElements(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

inline std::string ShapeString(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

template <typename T>
class TensorT {
 public:
  TensorT() = default;
  explicit TensorT(Shape shape) : shape_(std::move(shape)), data_(NumElements(shape_), T(0)) {}
  TensorT(std::initializer_list<int64_t> shape) : TensorT(Shape(shape)) {}

  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t size() const { return static_cast<int64_t>(data_.size()); }

  T* data() { return data_.data(); }
  const T* data() const { return data_.data(); }
  T& operator[](int64_t i) { return data_[static_cast<size_t>(i)]; }
  const T& operator[](int64_t i) const { return data_[static_cast<size_t>(i)]; }

  // Element (n, c, h, w) of a rank-4 tensor.
  T& at(int64_t n, int64_t c, int64_t h, int64_t w) {
    return data_[static_cast<size_t>(((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w)];
  }
  const T& at(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return data_[static_cast<size_t>(((n * shape_[1] + c) * shape_[2] + h) * shape_[3] + w)];
  }

  // New shape; contents unspecified (old values or zeros). Reuses capacity.
  void Resize(const Shape& shape) {
    shape_ = shape;
    data_.resize(static_cast<size_t>(NumElements(shape_)));
  }
  void Fill(T value) { std::fill(data_.begin(), data_.end(), value); }

  // Element-wise conversion; an empty (default) tensor stays empty.
  template <typename U>
  TensorT<U> Cast() const {
    TensorT<U> out;
    if (data_.empty()) return out;
    out.Resize(shape_);
    std::transform(data_.begin(), data_.end(), out.data(), [](T v) { return static_cast<U>(v); });
    return out;
  }

 private:
  Shape shape_;
  std::vector<T> data_;
};

using Tensor = TensorT<float>;
using TensorD = TensorT<double>;

}  // namespace cimsim
