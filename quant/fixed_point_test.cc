// Fixed-point requantization: hand-worked cases of each rounding rule (arithmetic in the comments),
// saturation, every right shift, QuantizeMultiplier by hand and over many reals, and the fast paths
// (gemmlowp-style scalar, AVX-512 row) against the int64 reference over millions of seeded inputs.
#include "quant/fixed_point.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"
#include "quant/requantize_lanes.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;

constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kHalf = int32_t{1} << 30;   // multiplier 2^30 = 0.5 in Q0.31

__extension__ typedef __int128 I128;

TEST(SaturatingRoundingDoublingHighMul, HandWorked) {
  // The result is a·b / 2^31 rounded to nearest, ties toward +inf.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1 << 15, 1 << 15), 1);      // 2^30/2^31 = 0.5 → 1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-(1 << 15), 1 << 15), 0);   // −0.5: (−2^30 + 1 − 2^30)/2^31 → 0
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(3 << 15, 1 << 15), 2);      // 1.5 → 2
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-(3 << 15), 1 << 15), -1);  // −1.5 → −1
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1000, kHalf), 500);         // 1000·2^30/2^31 = 500 exactly
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(1001, kHalf), 501);         // 500.5 → 501
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1001, kHalf), -500);       // −500.5 → −500
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(-1002, kHalf), -501);       // −501 exactly
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(0, kMin), 0);
  // The one overflow: 2·(−2^31)² = 2^63 does not fit, saturates.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMin), kMax);
  // −2^31·(2^31 − 1)/2^31 = −2^31 + 1 exactly.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kMax), -2147483647);
  // (2^31 − 1)²/2^31 = 2^31 − 2 + 2^−31 → 2^31 − 2.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMax, kMax), 2147483646);
  // −2^31·2^30/2^31 = −2^30.
  EXPECT_EQ(SaturatingRoundingDoublingHighMul(kMin, kHalf), -1073741824);
}

TEST(SaturatingRoundingDoublingHighMul, MatchesExactRoundingOnRandomPairs) {
  // Oracle: floor((2ab + 2^31) / 2^32) in 128-bit arithmetic (nearest, ties up).
  Rng rng(11);
  for (int i = 0; i < 1000000; ++i) {
    const int32_t a = static_cast<int32_t>(rng.NextU64());
    const int drop = static_cast<int>(rng.Below(32));
    const int32_t b = static_cast<int32_t>(rng.NextU64() >> drop);
    if (a == kMin && b == kMin) continue;
    const I128 twice = I128{2} * a * b + (I128{1} << 31);
    const int32_t expected = static_cast<int32_t>(twice >> 32);   // arithmetic shift = floor
    ASSERT_EQ(SaturatingRoundingDoublingHighMul(a, b), expected) << a << " * " << b;
  }
}

TEST(RoundingDivideByPOT, HandWorkedTiesAwayFromZero) {
  EXPECT_EQ(RoundingDivideByPOT(5, 1), 3);     // 2.5 → 3
  EXPECT_EQ(RoundingDivideByPOT(-5, 1), -3);   // −2.5 → −3
  EXPECT_EQ(RoundingDivideByPOT(3, 1), 2);     // 1.5 → 2
  EXPECT_EQ(RoundingDivideByPOT(-3, 1), -2);   // −1.5 → −2
  EXPECT_EQ(RoundingDivideByPOT(4, 1), 2);     // 2 exactly
  EXPECT_EQ(RoundingDivideByPOT(7, 2), 2);     // 1.75 → 2
  EXPECT_EQ(RoundingDivideByPOT(5, 2), 1);     // 1.25 → 1
  EXPECT_EQ(RoundingDivideByPOT(-5, 2), -1);   // −1.25 → −1
  EXPECT_EQ(RoundingDivideByPOT(-7, 2), -2);   // −1.75 → −2
  EXPECT_EQ(RoundingDivideByPOT(-10, 2), -3);  // −2.5 → −3
  EXPECT_EQ(RoundingDivideByPOT(-1, 1), -1);   // −0.5 → −1
  EXPECT_EQ(RoundingDivideByPOT(1, 1), 1);     // 0.5 → 1
  EXPECT_EQ(RoundingDivideByPOT(1, 2), 0);     // 0.25 → 0
  EXPECT_EQ(RoundingDivideByPOT(-123, 0), -123);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 1), -1073741824);
  EXPECT_EQ(RoundingDivideByPOT(kMin, 31), -1);        // −2^31/2^31
  EXPECT_EQ(RoundingDivideByPOT(kMax, 31), 1);         // 1 − 2^−31 → 1
  EXPECT_EQ(RoundingDivideByPOT(1 << 30, 31), 1);      // 0.5 → 1
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30), 31), -1);  // −0.5 → −1
  EXPECT_EQ(RoundingDivideByPOT((1 << 30) - 1, 31), 0);
  EXPECT_EQ(RoundingDivideByPOT(-(1 << 30) + 1, 31), 0);
}

TEST(RoundingDivideByPOT, EveryExponent) {
  for (int e = 1; e <= 31; ++e) {
    SCOPED_TRACE(e);
    const int64_t p = int64_t{1} << e, half = p / 2;
    // Ties ±(k + 1/2) go away from zero; one below a tie goes toward zero.
    EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(half), e), 1);
    EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(-half), e), -1);
    EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(half - 1), e), 0);
    EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(1 - half), e), 0);
    if (e <= 29) {
      EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(3 * half), e), 2);    // 1.5 → 2
      EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(-3 * half), e), -2);  // −1.5 → −2
      EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(3 * p), e), 3);       // exact
      EXPECT_EQ(RoundingDivideByPOT(static_cast<int32_t>(-3 * p), e), -3);
    }
    // INT32_MAX/2^e = 2^(31−e) − 2^−e → 2^(31−e); INT32_MIN/2^e = −2^(31−e) exactly.
    EXPECT_EQ(RoundingDivideByPOT(kMax, e), int64_t{1} << (31 - e));
    EXPECT_EQ(RoundingDivideByPOT(kMin, e), -(int64_t{1} << (31 - e)));
    // The same shift through MultiplyByQuantizedMultiplier: x·0.5 (exact for even x) then /2^e.
    const FixedPointMultiplier quarter_and_less{kHalf, -e};   // 2^30 · 2^(−e−31) = 2^−(e+1)
    if (e <= 30) {   // 2^31 is no int32
      EXPECT_EQ(MultiplyByQuantizedMultiplier(static_cast<int32_t>(2 * half), quarter_and_less), 1);
    }
    EXPECT_EQ(MultiplyByQuantizedMultiplier(static_cast<int32_t>(-2 * half), quarter_and_less), -1);
    EXPECT_EQ(MultiplyByQuantizedMultiplierReference(static_cast<int32_t>(-2 * half), quarter_and_less), -1);
  }
}

TEST(RoundingDivideByPOT, MatchesFloorDivisionOracle) {
  Rng rng(12);
  for (int i = 0; i < 1000000; ++i) {
    const int drop = static_cast<int>(rng.Below(33));
    const int32_t x = static_cast<int32_t>(rng.NextU64() >> drop);
    const int e = static_cast<int>(rng.Below(32));
    // Oracle: round(|x| / 2^e) half up on the magnitude, sign restored.
    const int64_t mag = std::llabs(int64_t{x});
    const int64_t r = e == 0 ? mag : (mag + (int64_t{1} << (e - 1))) >> e;
    ASSERT_EQ(RoundingDivideByPOT(x, e), x < 0 ? -r : r) << x << " / 2^" << e;
  }
}

TEST(MultiplyByQuantizedMultiplier, HandWorked) {
  const FixedPointMultiplier half{kHalf, 0}, one{kHalf, 1}, quarter{kHalf, -1}, zero{};
  for (auto f : {&MultiplyByQuantizedMultiplier, &MultiplyByQuantizedMultiplierReference}) {
    EXPECT_EQ(f(5, half), 3);     // 2.5 → 3 (high multiply: ties up)
    EXPECT_EQ(f(-5, half), -2);   // −2.5 → −2 (ties up, as TFLite)
    EXPECT_EQ(f(7, one), 7);      // 7·2 = 14, ·0.5 = 7
    EXPECT_EQ(f(-7, one), -7);
    EXPECT_EQ(f(6, quarter), 2);    // 6·0.5 = 3, 3/2 = 1.5 → 2
    EXPECT_EQ(f(-6, quarter), -2);  // −3, −1.5 → −2 (away from zero)
    EXPECT_EQ(f(1, quarter), 1);    // exact 0.25, but 0.5 → 1, then 1/2 → 1: the double rounding
    EXPECT_EQ(f(-1, quarter), 0);   // −0.5 → 0, 0/2 = 0
    EXPECT_EQ(f(kMin, half), -1073741824);
    EXPECT_EQ(f(kMax, zero), 0);
    EXPECT_EQ(f(kMin, zero), 0);
    // Left-shift saturation: x·2 overflows, saturates to 2^31 − 1, then ·0.5 = 2^30 − 0.5 → 2^30.
    EXPECT_EQ(f(kMax, one), 1073741824);
    // −2^31·2 saturates to −2^31, ·0.5 = −2^30.
    EXPECT_EQ(f(kMin, one), -1073741824);
    // Largest shift: 1·2^30 fits, ·0.5 = 2^29. 2·2^30 = 2^31 and 3·2^30 saturate to 2^31 − 1,
    // ·0.5 = 2^30 − 1/2 → 2^30.
    EXPECT_EQ(f(1, FixedPointMultiplier{kHalf, 30}), 1 << 29);
    EXPECT_EQ(f(2, FixedPointMultiplier{kHalf, 30}), 1 << 30);
    EXPECT_EQ(f(3, FixedPointMultiplier{kHalf, 30}), 1 << 30);
    EXPECT_EQ(f(-2, FixedPointMultiplier{kHalf, 30}), -(1 << 30));   // −2^31 fits exactly
  }
}

// Random int32 drawn to hit extremes, powers of two, small values and everything in between.
int32_t RandomX(Rng& rng) {
  static constexpr int32_t kSpecial[] = {kMin, kMin + 1, -2, -1, 0, 1, 2, kMax - 1, kMax, 1 << 30, -(1 << 30)};
  switch (rng.Below(4)) {
    case 0: return kSpecial[rng.Below(std::size(kSpecial))];
    case 1: return static_cast<int32_t>(rng.Below(2001)) - 1000;
    case 2: {   // magnitudes of every size
      const int drop = static_cast<int>(rng.Below(33));
      return static_cast<int32_t>(rng.NextU64() >> drop);
    }
    default: return static_cast<int32_t>(rng.NextU64());
  }
}

FixedPointMultiplier RandomMultiplier(Rng& rng) {
  FixedPointMultiplier m;
  switch (rng.Below(4)) {
    case 0: m.multiplier = 0; break;
    case 1: m.multiplier = rng.Bernoulli(0.5) ? kHalf : kMax; break;
    default: m.multiplier = static_cast<int32_t>(kHalf + rng.Below(kHalf));
  }
  m.shift = static_cast<int>(rng.Below(62)) - 31;
  return m;
}

TEST(MultiplyByQuantizedMultiplier, FastMatchesReferenceOnMillionsOfRandomInputs) {
  Rng rng(13);
  for (int i = 0; i < 3000000; ++i) {
    const int32_t x = RandomX(rng);
    const FixedPointMultiplier m = RandomMultiplier(rng);
    ASSERT_EQ(MultiplyByQuantizedMultiplier(x, m), MultiplyByQuantizedMultiplierReference(x, m))
        << "x = " << x << ", multiplier = " << m.multiplier << ", shift = " << m.shift;
  }
}

TEST(MultiplyByQuantizedMultiplier, WithinOneOfTheExactProduct) {
  // When the left shift does not saturate: |r − x·M·2^(s−31)| <= 1/2 (s >= 0) or 1/2 + 2^(s−1)
  // (s < 0). Checked exactly in 128-bit integers, multiplied through by 2^(31 − s).
  Rng rng(14);
  int checked = 0;
  for (int i = 0; i < 1000000; ++i) {
    const int32_t x = RandomX(rng);
    const FixedPointMultiplier m = RandomMultiplier(rng);
    if (m.shift > 0 && std::llabs(int64_t{x}) * (int64_t{1} << m.shift) > kMax) continue;
    const I128 r = MultiplyByQuantizedMultiplier(x, m);
    const I128 scaled_error = r * (I128{1} << (31 - m.shift)) - I128{x} * m.multiplier;
    const I128 bound = (I128{1} << (30 - m.shift)) + (m.shift < 0 ? (I128{1} << 30) : 0);
    ASSERT_LE(scaled_error < 0 ? -scaled_error : scaled_error, bound)
        << "x = " << x << ", multiplier = " << m.multiplier << ", shift = " << m.shift;
    ++checked;
  }
  EXPECT_GT(checked, 500000);
}

TEST(QuantizeMultiplier, HandWorked) {
  auto expect = [](double real, int32_t multiplier, int shift) {
    const FixedPointMultiplier m = QuantizeMultiplier(real);
    EXPECT_EQ(m.multiplier, multiplier) << real;
    EXPECT_EQ(m.shift, shift) << real;
  };
  expect(0.5, 1073741824, 0);    // 0.5 = 0.5·2^0: 0.5·2^31 = 2^30
  expect(1.0, 1073741824, 1);    // 1 = 0.5·2^1
  expect(0.75, 1610612736, 0);   // 0.75·2^31 = 3·2^29
  expect(3.0, 1610612736, 2);    // 3 = 0.75·2^2
  // 0.5 + 1e−9 = 0.500000001·2^0: 0.500000001·2^31 = 2^30 + 2.147483648 = 1073741826.147 → 1073741826.
  expect(0.5 + 1e-9, 1073741826, 0);
  // 0.5 − 1e−9 = 0.999999998·2^−1: 2^31 − 4.294967296 = 2147483643.705 → 2147483644.
  expect(0.5 - 1e-9, 2147483644, -1);
  // 0.999999999·2^0: 2^31 − 2.147483648 = 2147483645.852 → 2147483646.
  expect(0.999999999, 2147483646, 0);
  // 1 − 2^−33: 2^31 − 2^−2 rounds to 2^31, renormalised to 2^30 with shift 1.
  expect(1.0 - std::ldexp(1.0, -33), 1073741824, 1);
  // Smallest representable shift: 2^−32 = 0.5·2^−31.
  expect(std::ldexp(1.0, -32), 1073741824, -31);
  expect(std::ldexp(0.99, -32), 0, 0);   // below 2^−32: every product rounds to 0
  expect(std::ldexp(1.0, -40), 0, 0);
  expect(0.0, 0, 0);
  // Largest accepted: 2^30 − 1/2 = (1 − 2^−31)·2^30 → mantissa 2^31 − 1, shift 30.
  expect(std::ldexp(1.0, 30) - 0.5, kMax, 30);
}

TEST(QuantizeMultiplier, RejectsBadReals) {
  for (double bad : {-1.0, -1e-300, std::nan(""), std::numeric_limits<double>::infinity(), std::ldexp(1.0, 30),
                     std::ldexp(1.0, 30) - 0.25, 1e12}) {
    try {
      QuantizeMultiplier(bad);
      ADD_FAILURE() << "no exception for " << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_TRUE(HasPart(e.what(), "QuantizeMultiplier real"));
    }
  }
  try {
    QuantizeMultiplier(-2.5);
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(HasPart(e.what(), "-2.5"));
  }
}

TEST(QuantizeMultiplier, RoundTripWithinHalfAMantissaStep) {
  // Log-uniform reals over [2^−32, 2^30): |real − M·2^(s−31)| <= 2^(s−32), i.e. relative <= 2^−31.
  Rng rng(15);
  for (int i = 0; i < 200000; ++i) {
    const double real = std::min(std::ldexp(1.0, static_cast<int>(rng.Below(62)) - 32) * (1 + rng.Uniform()),
                                 std::ldexp(1.0, 30) - 0.5);
    const FixedPointMultiplier m = QuantizeMultiplier(real);
    ASSERT_NO_THROW(m.Validate()) << real;
    ASSERT_GE(m.multiplier, kHalf) << real;
    ASSERT_LE(std::fabs(real - m.Real()), std::ldexp(1.0, m.shift - 32)) << real;
    ASSERT_LE(std::fabs(real - m.Real()), std::ldexp(real, -31)) << real;
  }
}

TEST(FixedPointMultiplier, ValidateNamesTheField) {
  EXPECT_NO_THROW((FixedPointMultiplier{0, 0}.Validate()));
  EXPECT_NO_THROW((FixedPointMultiplier{kMax, -31}.Validate()));
  EXPECT_NO_THROW((FixedPointMultiplier{kHalf, 30}.Validate()));
  auto message = [](FixedPointMultiplier m) {
    try {
      m.Validate();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_TRUE(HasPart(message({kHalf - 1, 0}), "multiplier = 1073741823"));
  EXPECT_TRUE(HasPart(message({-5, 0}), "multiplier = -5"));
  EXPECT_TRUE(HasPart(message({kHalf, 31}), "shift = 31"));
  EXPECT_TRUE(HasPart(message({kHalf, -32}), "shift = -32"));
}

TEST(RequantizeRow, HandWorked) {
  // (acc + 10)·0.5, clamped to [0, 127]: (100+10)/2 = 55, (−100+10)/2 = −45 → 0, 310/2 = 155 → 127,
  // (1+10)/2 = 5.5 → 6; INT32_MAX + 10 saturates to 2^31 − 1, /2 → 2^30 → 127.
  const std::vector<int32_t> acc = {100, -100, 300, 1, kMax};
  const std::vector<int32_t> expected = {55, 0, 127, 6, 127};
  std::vector<int32_t> out(acc.size()), ref(acc.size());
  RequantizeRow(acc.data(), 5, 10, QuantizeMultiplier(0.5), 0, 127, out.data());
  RequantizeRowReference(acc.data(), 5, 10, QuantizeMultiplier(0.5), 0, 127, ref.data());
  EXPECT_EQ(out, expected);
  EXPECT_EQ(ref, expected);
  // The same through the vector path: 16 copies of each pattern in a row of 80.
  std::vector<int32_t> long_acc, long_expected;
  for (size_t k = 0; k < acc.size(); ++k) {
    for (int j = 0; j < 16; ++j) {
      long_acc.push_back(acc[k]);
      long_expected.push_back(expected[k]);
    }
  }
  std::vector<int32_t> long_out(long_acc.size());
  RequantizeRow(long_acc.data(), static_cast<int64_t>(long_acc.size()), 10, QuantizeMultiplier(0.5), 0, 127,
                long_out.data());
  EXPECT_EQ(long_out, long_expected);
  // acc + bias saturating downward: INT32_MIN − 1 → INT32_MIN, ·1 → saturated left shift → −2^30.
  int32_t low = kMin, low_out = 0;
  RequantizeRow(&low, 1, -1, FixedPointMultiplier{kHalf, 1}, kMin, kMax, &low_out);
  EXPECT_EQ(low_out, -1073741824);
}

TEST(RequantizeRow, FastMatchesReferenceForAllLengthsAndRandomData) {
  Rng rng(16);
  for (int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 1000}) {
    for (int trial = 0; trial < 300; ++trial) {
      SCOPED_TRACE(::testing::Message() << "n = " << n << ", trial " << trial);
      std::vector<int32_t> acc(n), out(n, 7), ref(n, 7);
      const int style = trial % 3;   // full range, small accumulators, or mixed with extremes
      for (int32_t& a : acc) {
        a = style == 0 ? static_cast<int32_t>(rng.NextU64())
                       : (style == 1 ? static_cast<int32_t>(rng.Below(200001)) - 100000 : RandomX(rng));
      }
      const int32_t bias = trial % 5 == 0 ? (rng.Bernoulli(0.5) ? kMax : kMin) : RandomX(rng);
      const FixedPointMultiplier m = RandomMultiplier(rng);
      int32_t lo = kMin, hi = kMax;
      if (trial % 4 == 1) {
        lo = 0;
        hi = 255;
      }
      if (trial % 4 == 2) {
        lo = -127;
        hi = 127;
      }
      if (trial % 4 == 3) {
        lo = RandomX(rng);
        hi = RandomX(rng);
        if (lo > hi) std::swap(lo, hi);
      }
      RequantizeRow(acc.data(), n, bias, m, lo, hi, out.data());
      RequantizeRowReference(acc.data(), n, bias, m, lo, hi, ref.data());
      ASSERT_EQ(out, ref) << "bias " << bias << ", multiplier " << m.multiplier << ", shift " << m.shift;
      // In place gives the same.
      RequantizeRow(acc.data(), n, bias, m, lo, hi, acc.data());
      ASSERT_EQ(acc, ref);
    }
  }
}

TEST(RequantizeRows, StridedRowsMatchTheReferenceRowByRowAndLeaveTheGapsAlone) {
  // Rows of widths around the vector length (masked tails), read at a pitch wider than the row, written
  // compactly and at a wider pitch; the cells between rows must keep their sentinel.
  Rng rng(18);
  for (int64_t width : {1, 7, 8, 15, 16, 17, 32, 34}) {
    for (int64_t rows : {1, 3, 8}) {
      for (int64_t extra : {0, 2, 5}) {
        SCOPED_TRACE(::testing::Message() << "width " << width << ", rows " << rows << ", extra " << extra);
        const int64_t acc_pitch = width + extra, out_pitch = width + (extra > 0 ? 1 : 0);
        std::vector<int32_t> acc(static_cast<size_t>(rows * acc_pitch));
        for (int32_t& a : acc) a = RandomX(rng);
        const int32_t bias = RandomX(rng);
        const FixedPointMultiplier m = RandomMultiplier(rng);
        const int32_t sentinel = 12345;
        std::vector<int32_t> out(static_cast<size_t>(rows * out_pitch), sentinel);
        RequantizeRows(acc.data(), rows, width, acc_pitch, bias, m, -127, 127, out.data(), out_pitch);
        std::vector<int32_t> ref(static_cast<size_t>(width));
        for (int64_t r = 0; r < rows; ++r) {
          RequantizeRowReference(acc.data() + r * acc_pitch, width, bias, m, -127, 127, ref.data());
          ASSERT_EQ(std::vector<int32_t>(out.begin() + r * out_pitch, out.begin() + r * out_pitch + width), ref)
              << "row " << r;
          for (int64_t i = width; i < out_pitch; ++i) ASSERT_EQ(out[static_cast<size_t>(r * out_pitch + i)], sentinel);
        }
      }
    }
  }
}

// Each vector body this build compiles (requantize_lanes.h: an AVX-512 build has both the 16- and the
// 8-lane one, an AVX2 build the 8-lane one), called directly — RequantizeRows uses only the widest —
// against the reference: every shift, biases that saturate, the clamps, in-place rows and every tail
// length of either width.
#if defined(__AVX512F__) || defined(__AVX2__)
template <class V>
void ExpectLanesMatchTheReference(uint64_t seed) {
  Rng rng(seed);
  for (int shift = kMinFixedPointShift; shift <= kMaxFixedPointShift; ++shift) {
    for (int64_t width : {1, 7, 8, 9, 15, 16, 17, 40}) {
      const int64_t rows = 3, pitch = width + 1;
      std::vector<int32_t> acc(static_cast<size_t>(rows * pitch));
      for (int32_t& a : acc) a = RandomX(rng);
      const int32_t bias = width == 9 ? kMax : (width == 15 ? kMin : RandomX(rng));
      FixedPointMultiplier m{static_cast<int32_t>(kHalf + rng.Below(kHalf)), shift};
      if (width == 17) m = WithHeadroom(m, 1 << 20);
      const int32_t lo = width % 2 == 0 ? -127 : kMin, hi = width % 2 == 0 ? 127 : kMax;
      std::vector<int32_t> out(acc.size(), 99), ref(static_cast<size_t>(width));
      requantize_lanes::RequantizeRowsWith<V>(acc.data(), rows, width, pitch, bias, m, lo, hi, out.data(), pitch);
      std::vector<int32_t> in_place = acc;
      requantize_lanes::RequantizeRowsWith<V>(in_place.data(), rows, width, pitch, bias, m, lo, hi, in_place.data(), pitch);
      for (int64_t r = 0; r < rows; ++r) {
        RequantizeRowReference(acc.data() + r * pitch, width, bias, m, lo, hi, ref.data());
        const auto row = out.begin() + r * pitch;
        ASSERT_EQ(std::vector<int32_t>(row, row + width), ref) << "shift " << shift << ", width " << width << ", row " << r;
        ASSERT_EQ(out[static_cast<size_t>(r * pitch + width)], 99) << "the gap after the row is left alone";
        const auto inplace_row = in_place.begin() + r * pitch;
        ASSERT_EQ(std::vector<int32_t>(inplace_row, inplace_row + width), ref) << "in place";
      }
    }
  }
}
#endif

TEST(RequantizeLanes, EveryVectorBodyOfThisBuildMatchesTheReference) {
  int bodies = 0;
#if defined(__AVX512F__)
  ExpectLanesMatchTheReference<requantize_lanes::Avx512Lanes>(41);
  ++bodies;
#endif
#if defined(__AVX2__)
  ExpectLanesMatchTheReference<requantize_lanes::Avx2Lanes>(42);
  ++bodies;
#endif
  if (bodies == 0) GTEST_SKIP() << "a scalar build: RequantizeRows has no vector body (the other tests check its loop)";
}

TEST(RequantizeRow, EveryShiftOnALongRow) {
  // Every shift −31..30 with a random normalised multiplier, 1024 random accumulators each.
  Rng rng(17);
  std::vector<int32_t> acc(1024), out(1024), ref(1024);
  for (int shift = kMinFixedPointShift; shift <= kMaxFixedPointShift; ++shift) {
    for (int32_t& a : acc) a = RandomX(rng);
    const FixedPointMultiplier m{static_cast<int32_t>(kHalf + rng.Below(kHalf)), shift};
    RequantizeRow(acc.data(), 1024, 3, m, kMin, kMax, out.data());
    RequantizeRowReference(acc.data(), 1024, 3, m, kMin, kMax, ref.data());
    ASSERT_EQ(out, ref) << "shift " << shift;
  }
}

}  // namespace
}  // namespace cimsim

namespace cimsim {
namespace {

// Headroom: the extra left shift before / right shift after the high multiply.
TEST(FixedPointHeadroom, HandWorkedChoice) {
  // shift −8, inputs up to 744: 744·2^21 = 1,560,281,088 < 2^31 but 744·2^22 >= 2^31 → h = 21
  // (right shift 8 + 21 = 29 <= 31).
  EXPECT_EQ(WithHeadroom({kHalf, -8, 0}, 744).headroom, 21);
  // Right shift caps it: shift −30 leaves at most 1 more bit.
  EXPECT_EQ(WithHeadroom({kHalf, -30, 0}, 1).headroom, 1);
  // Left shift caps it: shift 3 with inputs up to 2^27: 2^27·2^(3+1) = 2^31 is too big → h = 0;
  // up to 2^27 − 1: (2^27 − 1)·2^4 = 2^31 − 16 fits, (2^27 − 1)·2^5 does not → h = 1.
  EXPECT_EQ(WithHeadroom({kHalf, 3, 0}, 1 << 27).headroom, 0);
  EXPECT_EQ(WithHeadroom({kHalf, 3, 0}, (1 << 27) - 1).headroom, 1);
  EXPECT_EQ(WithHeadroom({kHalf, 0, 0}, 0).headroom, 31);
  EXPECT_THROW(WithHeadroom({kHalf, 0, 0}, -1), std::invalid_argument);
}

TEST(FixedPointHeadroom, FixesTheDoubleRoundingNearATie) {
  // A case met in a 4-bit ResNet: x = 744, real r = 0.00201537397334 (shift −8), x·r = 1.49943...
  // Without headroom: x·M/2^31 = 383.86 rounds to 384, then 384/2^8 = 1.5 rounds away to 2.
  // With headroom 21 the intermediate keeps 21 more bits and the result is the nearest integer, 1.
  const FixedPointMultiplier m = QuantizeMultiplier(0.00201537397334);
  ASSERT_EQ(m.shift, -8);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(744, m), 2);
  const FixedPointMultiplier h = WithHeadroom(m, 744);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(744, h), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplierReference(744, h), 1);
  EXPECT_EQ(MultiplyByQuantizedMultiplier(-744, h), -1);
}

TEST(FixedPointHeadroom, FastMatchesReferenceAndStaysWithinTheBound) {
  Rng rng(31);
  for (int i = 0; i < 1000000; ++i) {
    const int64_t bound = static_cast<int64_t>(rng.Below(uint64_t{1} << (1 + rng.Below(30))));
    const int32_t x = static_cast<int32_t>(static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * bound + 1))) - bound);
    const FixedPointMultiplier m = WithHeadroom(QuantizeMultiplier(std::ldexp(0.5 + 0.5 * rng.Uniform(), -static_cast<int>(rng.Below(24)))), bound);
    const int32_t fast = MultiplyByQuantizedMultiplier(x, m);
    ASSERT_EQ(fast, MultiplyByQuantizedMultiplierReference(x, m)) << x << " " << m.multiplier << " " << m.shift;
    // |r − x·M·2^(s−31)| <= 1/2 + 2^(s−h−1), checked exactly, multiplied through by 2^(31 − s + h).
    const int s = m.shift, h = m.headroom;
    const I128 scaled_error = I128{fast} * (I128{1} << (31 - s + h)) - I128{x} * m.multiplier * (I128{1} << h);
    const I128 bound_scaled = (I128{1} << (30 - s + h)) + (I128{1} << 30);
    ASSERT_LE(scaled_error < 0 ? -scaled_error : scaled_error, bound_scaled);
  }
}

TEST(FixedPointHeadroom, RequantizeRowMatchesReference) {
  Rng rng(32);
  for (int64_t n : {1, 16, 17, 100}) {
    for (int trial = 0; trial < 200; ++trial) {
      std::vector<int32_t> acc(static_cast<size_t>(n)), out(acc.size()), ref(acc.size());
      for (int32_t& a : acc) a = static_cast<int32_t>(rng.Below(2000001)) - 1000000;
      const int32_t bias = static_cast<int32_t>(rng.Below(2001)) - 1000;
      const FixedPointMultiplier m = WithHeadroom(QuantizeMultiplier(std::ldexp(rng.Uniform() + 0.01, -static_cast<int>(rng.Below(20)))), 1001000);
      RequantizeRow(acc.data(), n, bias, m, -128, 255, out.data());
      RequantizeRowReference(acc.data(), n, bias, m, -128, 255, ref.data());
      ASSERT_EQ(out, ref);
    }
  }
}

TEST(FixedPointHeadroom, ValidateRejectsTooMuch) {
  EXPECT_THROW((FixedPointMultiplier{kHalf, -20, 12}.Validate()), std::invalid_argument);
  EXPECT_THROW((FixedPointMultiplier{kHalf, 0, -1}.Validate()), std::invalid_argument);
  EXPECT_NO_THROW((FixedPointMultiplier{kHalf, -20, 11}.Validate()));
}

}  // namespace
}  // namespace cimsim
