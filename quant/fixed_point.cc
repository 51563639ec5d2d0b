#include "quant/fixed_point.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include "quant/requantize_lanes.h"

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
  // The vector bodies: quant/requantize_lanes.h (the arithmetic once, over each ISA's lanes).
#if defined(__AVX512F__)
  requantize_lanes::RequantizeRowsWith<requantize_lanes::Avx512Lanes>(acc, rows, width, acc_pitch, bias, m, lo, hi,
                                                                     out, out_pitch);
#elif defined(__AVX2__)
  requantize_lanes::RequantizeRowsWith<requantize_lanes::Avx2Lanes>(acc, rows, width, acc_pitch, bias, m, lo, hi, out,
                                                                   out_pitch);
#else
  // Saturating acc + bias with one shared bias: clamp acc to the range where the sum fits, then add.
  const int32_t acc_lo = bias < 0 ? kInt32Min - bias : kInt32Min;
  const int32_t acc_hi = bias > 0 ? kInt32Max - bias : kInt32Max;
  const int left = m.LeftShift();
  const int right = m.RightShift();
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
