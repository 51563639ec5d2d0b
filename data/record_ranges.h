// record_ranges.h — a training set restricted to chosen runs of records.
//
// A record range [begin, end) names records begin .. end − 1 of a data set in file order (for the
// CIFAR-10 training split, data_batch_1..5.bin concatenated: record k of data_batch_j is
// (j − 1)·10000 + k). A list of ranges selects the union of its runs, in file order. Use: fine-tune on
// the part of a set whose pixels are trustworthy (e.g. the lossless records of a partly re-encoded copy),
// so that training, range calibration and BatchNorm statistics all see the distribution the network
// is evaluated on.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/cifar10.h"

namespace cimsim {

struct RecordRange {
  int64_t begin = 0, end = 0;  // records begin .. end − 1
  bool operator==(const RecordRange&) const = default;
};

// Checks that each range is non-empty with begin >= 0 and that the ranges ascend without overlapping;
// throws InputError naming `where`[i] and the values otherwise.
void ValidateRecordRanges(std::span<const RecordRange> ranges, const std::string& where);

// The number of records the ranges cover.
int64_t RecordCount(std::span<const RecordRange> ranges);

// The records of `set` in `ranges` (validated as above), in order: labels and pixels copied, sources
// kept, available = the count selected. Throws InputError naming `where` when a range ends beyond
// set.size().
Cifar10Set SelectRecords(const Cifar10Set& set, std::span<const RecordRange> ranges, const std::string& where);

// Oversampling: `subset` (record indices of a set of set_size records) followed by times − 1 more copies
// of its entries that lie in `ranges` (validated as above), each copy in subset order; times >= 1.
// Throws InputError naming `where`[i] when a range ends beyond set_size.
std::vector<int64_t> RepeatRecords(std::span<const int64_t> subset, std::span<const RecordRange> ranges, int times,
                                   int64_t set_size, const std::string& where);

}  // namespace cimsim
