// int8_gemm_peak.h — the machine's exact u8×s8 GEMM peak as the benchmarks measure it: cimsim's
// u8×s8→int32 GEMM (sim/int8_gemm.h, `vpdpbusd` with AVX-512 VNNI: 64 multiply-adds per instruction,
// twice the int16 kernel's) on a 1024 × 1024 weight matrix (uniform in [−128, 127]) and 1024 input
// columns (codes uniform in [0, 255]), seed 3, each of `threads` workers multiplying its own block of
// 1024 / threads columns. One Run() is 2·1024³ integer operations (a multiply and an add per MAC).
// Without AVX-512 VNNI the kernel is a scalar loop (kInt8GemmIsFast false) and this is no peak.
#pragma once

#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "sim/int8_gemm.h"
#include "sim/quad_codes.h"

namespace cimsim::bench {

class Int8GemmPeak {
 public:
  static constexpr int64_t kSize = 1024;

  explicit Int8GemmPeak(int threads) : threads_(threads), cols_(kSize / threads) {
    Rng rng(3);
    std::vector<int16_t> w(static_cast<size_t>(kSize * kSize));
    for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(256)) - 128);
    weights_ = PackedWeights8(w.data(), kSize, kSize);
    x_.resize(static_cast<size_t>(threads));
    y_.resize(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      x_[static_cast<size_t>(t)].Resize(kSize, cols_);
      for (int64_t k = 0; k < kSize; ++k)
        for (int64_t j = 0; j < cols_; ++j) x_[static_cast<size_t>(t)].Set(k, j, static_cast<uint8_t>(rng.Below(256)));
      y_[static_cast<size_t>(t)].resize(static_cast<size_t>(kSize * cols_));
    }
  }

  void Run(ThreadPool& pool) {
    pool.ParallelFor(threads_, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
      for (std::ptrdiff_t t = begin; t < end; ++t)
        Int8Gemm(weights_, x_[static_cast<size_t>(t)], y_[static_cast<size_t>(t)].data(), cols_);
    });
  }
  const int32_t* output() const { return y_[0].data(); }
  // Integer operations of one Run().
  double Ops() const { return 2.0 * kSize * kSize * static_cast<double>(cols_ * threads_); }

 private:
  int threads_;
  int64_t cols_;
  PackedWeights8 weights_;
  std::vector<QuadCodes> x_;
  std::vector<std::vector<int32_t>> y_;
};

}  // namespace cimsim::bench
