// IndexName: four digits up to 10,000 items, wider beyond, and names of one set sort in numeric order.
#include "common/index_names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace cimsim {
namespace {

TEST(IndexNames, FourDigitsUpToTenThousandThenWider) {
  EXPECT_EQ(IndexName(0, 1), "0000");
  EXPECT_EQ(IndexName(7, 0), "0007");
  EXPECT_EQ(IndexName(9999, 10000), "9999");
  EXPECT_EQ(IndexName(0, 10001), "00000");
  EXPECT_EQ(IndexName(10000, 10001), "10000");
  EXPECT_EQ(IndexName(42, 1234567), "0000042");
  for (int64_t count : {1, 9, 10000, 10001, 123457}) {
    std::vector<std::string> names;
    for (int64_t i = 0; i < count; i += std::max<int64_t>(1, count / 997)) names.push_back(IndexName(i, count));
    names.push_back(IndexName(count - 1, count));
    EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << count;
  }
}

}  // namespace
}  // namespace cimsim
