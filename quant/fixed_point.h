// fixed_point.h — gemmlowp / TensorFlow Lite style fixed-point requantization.
//
// A real multiplier r >= 0 is stored as an int32 mantissa M and a shift s:
//     r ≈ M · 2^(s − 31),   M in [2^30, 2^31) (a Q0.31 number in [0.5, 1)) or M = 0,   s in [−31, 30].
// An int32 x is multiplied by r with integers only, in three steps (TFLite MultiplyByQuantizedMultiplier):
//   1. x1 = saturate(x · 2^max(s, 0))                       left shift, saturating to int32
//   2. x2 = SaturatingRoundingDoublingHighMul(x1, M)       x1 · M / 2^31 rounded to nearest
//   3. x3 = RoundingDivideByPOT(x2, max(−s, 0))            x2 / 2^(−s) rounded to nearest
// The result is rounded twice, as in TFLite, and is bit-identical to what TFLite/gemmlowp compute:
// when nothing saturates, |x3 − x·M·2^(s−31)| <= 1/2 for s >= 0 and <= 1/2 + 2^(s−1) < 1 for s < 0.
//
// Headroom (cimsim's extension, off by default): the double rounding above costs precision when x is
// small — x2 keeps only −s fractional bits of the result, so a result within 2^(s−1) of a tie can
// round the wrong way (with s = −8, one code in a few hundred differs from round(x·r)). When the
// caller knows |x| <= X, it can shift x left by h more bits and right by h more bits:
//   1'. x1 = saturate(x · 2^(max(s,0) + h)),  3'. x3 = RoundingDivideByPOT(x2, max(−s,0) + h),
// which is still exactly the three steps of the gemmlowp scheme (a left shift, the high multiply, a
// rounding right shift), with an error bound of 1/2 + 2^(s−h−1) instead. WithHeadroom picks the
// largest h with X · 2^(max(s,0)+h) < 2^31 (nothing saturates) and max(−s,0) + h <= 31.
//
// Rounding conventions (they differ, as in gemmlowp, and both are part of the contract):
//  - SaturatingRoundingDoublingHighMul(a, b) = high 32 bits of 2·a·b with rounding: a·b (int64) plus
//    a nudge of 2^30 (a·b >= 0) or 1 − 2^30 (a·b < 0), divided by 2^31 truncating toward zero. That
//    is a·b / 2^31 rounded to nearest with ties toward +∞ (e.g. a·b/2^31 = −0.5 → 0, +0.5 → 1,
//    −1.5 → −1), the same as ARM's SQRDMULH. The one overflow, a = b = INT32_MIN (2·a·b = 2^63),
//    saturates to INT32_MAX.
//  - RoundingDivideByPOT(x, e) = x / 2^e rounded to nearest, ties away from zero (5/2 → 3, −5/2 → −3).
//
// The output stage of an integer layer, RequantizeRow, maps int32 accumulators to the next layer's
// codes: out[i] = clamp(MultiplyByQuantizedMultiplier(sat(acc[i] + bias), m), lo, hi), where
// sat(acc + bias) is the int32 sum saturated to [INT32_MIN, INT32_MAX] (never wraps; a sum that
// needs saturating means the layer's accumulator range was planned wrongly, but both paths agree).
// The fast path uses AVX-512 when compiled with it (16 lanes, a row's tail on masked lanes), else AVX2
// (8 lanes, likewise), else a scalar loop, and is bit-identical to RequantizeRowReference for every input.
//
// Preconditions of the run-time functions (checked by assert in debug builds only, as hot loops
// are): m.multiplier >= 0, m.shift in [−31, 30], RoundingDivideByPOT exponent in [0, 31], lo <= hi.
// FixedPointMultiplier::Validate() checks a multiplier once, where it is made or loaded.
#pragma once

#include <cstdint>

namespace cimsim {

// The smallest and largest shift a FixedPointMultiplier may carry.
constexpr int kMinFixedPointShift = -31;
constexpr int kMaxFixedPointShift = 30;

int32_t SaturatingRoundingDoublingHighMul(int32_t a, int32_t b);

// x / 2^exponent rounded to nearest, ties away from zero; exponent in [0, 31].
int32_t RoundingDivideByPOT(int32_t x, int exponent);

// real ≈ multiplier · 2^(shift − 31). shift > 0: left shift before the high multiply (reals >= 1);
// shift < 0: rounding right shift after it (reals < 0.5).
struct FixedPointMultiplier {
  int32_t multiplier = 0;
  int shift = 0;
  int headroom = 0;  // h: extra left shift before and right shift after the high multiply (see above)

  int LeftShift() const { return (shift > 0 ? shift : 0) + headroom; }
  int RightShift() const { return (shift > 0 ? 0 : -shift) + headroom; }
  // Throws std::invalid_argument naming the field unless multiplier is 0 or in [2^30, 2^31),
  // shift is in [−31, 30], headroom >= 0, LeftShift() <= 31 and RightShift() <= 31.
  void Validate() const;
  // multiplier · 2^(shift − 31) as a double (exact).
  double Real() const;
};

// The multiplier nearest to `real`: frexp gives real = f · 2^e with f in [0.5, 1); multiplier =
// round(f · 2^31) (ties away from zero) and shift = e; a mantissa that rounds up to 2^31 becomes
// 2^30 with shift e + 1. Error: |real − multiplier·2^(shift−31)| <= 2^(shift−32), i.e. relative 2^−31.
// real = 0, and every real below 2^−32 (where shift would go below −31), gives {0, 0}: then
// |x · real| < 2^31 · 2^−32 = 1/2 for every int32 x, so the exact product rounds to 0 anyway.
// Accepts finite reals in [0, 2^30 − 2^−2); from 2^30 − 2^−2 on, the mantissa rounds to 2^31 at
// e = 30 and the shift would be 31. Throws std::invalid_argument naming the value for negative,
// NaN, infinite or too large reals.
FixedPointMultiplier QuantizeMultiplier(double real);

// m with the largest headroom for inputs |x| <= max_abs_input (>= 0), see "Headroom" above.
FixedPointMultiplier WithHeadroom(FixedPointMultiplier m, int64_t max_abs_input);

// Steps 1–3 above (the fast, gemmlowp-style formulation).
int32_t MultiplyByQuantizedMultiplier(int32_t x, FixedPointMultiplier m);

// The same result computed the slow, obvious way in int64 (exact shift, product, floor division
// with an explicit tie rule, division of the magnitude) — the oracle for the fast versions.
int32_t MultiplyByQuantizedMultiplierReference(int32_t x, FixedPointMultiplier m);

// out[i] = clamp(MultiplyByQuantizedMultiplier(sat(acc[i] + bias), m), lo, hi) for i in [0, n).
// acc and out may be the same array (in place); otherwise they must not overlap.
void RequantizeRow(const int32_t* acc, int64_t n, int32_t bias, FixedPointMultiplier m, int32_t lo,
                   int32_t hi, int32_t* out);
// The same over `rows` rows of `width` values: row r reads acc + r·acc_pitch and writes
// out + r·out_pitch (e.g. the valid columns of a conv computed on a padded grid,
// nets/direct_conv_u8.h). Rows must not overlap unless in place (acc == out, equal pitches).
void RequantizeRows(const int32_t* acc, int64_t rows, int64_t width, int64_t acc_pitch, int32_t bias,
                    FixedPointMultiplier m, int32_t lo, int32_t hi, int32_t* out, int64_t out_pitch);
// The same with a plain loop over MultiplyByQuantizedMultiplierReference.
void RequantizeRowReference(const int32_t* acc, int64_t n, int32_t bias, FixedPointMultiplier m,
                            int32_t lo, int32_t hi, int32_t* out);

}  // namespace cimsim
