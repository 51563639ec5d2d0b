#include "quant/lsq.h"

#include "common/rounding.h"
#include "quant/kernel_checks.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#if defined(__AVX2__) && !defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

constexpr int kMinBits = 2, kMaxBits = 8;
constexpr int kLanes = 16;   // double accumulators of the fast step-gradient sum

using kernel_checks::CheckFinite;
using kernel_checks::NonFinite;
using kernel_checks::Num;
using kernel_checks::ThrowNonFinite;

void CheckSize(const char* fn, const char* name, size_t got, size_t want) {
  kernel_checks::CheckSize(fn, name, got, want, "v");
}

void CheckRange(const char* fn, LsqRange r) {
  if (r.q_p < 1 || r.q_p > 255 || r.q_n < 0 || r.q_n > r.q_p + 1) {
    throw std::invalid_argument(std::string(fn) + " range {q_n = " + std::to_string(r.q_n) +
                                ", q_p = " + std::to_string(r.q_p) +
                                "}: must satisfy 0 <= q_n <= q_p + 1, 1 <= q_p <= 255 (see LsqCodeRange)");
  }
}

void CheckStep(const char* fn, double s) {
  if (!std::isfinite(s) || !(s > 0)) {
    throw std::invalid_argument(std::string(fn) + " s = " + Num(s) + ": the step must be finite and > 0");
  }
}


// The float32 quotient the decisions are taken on, from double v and s: v/s in double, clamped to
// [−q_n − 1, q_p + 1] (which keeps every decision and makes the conversion defined), rounded to float.
inline float DecisionQuotient(double x, LsqRange r) {
  return static_cast<float>(std::clamp(x, -r.q_n - 1.0, r.q_p + 1.0));
}

}  // namespace

LsqRange LsqCodeRange(int bits, bool is_signed) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw std::invalid_argument("LsqCodeRange bits = " + std::to_string(bits) + ": must be in [" +
                                std::to_string(kMinBits) + ", " + std::to_string(kMaxBits) + "]");
  }
  if (is_signed) {
    const int q = (1 << (bits - 1)) - 1;
    return {q, q};
  }
  return {0, (1 << bits) - 1};
}

double LsqGradScale(int64_t n, int q_p) {
  if (n < 1) throw std::invalid_argument("LsqGradScale n = " + std::to_string(n) + ": must be >= 1");
  if (q_p < 1) throw std::invalid_argument("LsqGradScale q_p = " + std::to_string(q_p) + ": must be >= 1");
  return 1.0 / std::sqrt(static_cast<double>(n) * q_p);
}

double LsqInitStep(std::span<const float> values, int q_p) {
  if (q_p < 1) throw std::invalid_argument("LsqInitStep q_p = " + std::to_string(q_p) + ": must be >= 1");
  if (values.empty()) throw std::invalid_argument("LsqInitStep values: empty (need at least one value)");
  CheckFinite("LsqInitStep", "values", values);
  double sum = 0;
  for (float x : values) sum += std::fabs(static_cast<double>(x));
  return 2.0 * (sum / static_cast<double>(values.size())) / std::sqrt(static_cast<double>(q_p));
}

// ---- Fast path.

void LsqForward(std::span<const float> v, float s, LsqRange range, std::span<float> out) {
  CheckRange("LsqForward", range);
  CheckStep("LsqForward", s);
  CheckSize("LsqForward", "out", out.size(), v.size());
  const float lo = static_cast<float>(-range.q_n), hi = static_cast<float>(range.q_p);
  const int64_t n = static_cast<int64_t>(v.size());
  const float* vp = v.data();
  float* op = out.data();
  int32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float vi = vp[i];
    bad |= NonFinite(vi);
    // std::min(hi, std::max(lo, ·)) maps NaN to lo (no undefined conversion; NaN is reported below).
    const float x = std::min(hi, std::max(lo, vi / s));
    op[i] = RoundHalfAway(x) * s;
  }
  if (bad) ThrowNonFinite("LsqForward", "v", v);
}

void LsqCodes(std::span<const float> v, float s, LsqRange range, std::span<int16_t> codes) {
  CheckRange("LsqCodes", range);
  CheckStep("LsqCodes", s);
  CheckSize("LsqCodes", "codes", codes.size(), v.size());
  CheckFinite("LsqCodes", "v", v);
  const float lo = static_cast<float>(-range.q_n), hi = static_cast<float>(range.q_p);
  const int64_t n = static_cast<int64_t>(v.size());
  for (int64_t i = 0; i < n; ++i) {
    const float x = std::min(hi, std::max(lo, v[i] / s));
    codes[i] = static_cast<int16_t>(RoundHalfAway(x));
  }
}

namespace {

// One element of the fast backward: writes grad_v, returns grad_out · ∂v̂/∂s (float), sets bad.
inline float LsqBackwardElem(float vi, float gi, float s, float lo, float hi, float& gv, int32_t& bad) {
  bad |= NonFinite(vi) | NonFinite(gi);
  const float x = vi / s;
  const float xc = std::min(hi, std::max(lo, x));
  const bool inside = (x > lo) & (x < hi);
  // Outside, xc is the bound (an integer): round(xc) − 0 = −Q_N or Q_P. Inside: round(x) − x.
  const float term = RoundHalfAway(xc) - (inside ? xc : 0.0f);
  gv = inside ? gi : 0.0f;
  return gi * term;
}

}  // namespace

double LsqBackward(std::span<const float> v, std::span<const float> grad_out, float s, LsqRange range,
                   std::span<float> grad_v) {
  CheckRange("LsqBackward", range);
  CheckStep("LsqBackward", s);
  CheckSize("LsqBackward", "grad_out", grad_out.size(), v.size());
  CheckSize("LsqBackward", "grad_v", grad_v.size(), v.size());
  const float lo = static_cast<float>(-range.q_n), hi = static_cast<float>(range.q_p);
  const int64_t n = static_cast<int64_t>(v.size());
  const float* vp = v.data();
  const float* gp = grad_out.data();
  float* op = grad_v.data();
  double acc[kLanes] = {};
  int32_t bad[kLanes] = {};
  int64_t i = 0;
#if defined(__AVX2__) && !defined(__AVX512F__)
  // GCC vectorizes the loop below for AVX-512 but not for AVX2; this is the same per-lane chains,
  // element by element the operations of LsqBackwardElem (max/min keep the bound on ties as
  // std::max(lo, ·)/std::min(hi, ·) do; the rounding adds copysign(0.49999997, x) and truncates).
  {
    const __m256 vs = _mm256_set1_ps(s), vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    const __m256 half = _mm256_set1_ps(0.49999997f), sign = _mm256_set1_ps(-0.0f);
    const __m256i exp_mask = _mm256_set1_epi32(0x7f800000);
    __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    __m256i any = _mm256_setzero_si256();
    for (; i + kLanes <= n; i += kLanes)
      for (int h = 0; h < 2; ++h) {
        const __m256 vi = _mm256_loadu_ps(vp + i + 8 * h), gi = _mm256_loadu_ps(gp + i + 8 * h);
        const __m256i vb = _mm256_castps_si256(vi), gb = _mm256_castps_si256(gi);
        any = _mm256_or_si256(any, _mm256_cmpeq_epi32(_mm256_and_si256(vb, exp_mask), exp_mask));
        any = _mm256_or_si256(any, _mm256_cmpeq_epi32(_mm256_and_si256(gb, exp_mask), exp_mask));
        const __m256 x = _mm256_div_ps(vi, vs);
        const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, vlo), vhi);
        const __m256 inside = _mm256_and_ps(_mm256_cmp_ps(x, vlo, _CMP_GT_OQ), _mm256_cmp_ps(x, vhi, _CMP_LT_OQ));
        const __m256 bias = _mm256_or_ps(half, _mm256_and_ps(xc, sign));
        const __m256 rounded = _mm256_cvtepi32_ps(_mm256_cvttps_epi32(_mm256_add_ps(xc, bias)));
        const __m256 term = _mm256_sub_ps(rounded, _mm256_and_ps(inside, xc));
        _mm256_storeu_ps(op + i + 8 * h, _mm256_and_ps(inside, gi));
        const __m256 prod = _mm256_mul_ps(gi, term);
        a[2 * h] = _mm256_add_pd(a[2 * h], _mm256_cvtps_pd(_mm256_castps256_ps128(prod)));
        a[2 * h + 1] = _mm256_add_pd(a[2 * h + 1], _mm256_cvtps_pd(_mm256_extractf128_ps(prod, 1)));
      }
    for (int q = 0; q < 4; ++q) _mm256_storeu_pd(acc + 4 * q, a[q]);
    if (!_mm256_testz_si256(any, any)) bad[0] = 1;
  }
#endif
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      acc[j] += static_cast<double>(LsqBackwardElem(vp[i + j], gp[i + j], s, lo, hi, op[i + j], bad[j]));
    }
  }
  for (int j = 0; i < n; ++i, ++j) {
    acc[j] += static_cast<double>(LsqBackwardElem(vp[i], gp[i], s, lo, hi, op[i], bad[j]));
  }
  double sum = 0;
  int32_t any_bad = 0;
  for (int j = 0; j < kLanes; ++j) {
    sum += acc[j];
    any_bad |= bad[j];
  }
  if (any_bad) {
    CheckFinite("LsqBackward", "v", v);
    ThrowNonFinite("LsqBackward", "grad_out", grad_out);
  }
  return sum;
}

// ---- Reference.

void LsqForwardReference(std::span<const double> v, double s, LsqRange range, std::span<double> out) {
  CheckRange("LsqForwardReference", range);
  CheckStep("LsqForwardReference", s);
  CheckSize("LsqForwardReference", "out", out.size(), v.size());
  CheckFinite("LsqForwardReference", "v", v);
  for (size_t i = 0; i < v.size(); ++i) {
    const double x32 = DecisionQuotient(v[i] / s, range);
    const double code = std::round(std::clamp(x32, -static_cast<double>(range.q_n), static_cast<double>(range.q_p)));
    out[i] = code * s;
  }
}

double LsqBackwardReference(std::span<const double> v, std::span<const double> grad_out, double s,
                            LsqRange range, std::span<double> grad_v) {
  CheckRange("LsqBackwardReference", range);
  CheckStep("LsqBackwardReference", s);
  CheckSize("LsqBackwardReference", "grad_out", grad_out.size(), v.size());
  CheckSize("LsqBackwardReference", "grad_v", grad_v.size(), v.size());
  CheckFinite("LsqBackwardReference", "v", v);
  CheckFinite("LsqBackwardReference", "grad_out", grad_out);
  const double q_n = range.q_n, q_p = range.q_p;
  double sum = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const double x = v[i] / s;
    const double x32 = DecisionQuotient(x, range);
    const double g = grad_out[i];
    double ds;
    if (x32 <= -q_n) {
      ds = -q_n;
      grad_v[i] = 0;
    } else if (x32 >= q_p) {
      ds = q_p;
      grad_v[i] = 0;
    } else {
      ds = std::round(x32) - x;
      grad_v[i] = g;
    }
    sum += g * ds;
  }
  return sum;
}

}  // namespace cimsim
