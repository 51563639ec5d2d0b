#include "data/batcher.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/augment.h"

namespace cimsim {
namespace {

constexpr int64_t kMaxBatchSize = 1'000'000;

std::vector<int64_t> AllIndices(const Cifar10Set& set) {
  std::vector<int64_t> v(static_cast<size_t>(set.size()));
  std::iota(v.begin(), v.end(), int64_t{0});
  return v;
}

// Checks the subset and returns each entry's augmentation key idx + k·N (k: the entry's occurrence).
std::vector<int64_t> SubsetKeys(const Cifar10Set& set, const std::vector<int64_t>& subset) {
  if (set.size() == 0) throw InputError("Batcher: the data set has no images");
  if (subset.empty())
    throw InputError("Batcher: the image subset is empty; give at least one index");
  std::vector<int64_t> seen(static_cast<size_t>(set.size()), 0);
  std::vector<int64_t> keys(subset.size());
  for (size_t k = 0; k < subset.size(); ++k) {
    const int64_t i = subset[k];
    if (i < 0 || i >= set.size()) {
      throw InputError("Batcher: subset[" + std::to_string(k) + "] = " + std::to_string(i) +
                       " is out of range; indices must be in [0, " + std::to_string(set.size()) +
                       ")");
    }
    keys[k] = i + seen[static_cast<size_t>(i)]++ * set.size();
  }
  return keys;
}

}  // namespace

void BatcherParams::Validate() const {
  if (batch_size < 1 || batch_size > kMaxBatchSize) {
    throw InputError("batch_size = " + std::to_string(batch_size) + " is not allowed; use 1.." +
                     std::to_string(kMaxBatchSize));
  }
}

Batcher::Batcher(const Cifar10Set& set, const ChannelNorm& norm, const BatcherParams& params)
    : Batcher(set, AllIndices(set), norm, params) {}

Batcher::Batcher(const Cifar10Set& set, std::vector<int64_t> subset, const ChannelNorm& norm,
                 const BatcherParams& params)
    : set_(&set), base_order_(std::move(subset)), normalizer_(norm, "Batcher"), params_(params) {
  params_.Validate();
  base_keys_ = SubsetKeys(set, base_order_);
}

Batcher::Batcher(const Cifar10Set& set, std::vector<int64_t> subset, const Normalizer& normalizer,
                 const BatcherParams& params)
    : set_(&set), base_order_(std::move(subset)), normalizer_(normalizer), params_(params) {
  params_.Validate();
  base_keys_ = SubsetKeys(set, base_order_);
}

int64_t Batcher::NumBatches() const {
  return (NumImages() + params_.batch_size - 1) / params_.batch_size;
}

void Batcher::StartEpoch(int64_t epoch) {
  if (epoch < 0)
    throw std::out_of_range("Batcher::StartEpoch: epoch " + std::to_string(epoch) + " < 0");
  epoch_ = epoch;
  order_ = base_order_;
  order_keys_ = base_keys_;
  if (params_.shuffle) {
    Rng rng = EpochShuffleStream(params_.seed, epoch);
    for (size_t i = order_.size() - 1; i >= 1; --i) {
      const size_t j = static_cast<size_t>(rng.Below(i + 1));
      std::swap(order_[i], order_[j]);
      std::swap(order_keys_[i], order_keys_[j]);
    }
  }
}

void Batcher::FillOne(int64_t position, float* image, int32_t* label, uint8_t* scratch) const {
  const int64_t idx = order_[static_cast<size_t>(position)];
  *label = set_->labels[static_cast<size_t>(idx)];
  const int64_t plane = int64_t{set_->height} * set_->width;
  if (!params_.augment) {
    normalizer_.Apply(set_->image(idx), plane, image);
    return;
  }
  Rng rng = AugmentStream(params_.seed, epoch_, order_keys_[static_cast<size_t>(position)]);
  const AugmentDraw draw = DrawAugment(rng);
  ApplyAugment(set_->image(idx), set_->height, set_->width, draw, scratch);
  normalizer_.Apply(scratch, plane, image);
}

int64_t Batcher::Fill(int64_t batch_index, float* images, int32_t* labels, ThreadPool* pool) const {
  if (epoch_ < 0) throw std::logic_error("Batcher::Fill called before StartEpoch");
  if (batch_index < 0 || batch_index >= NumBatches()) {
    throw std::out_of_range("Batcher::Fill: batch_index " + std::to_string(batch_index) +
                            " not in [0, " + std::to_string(NumBatches()) + ")");
  }
  const int64_t first = batch_index * params_.batch_size;
  const int64_t count = std::min(params_.batch_size, NumImages() - first);
  const int64_t image_values = set_->image_bytes();
  const auto fill_range = [&](std::ptrdiff_t begin, std::ptrdiff_t end, int /*worker*/) {
    // The augmented pixels of one image at a time: one buffer per range, not per image.
    std::vector<uint8_t> scratch(params_.augment ? static_cast<size_t>(image_values) : 0);
    for (std::ptrdiff_t k = begin; k < end; ++k) {
      FillOne(first + k, images + k * image_values, labels + k, scratch.data());
    }
  };
  if (pool != nullptr && pool->Threads() > 1) {
    pool->ParallelFor(count, fill_range);
  } else {
    fill_range(0, count, 0);
  }
  return count;
}

}  // namespace cimsim
