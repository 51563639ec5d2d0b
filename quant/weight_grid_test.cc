// The two weight grids (quant/weight_grid.h): their code ranges, the core width, bad bit widths.
#include "quant/weight_grid.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

TEST(WeightGrid, SymmetricDropsTheMostNegativeCodeAndFullKeepsIt) {
  for (int b = 2; b <= 8; ++b) {
    const WeightCodeRange s = WeightCodes(b, WeightGrid::kSymmetric);
    EXPECT_EQ(s.max, (1 << (b - 1)) - 1);
    EXPECT_EQ(s.min, -s.max);
    EXPECT_EQ(s.MaxAbs(), s.max);
    EXPECT_EQ(CoreWeightBits(b, WeightGrid::kSymmetric), b);
    if (b > 7) continue;
    const WeightCodeRange f = WeightCodes(b, WeightGrid::kFull);
    EXPECT_EQ(f.max, s.max);
    EXPECT_EQ(f.min, -(1 << (b - 1)));
    EXPECT_EQ(f.max - f.min + 1, 1 << b) << "all 2^b codes of b bits";
    EXPECT_EQ(f.MaxAbs(), 1 << (b - 1));
    // The core grid one bit wider holds every full code.
    const WeightCodeRange core = WeightCodes(CoreWeightBits(b, WeightGrid::kFull), WeightGrid::kSymmetric);
    EXPECT_LE(core.min, f.min);
    EXPECT_GE(core.max, f.max);
  }
  EXPECT_EQ(WeightCodes(2, WeightGrid::kFull).min, -2);
}

TEST(WeightGrid, BitsOutsideTheGridsRangeThrowNamingIt) {
  EXPECT_THROW(WeightCodes(1, WeightGrid::kSymmetric), std::invalid_argument);
  EXPECT_THROW(WeightCodes(9, WeightGrid::kSymmetric), std::invalid_argument);
  try {
    (void)CoreWeightBits(8, WeightGrid::kFull);
    FAIL() << "8-bit full grid accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bits = 8 with the full grid; allowed 2..7"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ToString(WeightGrid::kSymmetric), "symmetric");
  EXPECT_EQ(ToString(WeightGrid::kFull), "full");
}

}  // namespace
}  // namespace cimsim
