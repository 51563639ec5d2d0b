// interleaved_codes.h — the storage shared by the GEMM input layouts PairedCodes (sim/paired_codes.h)
// and QuadCodes (sim/quad_codes.h): a K×n code matrix whose rows are interleaved in groups.
//
// Rows k are taken kRowsPerGroup at a time: G = ⌈K/kRowsPerGroup⌉ row groups. Columns are padded to
// n_stride = n rounded up to a multiple of kColumnAlign. Group g is one contiguous "group row" of
// kSlotsPerColumn·n_stride elements of type T; column j's slots in it start at
//     g·kSlotsPerColumn·n_stride + j·kSlotsPerColumn.
// PairedCodes: T = int16, 2 rows per group, 2 slots per column (one code per slot), align 32.
// QuadCodes:   T = uint32, 4 rows per group, 1 slot per column (four 8-bit codes in it), align 64.
// How the group's codes sit inside a column's slots is the derived layout's business.
//
// The buffer never shrinks: a shape change only grows it when the new shape needs more elements, so a
// buffer reused for same-or-smaller shapes does not allocate. Storage is aligned like Eigen's dynamic
// matrices (64 bytes when built with AVX-512).
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace cimsim {

template <class T, int64_t kRowsPerGroup, int64_t kSlotsPerColumn, int64_t kAlign>
class InterleavedCodes {
 public:
  static constexpr int64_t kColumnAlign = kAlign;  // n_stride is a multiple of this

  int64_t K() const { return K_; }
  int64_t n() const { return n_; }
  int64_t n_stride() const { return n_stride_; }
  int64_t size() const { return groups() * kSlotsPerColumn * n_stride_; }  // elements in use

  const T* data() const { return data_.data(); }

 protected:
  int64_t groups() const { return (K_ + kRowsPerGroup - 1) / kRowsPerGroup; }  // G
  // Group row g in [0, G): kSlotsPerColumn·n_stride elements.
  T* GroupRow(int64_t g) { return data_.data() + g * kSlotsPerColumn * n_stride_; }
  const T* GroupRow(int64_t g) const { return data_.data() + g * kSlotsPerColumn * n_stride_; }
  T* mutable_data() { return data_.data(); }
  // Where column j's slots of the group holding row k start; k < K, j < n.
  size_t CellOffset(int64_t k, int64_t j) const {
    assert(k >= 0 && k < K_ && j >= 0 && j < n_);
    return static_cast<size_t>(((k / kRowsPerGroup) * n_stride_ + j) * kSlotsPerColumn);
  }
  T& Cell(size_t offset) { return data_[offset]; }
  T Cell(size_t offset) const { return data_[offset]; }

  // Checks K, n >= 0 (std::invalid_argument naming fn), sets the shape and grows (never shrinks) the
  // buffer to size(). Element values are left as they were.
  void SetShape(int64_t K, int64_t n, const char* fn) {
    if (K < 0 || n < 0) {
      throw std::invalid_argument(std::string(fn) + ": K = " + std::to_string(K) + ", n = " + std::to_string(n) +
                                  "; both must be >= 0");
    }
    K_ = K;
    n_ = n;
    n_stride_ = (n + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
    const auto count = static_cast<size_t>(size());
    if (data_.size() < count) data_.resize(count);  // never shrinks: capacity is kept for reuse
  }
  // Zero-fills every element in use, padding included.
  void ZeroAll() { std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(size()), T{0}); }
  // Zero-fills the padding columns n..n_stride−1 of every group row.
  void ZeroColumnPadding() {
    for (int64_t g = 0; g < groups(); ++g) {
      T* row = GroupRow(g);
      std::fill(row + kSlotsPerColumn * n_, row + kSlotsPerColumn * n_stride_, T{0});
    }
  }

 private:
  int64_t K_ = 0, n_ = 0, n_stride_ = 0;
  std::vector<T, Eigen::aligned_allocator<T>> data_;
};

}  // namespace cimsim
