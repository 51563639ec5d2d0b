// Tests of the seeded calibration subset: determinism, range, distinctness, class balance, errors.
#include "data/calibration_subset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/rng.h"

namespace cimsim {
namespace {

// n images with labels drawn at random (unequal class sizes); pixels are not used.
Cifar10Set RandomLabels(int64_t n, uint64_t seed) {
  Cifar10Set set;
  Rng rng(seed);
  for (int64_t i = 0; i < n; ++i) set.labels.push_back(static_cast<uint8_t>(rng.Below(10)));
  set.pixels.assign(static_cast<size_t>(n * kCifarImageBytes), 0);
  return set;
}

void ExpectSortedDistinctInRange(const std::vector<int64_t>& s, int64_t n) {
  EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
  EXPECT_EQ(std::adjacent_find(s.begin(), s.end()), s.end()) << "repeated index";
  for (const int64_t i : s) {
    ASSERT_GE(i, 0);
    ASSERT_LT(i, n);
  }
}

std::string ErrorOf(const Cifar10Set& set, int64_t count, bool balanced) {
  try {
    CalibrationSubset(set, count, 1, balanced);
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an InputError for count " << count;
  return "";
}

TEST(CalibrationSubset, DeterministicPerSeedAndDifferentAcrossSeeds) {
  const Cifar10Set set = RandomLabels(2000, 1);
  for (const bool balanced : {false, true}) {
    const std::vector<int64_t> a = CalibrationSubset(set, 100, 7, balanced);
    const std::vector<int64_t> b = CalibrationSubset(set, 100, 7, balanced);
    const std::vector<int64_t> c = CalibrationSubset(set, 100, 8, balanced);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
  }
}

TEST(CalibrationSubset, SortedDistinctInRangeWithTheRequestedCount) {
  const Cifar10Set set = RandomLabels(1000, 2);
  for (const int64_t count : {1, 10, 500, 999, 1000}) {
    const std::vector<int64_t> s = CalibrationSubset(set, count, 3, false);
    ASSERT_EQ(static_cast<int64_t>(s.size()), count);
    ExpectSortedDistinctInRange(s, 1000);
  }
  // All of them: exactly 0..n-1.
  const std::vector<int64_t> all = CalibrationSubset(set, 1000, 3, false);
  EXPECT_EQ(all.front(), 0);
  EXPECT_EQ(all.back(), 999);
}

TEST(CalibrationSubset, ClassBalancedHasCountOver10OfEachClass) {
  const Cifar10Set set = RandomLabels(3000, 4);
  const std::vector<int64_t> s = CalibrationSubset(set, 250, 9, true);
  ASSERT_EQ(s.size(), 250u);
  ExpectSortedDistinctInRange(s, 3000);
  std::array<int, kCifarClasses> per_class{};
  for (const int64_t i : s) ++per_class[set.labels[static_cast<size_t>(i)]];
  for (int c = 0; c < kCifarClasses; ++c) EXPECT_EQ(per_class[c], 25) << "class " << c;
}

// Statistical sanity (fixed seed): not balanced, 1000 of 10000 -> the mean index is about 4999.5
// with sd ~ 2887 * sqrt((1 - 0.1) / 1000) ~ 86.6; require within 5 sd.
TEST(CalibrationSubset, UnbalancedDrawCoversTheWholeRange) {
  const Cifar10Set set = RandomLabels(10000, 5);
  const std::vector<int64_t> s = CalibrationSubset(set, 1000, 11, false);
  double mean = 0;
  for (const int64_t i : s) mean += static_cast<double>(i);
  mean /= static_cast<double>(s.size());
  EXPECT_NEAR(mean, 4999.5, 5 * 86.6);
}

TEST(CalibrationSubset, BadCountsAreRejectedWithTheValue) {
  const Cifar10Set set = RandomLabels(100, 6);
  std::string msg = ErrorOf(set, 0, false);
  EXPECT_NE(msg.find("count = 0"), std::string::npos) << msg;
  EXPECT_NE(msg.find("1..100"), std::string::npos) << msg;
  msg = ErrorOf(set, -5, true);
  EXPECT_NE(msg.find("count = -5"), std::string::npos) << msg;
  msg = ErrorOf(set, 101, false);
  EXPECT_NE(msg.find("count = 101"), std::string::npos) << msg;
  msg = ErrorOf(set, 15, true);
  EXPECT_NE(msg.find("count = 15"), std::string::npos) << msg;
  EXPECT_NE(msg.find("multiple of 10"), std::string::npos) << msg;
}

TEST(CalibrationSubset, BalancedFailsWhenAClassIsTooSmall) {
  // 60 images labeled i % 10 (6 per class), then class-3 images after index 20 become class 4:
  // class 3 keeps 2 images (indices 3 and 13).
  Cifar10Set set;
  for (int i = 0; i < 60; ++i) set.labels.push_back(static_cast<uint8_t>(i % 10));
  for (int i = 0; i < 60; ++i) {
    if (set.labels[static_cast<size_t>(i)] == 3 && i > 20) set.labels[static_cast<size_t>(i)] = 4;
  }
  set.pixels.assign(60 * kCifarImageBytes, 0);
  EXPECT_NO_THROW(CalibrationSubset(set, 20, 1, true));  // 2 per class: class 3 has exactly 2
  const std::string msg = ErrorOf(set, 30, true);
  EXPECT_NE(msg.find("class 3 (cat)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("only 2"), std::string::npos) << msg;
}

}  // namespace
}  // namespace cimsim
