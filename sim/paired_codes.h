// paired_codes.h — a K×n matrix of integer input codes in the layout the int16 GEMM kernels read.
//
// Column j is one input vector x[·, j] of length K (the dot-product depth); n is the number of
// vectors (output positions of a convolution, or 1 for a linear layer on one image). Codes are small
// integers held as int16: signed 8-bit image codes in [−127, 127], unsigned activations in [0, 255]
// at most.
//
// Layout ("k-pair interleaved"): with Kp = ⌈K/2⌉ row pairs and n_stride = n rounded up to a multiple
// of 32, element (k, j) lives at
//     ((k/2)·n_stride + j)·2 + (k % 2).
// Row pair kp is therefore 2·n_stride contiguous int16: for each vector j the two codes
// x[2kp, j], x[2kp+1, j] side by side, i.e. one int32 lane of a `vpmaddwd` operand; 16 vectors fill
// one 512-bit register. Everything outside k < K, j < n (the odd last row when K is odd, the columns
// n..n_stride−1) is zero, so kernels may read whole 32-column groups and whole pairs.
// Storage is aligned like Eigen's dynamic matrices (64 bytes when built with AVX-512); a row pair is
// a multiple of 128 bytes long, so every row pair starts on that alignment too.
#pragma once

#include <cstdint>

#include "sim/input_codes.h"
#include "sim/interleaved_codes.h"

namespace cimsim {

// The storage (shape, padding, grow-only buffer) is InterleavedCodes' (sim/interleaved_codes.h) with
// row pairs for groups: 2 rows per group, 2 int16 slots per column, n_stride a multiple of 32.
class PairedCodes : public InterleavedCodes<int16_t, 2, 2, 32> {
 public:
  PairedCodes() = default;
  PairedCodes(int64_t K, int64_t n) { Resize(K, n); }

  // Sets the shape and zero-fills every element (padding included). Never shrinks the capacity, so
  // a buffer reused for same-or-smaller shapes does not allocate. K, n >= 0.
  void Resize(int64_t K, int64_t n);
  // Sets the shape and zero-fills only the padding (columns n..n_stride−1 of every row pair and the
  // missing partner of an odd last row), for a caller that then sets every element k < K, j < n.
  void ReshapeForFill(int64_t K, int64_t n);

  int64_t pairs() const { return groups(); }  // Kp, the number of row pairs

  void Set(int64_t k, int64_t j, int16_t v) { Cell(Index(k, j)) = v; }
  int16_t Get(int64_t k, int64_t j) const { return Cell(Index(k, j)); }

  // Row pair kp in [0, pairs()): 2·n_stride int16.
  int16_t* PairRow(int64_t kp) { return GroupRow(kp); }
  const int16_t* PairRow(int64_t kp) const { return GroupRow(kp); }

  using InterleavedCodes::data;
  int16_t* data() { return mutable_data(); }

 private:
  size_t Index(int64_t k, int64_t j) const { return CellOffset(k, j) + static_cast<size_t>(k % 2); }
};

// Resizes `out` to (x.K, x.n) and copies the view x (sim/input_codes.h) into it; row-major views
// (j_stride = 1, what im2col writes) take a loop that interleaves two rows at a time.
void FillPairedCodes(const InputCodes& x, PairedCodes& out);
// The same for a vector-major [K, n] array (vector j at x + j·K).
void FillPairedCodes(const int16_t* x, int64_t K, int64_t n, PairedCodes& out);

}  // namespace cimsim
