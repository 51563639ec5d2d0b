#include "quant/fixed_point.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

constexpr int32_t kInt32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kTwoPow30 = int64_t{1} << 30;
constexpr int64_t kTwoPow31 = int64_t{1} << 31;

int32_t SaturateToInt32(int64_t v) { return static_cast<int32_t>(std::clamp<int64_t>(v, kInt32Min, kInt32Max)); }

// x · 2^left saturated to int32 (a multiplication, so no shift of a negative value).
int32_t SaturatingShiftLeft(int32_t x, int left) { return SaturateToInt32(int64_t{x} * (int64_t{1} << left)); }

// ----- the slow reference, each step written out -----

// floor(n / d) for d > 0.
int64_t FloorDiv(int64_t n, int64_t d) {
  int64_t q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}

// a·b / 2^31 rounded to nearest, ties toward +∞ (= floor(a·b / 2^31 + 1/2)), INT32_MIN² saturated.
int32_t ReferenceHighMul(int32_t a, int32_t b) {
  if (a == kInt32Min && b == kInt32Min) return kInt32Max;
  const int64_t product = int64_t{a} * int64_t{b};   // |a·b| <= 2^62: exact
  return static_cast<int32_t>(FloorDiv(product + kTwoPow30, kTwoPow31));
}

// x / 2^e rounded to nearest, ties away from zero: round the magnitude half up, restore the sign.
int32_t ReferenceDivideByPOT(int32_t x, int e) {
  if (e == 0) return x;
  const int64_t magnitude = x < 0 ? -int64_t{x} : int64_t{x};
  const int64_t divisor = int64_t{1} << e;
  const int64_t rounded = (magnitude + divisor / 2) / divisor;
  return static_cast<int32_t>(x < 0 ? -rounded : rounded);
}

std::string DoubleString(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b) {
  if (a == b && a == kInt32Min) return kInt32Max;
  const int64_t ab = int64_t{a} * int64_t{b};
  const int64_t nudge = ab >= 0 ? kTwoPow30 : 1 - kTwoPow30;
  return static_cast<int32_t>((ab + nudge) / kTwoPow31);   // C++ division truncates toward zero
}

int32_t RoundingDivideByPOT(int32_t x, int exponent) {
  assert(exponent >= 0 && exponent <= 31);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;                         // x − 2^e·floor(x / 2^e), in [0, 2^e)
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);    // a tie rounds up only for x >= 0
  return (x >> exponent) + (remainder > threshold ? 1 : 0);  // x >> e = floor(x / 2^e) (C++20)
}

void FixedPointMultiplier::Validate() const {
  if (multiplier != 0 && multiplier < (int32_t{1} << 30)) {
    throw std::invalid_argument("FixedPointMultiplier multiplier = " + std::to_string(multiplier) +
                                ": must be 0 or in [2^30, 2^31)");
  }
  if (shift < kMinFixedPointShift || shift > kMaxFixedPointShift) {
    throw std::invalid_argument("FixedPointMultiplier shift = " + std::to_string(shift) + ": must be in [" +
                                std::to_string(kMinFixedPointShift) + ", " + std::to_string(kMaxFixedPointShift) +
                                "]");
  }
  if (headroom < 0 || LeftShift() > 31 || RightShift() > 31) {
    throw std::invalid_argument("FixedPointMultiplier headroom = " + std::to_string(headroom) +
                                ": must be >= 0 with total left and right shifts <= 31 (shift " +
                                std::to_string(shift) + ")");
  }
}

FixedPointMultiplier WithHeadroom(FixedPointMultiplier m, int64_t max_abs_input) {
  if (max_abs_input < 0) throw std::invalid_argument("WithHeadroom max_abs_input must be >= 0");
  m.headroom = 0;
  while (m.RightShift() < 31 && m.LeftShift() < 31 && (max_abs_input << (m.LeftShift() + 1)) < (int64_t{1} << 31))
    ++m.headroom;
  return m;
}

double FixedPointMultiplier::Real() const { return std::ldexp(static_cast<double>(multiplier), shift - 31); }

FixedPointMultiplier QuantizeMultiplier(double real) {
  // Largest accepted real, exclusive: at e = 30 a mantissa f·2^31 >= 2^31 − 1/2 rounds to 2^31.
  const double limit = std::ldexp(1.0, 30) - 0.25;
  if (!std::isfinite(real) || real < 0 || real >= limit) {
    throw std::invalid_argument("QuantizeMultiplier real = " + DoubleString(real) +
                                ": must be finite and in [0, 2^30 - 2^-2)");
  }
  if (real == 0) return {};
  int e = 0;
  const double f = std::frexp(real, &e);   // real = f · 2^e, f in [0.5, 1)
  if (e < kMinFixedPointShift) return {};  // real < 2^−32: every product rounds to 0
  int64_t mantissa = std::llround(std::ldexp(f, 31));
  if (mantissa == kTwoPow31) {
    mantissa = kTwoPow30;
    ++e;
  }
  return {static_cast<int32_t>(mantissa), e};
}

int32_t MultiplyByQuantizedMultiplier(int32_t x, FixedPointMultiplier m) {
  assert(m.multiplier >= 0 && m.shift >= kMinFixedPointShift && m.shift <= kMaxFixedPointShift);
  const int left = m.LeftShift();
  const int right = m.RightShift();
  return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(SaturatingShiftLeft(x, left), m.multiplier), right);
}

int32_t MultiplyByQuantizedMultiplierReference(int32_t x, FixedPointMultiplier m) {
  // Step 1: x · 2^left exactly in int64 (|x| · 2^30 < 2^62), one doubling at a time, then saturate.
  int64_t shifted = x;
  for (int i = 0; i < m.LeftShift(); ++i) shifted *= 2;
  const int32_t x1 = SaturateToInt32(shifted);
  // Step 2: x1 · M / 2^31, rounded to nearest with ties toward +∞.
  const int32_t x2 = ReferenceHighMul(x1, m.multiplier);
  // Step 3: x2 / 2^right, rounded to nearest with ties away from zero.
  return ReferenceDivideByPOT(x2, m.RightShift());
}

void RequantizeRowReference(const int32_t* acc, int64_t n, int32_t bias, FixedPointMultiplier m, int32_t lo,
                            int32_t hi, int32_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t sum = SaturateToInt32(int64_t{acc[i]} + int64_t{bias});
    const int32_t v = MultiplyByQuantizedMultiplierReference(sum, m);
    out[i] = v < lo ? lo : (v > hi ? hi : v);
  }
}

void RequantizeRow(const int32_t* acc, int64_t n, int32_t bias, FixedPointMultiplier m, int32_t lo, int32_t hi,
                   int32_t* out) {
  RequantizeRows(acc, 1, n, n, bias, m, lo, hi, out, n);
}

void RequantizeRows(const int32_t* acc, int64_t rows, int64_t width, int64_t acc_pitch, int32_t bias,
                    FixedPointMultiplier m, int32_t lo, int32_t hi, int32_t* out, int64_t out_pitch) {
  assert(lo <= hi);
  assert(m.multiplier >= 0 && m.shift >= kMinFixedPointShift && m.shift <= kMaxFixedPointShift);
  // Saturating acc + bias with one shared bias: clamp acc to the range where the sum fits, then add.
  const int32_t acc_lo = bias < 0 ? kInt32Min - bias : kInt32Min;
  const int32_t acc_hi = bias > 0 ? kInt32Max - bias : kInt32Max;
  const int left = m.LeftShift();
  const int right = m.RightShift();
#if defined(__AVX512F__)
  const __m512i v_acc_lo = _mm512_set1_epi32(acc_lo), v_acc_hi = _mm512_set1_epi32(acc_hi);
  const __m512i v_bias = _mm512_set1_epi32(bias);
  // Saturating left shift: x > INT32_MAX >> left overflows upward, x < INT32_MIN >> left downward.
  const __m512i v_shl_hi = _mm512_set1_epi32(kInt32Max >> left), v_shl_lo = _mm512_set1_epi32(kInt32Min >> left);
  const __m512i v_int_max = _mm512_set1_epi32(kInt32Max), v_int_min = _mm512_set1_epi32(kInt32Min);
  const __m128i v_left = _mm_cvtsi32_si128(left);
  // High multiply: _mm512_mul_epi32 multiplies the low (signed) 32 bits of each 64-bit lane. For
  // the valid case (multiplier >= 0, so never INT32_MIN²) the gemmlowp nudge-and-truncate equals
  // floor((x·M + 2^30) / 2^31), i.e. bits 31..62 of x·M + 2^30.
  const __m512i v_mult = _mm512_set1_epi64(m.multiplier);
  const __m512i v_nudge = _mm512_set1_epi64(kTwoPow30);
  // Rounding right shift, as RoundingDivideByPOT.
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  const __m512i v_mask = _mm512_set1_epi32(mask), v_half = _mm512_set1_epi32(mask >> 1);
  const __m512i v_one = _mm512_set1_epi32(1);
  const __m128i v_right = _mm_cvtsi32_si128(right);
  const __m512i v_lo = _mm512_set1_epi32(lo), v_hi = _mm512_set1_epi32(hi);
  // 16 lanes at a time; a row's tail is the same arithmetic on masked lanes (the others load 0 and
  // are not stored), so short rows (8 codes) cost one vector step.
  auto lanes = [&](__m512i x) {
    x = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(x, v_acc_lo), v_acc_hi), v_bias);
    if (left > 0) {
      const __mmask16 over = _mm512_cmpgt_epi32_mask(x, v_shl_hi);
      const __mmask16 under = _mm512_cmplt_epi32_mask(x, v_shl_lo);
      x = _mm512_sll_epi32(x, v_left);
      x = _mm512_mask_mov_epi32(x, over, v_int_max);
      x = _mm512_mask_mov_epi32(x, under, v_int_min);
    }
    const __m512i even = _mm512_add_epi64(_mm512_mul_epi32(x, v_mult), v_nudge);
    const __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(x, 32), v_mult), v_nudge);
    // Bits 31..62 into the low half (even lanes) and into the high half (odd lanes).
    __m512i y = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
    if (right > 0) {
      const __m512i remainder = _mm512_and_si512(y, v_mask);
      const __m512i threshold = _mm512_add_epi32(v_half, _mm512_srli_epi32(y, 31));
      const __mmask16 up = _mm512_cmpgt_epi32_mask(remainder, threshold);
      y = _mm512_sra_epi32(y, v_right);
      y = _mm512_mask_add_epi32(y, up, y, v_one);
    }
    return _mm512_min_epi32(_mm512_max_epi32(y, v_lo), v_hi);
  };
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * acc_pitch;
    int32_t* o = out + r * out_pitch;
    int64_t i = 0;
    for (; i + 16 <= width; i += 16) _mm512_storeu_si512(o + i, lanes(_mm512_loadu_si512(a + i)));
    if (i < width) {
      const auto tail = static_cast<__mmask16>((1u << (width - i)) - 1u);
      _mm512_mask_storeu_epi32(o + i, tail, lanes(_mm512_maskz_loadu_epi32(tail, a + i)));
    }
  }
#elif defined(__AVX2__)
  // The same arithmetic on 8 lanes, with compare vectors for the masks (−1 where true).
  const __m256i v_acc_lo = _mm256_set1_epi32(acc_lo), v_acc_hi = _mm256_set1_epi32(acc_hi);
  const __m256i v_bias = _mm256_set1_epi32(bias);
  const __m256i v_shl_hi = _mm256_set1_epi32(kInt32Max >> left), v_shl_lo = _mm256_set1_epi32(kInt32Min >> left);
  const __m256i v_int_max = _mm256_set1_epi32(kInt32Max), v_int_min = _mm256_set1_epi32(kInt32Min);
  const __m128i v_left = _mm_cvtsi32_si128(left);
  const __m256i v_mult = _mm256_set1_epi64x(m.multiplier);
  const __m256i v_nudge = _mm256_set1_epi64x(kTwoPow30);
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  const __m256i v_mask = _mm256_set1_epi32(mask), v_half = _mm256_set1_epi32(mask >> 1);
  const __m128i v_right = _mm_cvtsi32_si128(right);
  const __m256i v_lo = _mm256_set1_epi32(lo), v_hi = _mm256_set1_epi32(hi);
  const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  auto lanes = [&](__m256i x) {
    x = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(x, v_acc_lo), v_acc_hi), v_bias);
    if (left > 0) {
      const __m256i over = _mm256_cmpgt_epi32(x, v_shl_hi);
      const __m256i under = _mm256_cmpgt_epi32(v_shl_lo, x);
      x = _mm256_sll_epi32(x, v_left);
      x = _mm256_blendv_epi8(x, v_int_max, over);
      x = _mm256_blendv_epi8(x, v_int_min, under);
    }
    const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(x, v_mult), v_nudge);
    const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), v_mult), v_nudge);
    __m256i y = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
    if (right > 0) {
      const __m256i remainder = _mm256_and_si256(y, v_mask);
      const __m256i threshold = _mm256_add_epi32(v_half, _mm256_srli_epi32(y, 31));
      const __m256i up = _mm256_cmpgt_epi32(remainder, threshold);
      y = _mm256_sub_epi32(_mm256_sra_epi32(y, v_right), up);  // up = −1: one more
    }
    return _mm256_min_epi32(_mm256_max_epi32(y, v_lo), v_hi);
  };
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * acc_pitch;
    int32_t* o = out + r * out_pitch;
    int64_t i = 0;
    for (; i + 8 <= width; i += 8)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i),
                          lanes(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i))));
    if (i < width) {
      const __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(width - i)), lane_index);
      _mm256_maskstore_epi32(o + i, tail, lanes(_mm256_maskload_epi32(a + i, tail)));
    }
  }
#else
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * acc_pitch;
    int32_t* o = out + r * out_pitch;
    for (int64_t i = 0; i < width; ++i) {
      const int32_t sum = std::clamp(a[i], acc_lo, acc_hi) + bias;
      const int32_t v = RoundingDivideByPOT(
          SaturatingRoundingDoublingHighMul(SaturatingShiftLeft(sum, left), m.multiplier), right);
      o[i] = std::clamp(v, lo, hi);
    }
  }
#endif
}

}  // namespace cimsim
