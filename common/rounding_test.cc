// RoundHalfAway equals std::round on ties, near-ties, large values and random values.
#include "common/rounding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/rng.h"

namespace cimsim {
namespace {

TEST(RoundHalfAway, EqualsStdRound) {
  const float below_half_f = std::nextafter(0.5f, 0.0f);
  const double below_half_d = std::nextafter(0.5, 0.0);
  for (float v : {0.0f, -0.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, below_half_f, -below_half_f, 0.49999997f,
                  1e-30f, 255.5f, -127.5f, 8388607.5f, 8388608.0f, 1073741824.0f, -2147483520.0f}) {
    EXPECT_EQ(RoundHalfAway(v), std::round(v)) << v;
    EXPECT_EQ(RoundHalfAway(static_cast<double>(v)), std::round(static_cast<double>(v))) << v;
  }
  for (double v : {below_half_d, -below_half_d, 4503599627370495.5, -4503599627370495.5, 4503599627370496.0,
                   1073741823.5, -1073741824.5, 1e17, -1e17}) {
    EXPECT_EQ(RoundHalfAway(v), std::round(v)) << v;
  }
  Rng rng(5);
  for (int i = 0; i < 1000000; ++i) {
    const double scale = std::ldexp(1.0, static_cast<int>(rng.Below(40)) - 8);
    const double d = (rng.Uniform() - 0.5) * scale;
    ASSERT_EQ(RoundHalfAway(d), std::round(d)) << d;
    const float f = static_cast<float>(d) * (i % 3 == 0 ? 1.0f : 1e-3f);
    ASSERT_EQ(RoundHalfAway(f), std::round(f)) << f;
    // Exact halves of every magnitude.
    const double h = std::floor(d) + 0.5;
    ASSERT_EQ(RoundHalfAway(h), std::round(h)) << h;
  }
}

}  // namespace
}  // namespace cimsim
