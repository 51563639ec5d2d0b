// int16_gemm_peak.h — the machine's exact int16 GEMM peak as the benchmarks measure it: cimsim's
// int16×int16→int32 GEMM (sim/int_gemm.h, `vpdpwssd` with AVX-512 VNNI) on a 1024 × 1024 weight matrix
// and 1024 input columns (weights uniform in [−127, 127], codes in [0, 255], seed 3), each of `threads`
// workers multiplying its own block of 1024 / threads columns. One Run() is 2·1024³ integer operations
// (a multiply and an add per MAC).
#pragma once

#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "sim/int_gemm.h"
#include "sim/paired_codes.h"

namespace cimsim::bench {

class Int16GemmPeak {
 public:
  static constexpr int64_t kSize = 1024;

  explicit Int16GemmPeak(int threads) : threads_(threads), cols_(kSize / threads) {
    Rng rng(3);
    std::vector<int16_t> w(static_cast<size_t>(kSize * kSize));
    for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
    weights_ = PackedWeights(w.data(), kSize, kSize);
    x_.resize(static_cast<size_t>(threads));
    y_.resize(static_cast<size_t>(threads));
    for (int t = 0; t < threads; ++t) {
      x_[static_cast<size_t>(t)].Resize(kSize, cols_);
      for (int64_t k = 0; k < kSize; ++k)
        for (int64_t j = 0; j < cols_; ++j) x_[static_cast<size_t>(t)].Set(k, j, static_cast<int16_t>(rng.Below(256)));
      y_[static_cast<size_t>(t)].resize(static_cast<size_t>(kSize * cols_));
    }
  }

  void Run(ThreadPool& pool) {
    pool.ParallelFor(threads_, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
      for (std::ptrdiff_t t = begin; t < end; ++t)
        IntGemm(weights_, x_[static_cast<size_t>(t)], y_[static_cast<size_t>(t)].data(), cols_);
    });
  }
  const int32_t* output() const { return y_[0].data(); }
  // Integer operations of one Run().
  double Ops() const { return 2.0 * kSize * kSize * static_cast<double>(cols_ * threads_); }

 private:
  int threads_;
  int64_t cols_;
  PackedWeights weights_;
  std::vector<PairedCodes> x_;
  std::vector<std::vector<int32_t>> y_;
};

}  // namespace cimsim::bench
