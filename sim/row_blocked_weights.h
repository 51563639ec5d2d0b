// row_blocked_weights.h — the storage shared by the GEMM weight layouts PackedWeights
// (sim/int_gemm.h) and PackedWeights8 (sim/int8_gemm.h): a weight matrix [N, K] repacked as int32
// lanes of kCodesPerLane consecutive codes, in blocks of kRowBlock rows.
//
// With G = ⌈K/kCodesPerLane⌉ lanes per row (codes past K are 0), lane (o, g) holds
// w[o, g·kCodesPerLane .. g·kCodesPerLane + kCodesPerLane − 1] and sits at
//     ((o / kRowBlock) · G + g) · kRowBlock + o % kRowBlock,
// so one micro-kernel step over g reads kRowBlock consecutive lanes, one per row of a block; rows past
// N (up to the next multiple of kRowBlock) are zero. PackedWeights: 2 int16 codes per lane (the
// `vpmaddwd`/`vpdpwssd` pair); PackedWeights8: 4 int8 codes per lane (the `vpdpbusd` quad). How the
// codes sit inside a lane is the derived layout's business.
//
// The buffer never shrinks: a shape change only grows it, so a buffer reused for same-or-smaller
// shapes does not allocate.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace cimsim {

template <int64_t kCodesPerLane>
class RowBlockedWeights {
 public:
  static constexpr int64_t kRowBlock = 8;

  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  const int32_t* data() const { return lanes_.data(); }
  // Where lane (o, g) lives (the layout above).
  int64_t Index(int64_t o, int64_t g) const { return ((o / kRowBlock) * lanes() + g) * kRowBlock + o % kRowBlock; }

 protected:
  int64_t lanes() const { return (K_ + kCodesPerLane - 1) / kCodesPerLane; }  // G
  int32_t Lane(int64_t o, int64_t g) const { return lanes_[static_cast<size_t>(Index(o, g))]; }
  void SetLane(int64_t o, int64_t g, int32_t lane) { lanes_[static_cast<size_t>(Index(o, g))] = lane; }
  int32_t* mutable_data() { return lanes_.data(); }

  // Checks N, K >= 0 (std::invalid_argument naming `what`), sets the shape, grows (never shrinks)
  // the buffer and zero-fills every lane in use, padding included.
  void SetShapeZeroed(int64_t N, int64_t K, const char* what) {
    if (N < 0 || K < 0) {
      throw std::invalid_argument(std::string(what) + ": N = " + std::to_string(N) + ", K = " + std::to_string(K) +
                                  "; both must be >= 0");
    }
    N_ = N;
    K_ = K;
    const auto count = static_cast<size_t>((N + kRowBlock - 1) / kRowBlock * lanes() * kRowBlock);
    if (lanes_.size() < count) lanes_.resize(count);
    std::fill(lanes_.begin(), lanes_.begin() + static_cast<std::ptrdiff_t>(count), 0);
  }

 private:
  int64_t N_ = 0, K_ = 0;
  std::vector<int32_t> lanes_;
};

}  // namespace cimsim
