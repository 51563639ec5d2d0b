// gemm_peak.h — the machine's exact integer GEMM peaks as the benchmarks measure them: one of cimsim's
// exact integer GEMM kernels on a 1024 × 1024 weight matrix and 1024 input columns (seed 3: the
// weights first, then each worker's codes), each of `threads` workers multiplying its own block of
// 1024 / threads columns. One Run() is 2·1024³ integer operations (a multiply and an add per MAC).
//   Int16GemmPeak: int16 × int16 → int32 (sim/int_gemm.h, `vpdpwssd` with AVX-512 VNNI), weights
//                  uniform in [−127, 127], codes in [0, 255].
//   Int8GemmPeak:  u8 × s8 → int32 (sim/int8_gemm.h, `vpdpbusd`: 64 multiply-adds per instruction,
//                  twice the int16 kernel's), weights uniform in [−128, 127], codes in [0, 255].
//                  Without AVX-512 VNNI that kernel is a scalar loop (kInt8GemmIsFast false) and
//                  this is no peak.
#pragma once

#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"

namespace cimsim::bench {

// Kernel: the packed weights, the code matrix, the weight range [kLow, kLow + kSpan) and the product.
template <class Kernel>
class GemmPeak {
 public:
  static constexpr int64_t kSize = 1024;

  explicit GemmPeak(int threads) : threads_(threads), cols_(kSize / threads) {
    Rng rng(3);
    std::vector<int16_t> w(static_cast<size_t>(kSize * kSize));
    for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(Kernel::kSpan)) + Kernel::kLow);
    weights_ = typename Kernel::Weights(w.data(), kSize, kSize);
    x_.resize(static_cast<size_t>(threads));
    y_.resize(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      x_[static_cast<size_t>(t)].Resize(kSize, cols_);
      for (int64_t k = 0; k < kSize; ++k)
        for (int64_t j = 0; j < cols_; ++j)
          x_[static_cast<size_t>(t)].Set(k, j, static_cast<typename Kernel::Code>(rng.Below(256)));
      y_[static_cast<size_t>(t)].resize(static_cast<size_t>(kSize * cols_));
    }
  }

  void Run(ThreadPool& pool) {
    pool.ParallelFor(threads_, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
      for (std::ptrdiff_t t = begin; t < end; ++t)
        Kernel::Multiply(weights_, x_[static_cast<size_t>(t)], y_[static_cast<size_t>(t)].data(), cols_);
    });
  }
  const int32_t* output() const { return y_[0].data(); }
  // Integer operations of one Run().
  double Ops() const { return 2.0 * kSize * kSize * static_cast<double>(cols_ * threads_); }

 private:
  int threads_;
  int64_t cols_;
  typename Kernel::Weights weights_;
  std::vector<typename Kernel::Codes> x_;
  std::vector<std::vector<int32_t>> y_;
};

struct Int16Kernel {
  using Weights = PackedWeights;
  using Codes = PairedCodes;
  using Code = int16_t;
  static constexpr uint64_t kSpan = 255;
  static constexpr int kLow = -127;
  static void Multiply(const Weights& w, const Codes& x, int32_t* y, int64_t ldy) { IntGemm(w, x, y, ldy); }
};

struct Int8Kernel {
  using Weights = PackedWeights8;
  using Codes = QuadCodes;
  using Code = uint8_t;
  static constexpr uint64_t kSpan = 256;
  static constexpr int kLow = -128;
  static void Multiply(const Weights& w, const Codes& x, int32_t* y, int64_t ldy) { Int8Gemm(w, x, y, ldy); }
};

using Int16GemmPeak = GemmPeak<Int16Kernel>;
using Int8GemmPeak = GemmPeak<Int8Kernel>;

}  // namespace cimsim::bench
