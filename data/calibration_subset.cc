#include "data/calibration_subset.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"

namespace cimsim {
namespace {

// Appends `k` elements of `pool` chosen uniformly without replacement (partial Fisher–Yates;
// reorders pool).
void DrawWithoutReplacement(std::vector<int64_t>& pool, int64_t k, Rng rng,
                            std::vector<int64_t>* out) {
  const size_t n = pool.size();
  for (size_t i = 0; i < static_cast<size_t>(k); ++i) {
    const size_t j = i + static_cast<size_t>(rng.Below(n - i));
    std::swap(pool[i], pool[j]);
    out->push_back(pool[i]);
  }
}

}  // namespace

std::vector<int64_t> CalibrationSubset(const Cifar10Set& train, int64_t count, uint64_t seed,
                                       bool class_balanced) {
  const int64_t n = train.size();
  if (count <= 0 || count > n) {
    throw InputError("calibration subset count = " + std::to_string(count) +
                     " is not allowed; use 1.." + std::to_string(n) +
                     " (the number of images in the set)");
  }
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(count));
  if (!class_balanced) {
    std::vector<int64_t> pool(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pool[static_cast<size_t>(i)] = i;
    DrawWithoutReplacement(pool, count, CalibrationSubsetStream(seed), &out);
  } else {
    // K = the classes the set names (CIFAR-10's 10, or an image folder's class folders).
    const std::vector<std::string> names = train.ClassNames();
    const int classes = static_cast<int>(names.size());
    if (count % classes != 0) {
      throw InputError("class-balanced calibration subset count = " + std::to_string(count) +
                       " is not allowed; it must be a multiple of " + std::to_string(classes) + " (count / " +
                       std::to_string(classes) + " images per class)");
    }
    const int64_t per_class = count / classes;
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
    for (int64_t i = 0; i < n; ++i) {
      const int label = train.labels[static_cast<size_t>(i)];
      if (label >= classes) {
        throw InputError("calibration subset: image " + std::to_string(i) + " has label " + std::to_string(label) +
                         "; labels must be 0.." + std::to_string(classes - 1));
      }
      by_class[static_cast<size_t>(label)].push_back(i);
    }
    for (int c = 0; c < classes; ++c) {
      const int64_t have = static_cast<int64_t>(by_class[c].size());
      if (have < per_class) {
        throw InputError("class-balanced calibration subset of " + std::to_string(count) +
                         " needs " + std::to_string(per_class) + " images of class " +
                         std::to_string(c) + " (" + names[static_cast<size_t>(c)] + "), but the set has only " + std::to_string(have));
      }
    }
    for (int c = 0; c < classes; ++c) {
      DrawWithoutReplacement(by_class[c], per_class, CalibrationSubsetStream(seed, c), &out);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cimsim
