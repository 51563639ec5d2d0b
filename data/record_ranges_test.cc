// Tests of record-range selection: the chosen records and nothing else, in order; bad ranges named.
#include "data/record_ranges.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace cimsim {
namespace {

// n images whose label is i mod 10 and whose pixels all hold i mod 251 (so each record is recognisable).
Cifar10Set Numbered(int64_t n) {
  Cifar10Set set;
  for (int64_t i = 0; i < n; ++i) {
    set.labels.push_back(static_cast<uint16_t>(i % 10));
    set.pixels.insert(set.pixels.end(), kCifarImageBytes, static_cast<uint8_t>(i % 251));
  }
  set.sources = {"a.bin", "b.bin"};
  set.available = n;
  return set;
}

std::string ErrorOf(const Cifar10Set& set, const std::vector<RecordRange>& ranges) {
  try {
    SelectRecords(set, ranges, "train_ranges");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(RecordRanges, SelectsExactlyTheRecordsOfEachRangeInOrder) {
  const Cifar10Set set = Numbered(300);
  const std::vector<RecordRange> ranges = {{0, 3}, {10, 12}, {250, 300}};
  const Cifar10Set out = SelectRecords(set, ranges, "train_ranges");
  std::vector<int64_t> expected;
  for (const RecordRange& r : ranges)
    for (int64_t i = r.begin; i < r.end; ++i) expected.push_back(i);
  ASSERT_EQ(out.size(), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(out.size(), RecordCount(ranges));
  EXPECT_EQ(out.available, out.size());
  EXPECT_EQ(out.sources, set.sources);
  EXPECT_EQ(out.pixels.size(), expected.size() * kCifarImageBytes);
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(out.labels[k], set.labels[expected[k]]) << k;
    EXPECT_EQ(std::vector<uint8_t>(out.image(k), out.image(k) + kCifarImageBytes),
              std::vector<uint8_t>(set.image(expected[k]), set.image(expected[k]) + kCifarImageBytes))
        << k;
  }
}

TEST(RecordRanges, TheWholeSetAsOneRangeIsTheSet) {
  const Cifar10Set set = Numbered(37);
  const Cifar10Set out = SelectRecords(set, std::vector<RecordRange>{{0, 37}}, "train_ranges");
  EXPECT_EQ(out.labels, set.labels);
  EXPECT_EQ(out.pixels, set.pixels);
}

TEST(RecordRanges, BadRangesAreNamedWithTheirValues) {
  const Cifar10Set set = Numbered(100);
  const std::string reversed = ErrorOf(set, {{0, 5}, {9, 7}});
  EXPECT_NE(reversed.find("train_ranges[1]"), std::string::npos) << reversed;
  EXPECT_NE(reversed.find("[9, 7]"), std::string::npos) << reversed;
  const std::string empty = ErrorOf(set, {{4, 4}});
  EXPECT_NE(empty.find("train_ranges[0]: [4, 4]"), std::string::npos) << empty;
  const std::string negative = ErrorOf(set, {{-1, 4}});
  EXPECT_NE(negative.find("below 0"), std::string::npos) << negative;
  const std::string overlap = ErrorOf(set, {{0, 10}, {5, 20}});
  EXPECT_NE(overlap.find("overlaps"), std::string::npos) << overlap;
  const std::string descending = ErrorOf(set, {{50, 60}, {0, 10}});
  EXPECT_NE(descending.find("train_ranges[1]: [0, 10]"), std::string::npos) << descending;
  const std::string beyond = ErrorOf(set, {{90, 101}});
  EXPECT_NE(beyond.find("beyond the 100 records"), std::string::npos) << beyond;
  EXPECT_EQ(ErrorOf(set, {{0, 10}, {10, 20}}), "") << "adjacent ranges are allowed";
}

// Oversampling keeps the subset as given and appends times − 1 copies of its members in the ranges.
TEST(RecordRanges, RepeatAppendsCopiesOfTheSubsetsRecordsInTheRanges) {
  const std::vector<int64_t> subset = {7, 2, 15, 30, 11, 0};
  const std::vector<RecordRange> ranges = {{0, 8}, {10, 12}};
  EXPECT_EQ(RepeatRecords(subset, ranges, 1, 40, "train_repeat.ranges"), subset);
  EXPECT_EQ(RepeatRecords(subset, ranges, 3, 40, "train_repeat.ranges"),
            (std::vector<int64_t>{7, 2, 15, 30, 11, 0, 7, 2, 11, 0, 7, 2, 11, 0}));
  EXPECT_EQ(RepeatRecords(subset, std::vector<RecordRange>{{16, 30}}, 4, 40, "r"), subset) << "no member in the range";
  try {
    RepeatRecords(subset, std::vector<RecordRange>{{0, 8}, {30, 41}}, 2, 40, "train_repeat.ranges");
    ADD_FAILURE() << "a range beyond the set was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("train_repeat.ranges[1]: [30, 41] ends beyond the 40 records"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(RepeatRecords(subset, std::vector<RecordRange>{{5, 9}, {8, 12}}, 2, 40, "r"), InputError);
  EXPECT_THROW(RepeatRecords(subset, ranges, 0, 40, "r"), InputError);
}

}  // namespace
}  // namespace cimsim
