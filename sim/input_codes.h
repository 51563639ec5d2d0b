// input_codes.h — what every MvmCore multiplies: a plain, read-only view of integer input codes.
//
// n input vectors of K codes each (K = the layer's dot-product depth), a [K, n] matrix with strides:
//     code k of vector j = data[k·k_stride + j·j_stride],   0 <= k < K, 0 <= j < n.
// Two layouts are in use, and cores handle any strides:
//   vector-major  (VectorMajor: j_stride >= K, k_stride = 1): each vector's K codes contiguous — a
//                 linear layer's input, calibration vectors, a wire format;
//   row-major     (RowMajor: k_stride >= n, j_stride = 1): row k holds code k of every vector — what
//                 a convolution's im2col writes (one row per (channel, ky, kx), one column per
//                 output position), and what a GEMM streams best.
// Codes are int16; their range is the core's CodeRange (fixed when the core is built,
// MvmCore::InputRange()): signed image codes such as [−127, 127], unsigned activations such as [0, 15]
// or [0, 255]. The caller promises the codes lie in that range; cores do not re-check them on every
// call (see MvmCore). How a core lays codes out for its own arithmetic (the int16 GEMM's k-pair
// interleaving, a crossbar's bit planes, a wire format) is private to the core.
#pragma once

#include <cstdint>

namespace cimsim {

// The closed range [min, max] of a layer's input codes, within int16.
struct CodeRange {
  int32_t min = 0, max = 0;
  bool Signed() const { return min < 0; }
  bool Contains(int32_t code) const { return code >= min && code <= max; }
  bool operator==(const CodeRange&) const = default;
};

struct InputCodes {
  const int16_t* data = nullptr;
  int64_t K = 0, n = 0;
  int64_t k_stride = 1, j_stride = 0;

  static InputCodes VectorMajor(const int16_t* codes, int64_t K, int64_t n, int64_t ld) {
    return {codes, K, n, 1, ld};
  }
  static InputCodes VectorMajor(const int16_t* codes, int64_t K, int64_t n) { return VectorMajor(codes, K, n, K); }
  static InputCodes RowMajor(const int16_t* codes, int64_t K, int64_t n, int64_t ld) { return {codes, K, n, ld, 1}; }
  static InputCodes RowMajor(const int16_t* codes, int64_t K, int64_t n) { return RowMajor(codes, K, n, n); }

  int16_t operator()(int64_t k, int64_t j) const { return data[k * k_stride + j * j_stride]; }
  // Vectors [j0, j0 + count) as a view of their own.
  InputCodes Columns(int64_t j0, int64_t count) const { return {data + j0 * j_stride, K, count, k_stride, j_stride}; }
};

}  // namespace cimsim
