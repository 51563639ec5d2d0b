// FieldChecker messages by hand, and ShortestNumber's round-trip text.
#include "common/field_checker.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "common/test_support.h"

namespace cimsim {
namespace {

using testing::InputErrorOf;

TEST(FieldCheckerTest, ShortestNumberReadsBack) {
  EXPECT_EQ(ShortestNumber(0.2), "0.2");
  EXPECT_EQ(ShortestNumber(30), "30");
  EXPECT_EQ(ShortestNumber(-1.5e-7), "-1.5e-07");
  EXPECT_EQ(std::stod(ShortestNumber(0.1 + 0.2)), 0.1 + 0.2);
}

TEST(FieldCheckerTest, NamesTheFieldUnderWhere) {
  const FieldChecker c("xbar.json: device");
  EXPECT_EQ(c.Field("g_max"), "xbar.json: device.g_max");
  EXPECT_EQ(c.Name("g_max"), "device.g_max");
  EXPECT_EQ(FieldChecker("").Field("g_max"), "g_max");
  EXPECT_EQ(InputErrorOf([&] { c.AtLeast(-1, "g_min", 0); }), "xbar.json: device.g_min: -1 is out of range; allowed >= 0");
  EXPECT_EQ(InputErrorOf([&] { c.Above(0, "g_max", 0); }), "xbar.json: device.g_max: 0 is out of range; allowed > 0");
  EXPECT_EQ(InputErrorOf([&] { c.Within(2, "p", 0, 1.5); }), "xbar.json: device.p: 2 is out of range; allowed [0, 1.5]");
  EXPECT_EQ(InputErrorOf([&] { c.Finite(std::numeric_limits<double>::infinity(), "t"); }),
            "xbar.json: device.t: inf is out of range; allowed any finite number");
  EXPECT_EQ(InputErrorOf([&] { c.IntWithin(9, "bits", 1, 8); }), "xbar.json: device.bits: 9 is out of range; allowed 1..8");
  EXPECT_EQ(InputErrorOf([&] { c.AtLeast(std::nan(""), "g_min", 0); }),
            "xbar.json: device.g_min: nan is out of range; allowed >= 0");
  EXPECT_NO_THROW(c.AtLeast(0, "g_min", 0));
}

}  // namespace
}  // namespace cimsim
