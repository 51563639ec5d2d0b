#include "data/calibration_subset.h"

#include <algorithm>
#include <string>
#include <utility>

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
    // K = the largest label + 1 (10 for CIFAR-10; an image folder's class count).
    const int classes = 1 + *std::max_element(train.labels.begin(), train.labels.end());
    if (count % classes != 0) {
      throw InputError("class-balanced calibration subset count = " + std::to_string(count) +
                       " is not allowed; it must be a multiple of " + std::to_string(classes) + " (count / " +
                       std::to_string(classes) + " images per class)");
    }
    const int64_t per_class = count / classes;
    std::vector<std::vector<int64_t>> by_class(static_cast<size_t>(classes));
    for (int64_t i = 0; i < n; ++i) by_class[train.labels[static_cast<size_t>(i)]].push_back(i);
    for (int c = 0; c < classes; ++c) {
      const int64_t have = static_cast<int64_t>(by_class[c].size());
      if (have < per_class) {
        const std::string name = classes == kCifarClasses ? " (" + std::string(kCifarClassNames[c]) + ")" : "";
        throw InputError("class-balanced calibration subset of " + std::to_string(count) +
                         " needs " + std::to_string(per_class) + " images of class " +
                         std::to_string(c) + name + ", but the set has only " + std::to_string(have));
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
