#include "data/record_ranges.h"

#include <algorithm>

#include "common/error.h"

namespace cimsim {
namespace {

std::string Show(const RecordRange& r) { return "[" + std::to_string(r.begin) + ", " + std::to_string(r.end) + "]"; }

}  // namespace

void ValidateRecordRanges(std::span<const RecordRange> ranges, const std::string& where) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]: " + Show(ranges[i]);
    if (ranges[i].begin < 0) throw InputError(at + " begins below 0; a range is [begin, end) with 0 <= begin < end");
    if (ranges[i].end <= ranges[i].begin)
      throw InputError(at + " is empty or reversed; a range is [begin, end) with 0 <= begin < end");
    if (i > 0 && ranges[i].begin < ranges[i - 1].end)
      throw InputError(at + " overlaps or precedes " + Show(ranges[i - 1]) +
                       "; ranges must ascend without overlapping");
  }
}

int64_t RecordCount(std::span<const RecordRange> ranges) {
  int64_t n = 0;
  for (const RecordRange& r : ranges) n += r.end - r.begin;
  return n;
}

namespace {

void CheckWithin(std::span<const RecordRange> ranges, int64_t set_size, const std::string& where) {
  for (size_t i = 0; i < ranges.size(); ++i)
    if (ranges[i].end > set_size)
      throw InputError(where + "[" + std::to_string(i) + "]: " + Show(ranges[i]) + " ends beyond the " +
                       std::to_string(set_size) + " records of the set");
}

}  // namespace

Cifar10Set SelectRecords(const Cifar10Set& set, std::span<const RecordRange> ranges, const std::string& where) {
  ValidateRecordRanges(ranges, where);
  CheckWithin(ranges, set.size(), where);
  Cifar10Set out;
  out.height = set.height;
  out.width = set.width;
  out.class_names = set.class_names;
  out.sources = set.sources;
  const int64_t n = RecordCount(ranges), bytes = set.image_bytes();
  out.labels.reserve(n);
  out.pixels.reserve(n * bytes);
  for (const RecordRange& r : ranges) {
    out.labels.insert(out.labels.end(), set.labels.begin() + r.begin, set.labels.begin() + r.end);
    out.pixels.insert(out.pixels.end(), set.image(r.begin), set.image(r.begin) + (r.end - r.begin) * bytes);
  }
  out.available = n;
  return out;
}

std::vector<int64_t> RepeatRecords(std::span<const int64_t> subset, std::span<const RecordRange> ranges, int times,
                                   int64_t set_size, const std::string& where) {
  ValidateRecordRanges(ranges, where);
  CheckWithin(ranges, set_size, where);
  if (times < 1) throw InputError(where + ": times " + std::to_string(times) + " is out of range; allowed >= 1");
  std::vector<int64_t> in_ranges;
  for (const int64_t i : subset)
    for (const RecordRange& r : ranges)
      if (i >= r.begin && i < r.end) {
        in_ranges.push_back(i);
        break;
      }
  std::vector<int64_t> out(subset.begin(), subset.end());
  out.reserve(subset.size() + static_cast<size_t>(times - 1) * in_ranges.size());
  for (int t = 1; t < times; ++t) out.insert(out.end(), in_ranges.begin(), in_ranges.end());
  return out;
}

}  // namespace cimsim
