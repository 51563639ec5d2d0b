// gemm_contract.h — the call contract IntGemm (sim/int_gemm.h) and Int8Gemm (sim/int8_gemm.h) share,
// for their .cc files: shape checks, the shapes with nothing to multiply, and the plain-loop oracle.
//
//     y[o, j] = Σ_{k<K} w[o, k] · x[k, j]      o < N, j < n;  y row-major with ldy >= n
//
// Only y[o, j] for j < n is written. N = 0 or n = 0: nothing is written (y may be null); K = 0: every
// y[o, j] is the empty sum 0. The oracle sums in int64 and stores int32 (exact under each kernel's
// documented bound K·max|w|·max|x| < 2^31).
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace cimsim {

// Throws std::invalid_argument naming fn when x_K != w_K or ldy < x_n.
inline void CheckGemmShapes(const char* fn, int64_t w_K, int64_t x_K, int64_t x_n, int64_t ldy) {
  if (x_K != w_K) {
    throw std::invalid_argument(std::string(fn) + ": x.K() = " + std::to_string(x_K) +
                                " but the weights have K = " + std::to_string(w_K));
  }
  if (ldy < x_n) {
    throw std::invalid_argument(std::string(fn) + ": ldy = " + std::to_string(ldy) + " must be >= n = " +
                                std::to_string(x_n));
  }
}

// Handles the shapes with nothing to multiply (N = 0, n = 0, or K = 0, where x holds no storage):
// writes what the contract says and returns true; returns false, writing nothing, otherwise.
inline bool GemmEmptyShape(int64_t N, int64_t K, int64_t n, int32_t* y, int64_t ldy) {
  if (N == 0 || n == 0) return true;
  if (K != 0) return false;
  for (int64_t o = 0; o < N; ++o) std::fill(y + o * ldy, y + o * ldy + n, 0);
  return true;
}

// The oracle: three plain loops over w [N, K] int16 row-major and codes x with x.Get(k, j)
// (PairedCodes, QuadCodes). fn names the caller in the shape check.
template <class Codes>
void GemmReferenceLoops(const char* fn, const int16_t* w, int64_t N, int64_t K, const Codes& x, int32_t* y,
                        int64_t ldy) {
  CheckGemmShapes(fn, K, x.K(), x.n(), ldy);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < x.n(); ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += int64_t{w[o * K + k]} * x.Get(k, j);
      y[o * ldy + j] = static_cast<int32_t>(sum);
    }
  }
}

}  // namespace cimsim
