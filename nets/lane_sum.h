// lane_sum.h — float64 sums in a fixed order that vectorizes: Σ_i f(i) over [0, n) accumulated in
// kSumLanes = 32 interleaved partial sums (lane l takes i ≡ l mod 32 of the full blocks, lane 0 the
// remainder), then the lanes added in order. Four vectors of 8 doubles, so four add chains hide the
// add latency (a single chain made these passes latency-bound). The order depends on n only, so the
// result depends only on the data — not on the thread count or the caller's batching.
#pragma once

#include <cstdint>
#include <utility>

namespace cimsim {

inline constexpr int64_t kSumLanes = 32;

// f may also write (e.g. a scaled copy of the element it reads): it is called once per i.
template <typename F>
double SumD(int64_t n, F f) {
  double lanes[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int64_t l = 0; l < kSumLanes; ++l) lanes[l] += f(i + l);
  }
  for (; i < n; ++i) lanes[0] += f(i);
  double sum = 0.0;
  for (double l : lanes) sum += l;
  return sum;
}

// The same for two sums in one pass over the data: {Σ f(i), Σ h(i)}, each in SumD's order.
template <typename F, typename H>
std::pair<double, double> SumD2(int64_t n, F f, H h) {
  double lanes_f[kSumLanes] = {}, lanes_h[kSumLanes] = {};
  int64_t i = 0;
  for (; i + kSumLanes <= n; i += kSumLanes) {
    for (int64_t l = 0; l < kSumLanes; ++l) {
      lanes_f[l] += f(i + l);
      lanes_h[l] += h(i + l);
    }
  }
  for (; i < n; ++i) {
    lanes_f[0] += f(i);
    lanes_h[0] += h(i);
  }
  double sum_f = 0.0, sum_h = 0.0;
  for (double l : lanes_f) sum_f += l;
  for (double l : lanes_h) sum_h += l;
  return {sum_f, sum_h};
}

}  // namespace cimsim
