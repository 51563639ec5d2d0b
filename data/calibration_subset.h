// calibration_subset.h — a fixed, seeded subset of training images (e.g. for quantization ranges
// or chip calibration), as indices into the set, sorted ascending and distinct.
//
// Not balanced: `count` indices drawn uniformly without replacement from [0, size) — the first
// `count` steps of a Fisher–Yates shuffle of 0..size-1 with CalibrationSubsetStream(seed).
// Class balanced: count / K per class, K = the number of classes the set names (Cifar10Set::ClassNames:
// 10 for CIFAR-10, an image folder's class count; count must be a multiple of K), for class c drawn the same way from the ascending indices of that class with
// CalibrationSubsetStream(seed, c) (common/streams.h).
// The result is a pure function of (labels, count, seed, class_balanced).
#pragma once

#include <cstdint>
#include <vector>

#include "data/cifar10.h"

namespace cimsim {

// Throws InputError for count <= 0, count > train.size(), class_balanced with count not a multiple
// of K, a label >= K, or a class with fewer than count / K images.
std::vector<int64_t> CalibrationSubset(const Cifar10Set& train, int64_t count, uint64_t seed,
                                       bool class_balanced);

}  // namespace cimsim
