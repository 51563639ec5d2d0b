// batcher.h — epochs of normalized (optionally augmented) CIFAR-10 mini-batches.
//
// A Batcher walks a set of images (all of a Cifar10Set, or a subset of its indices) in batches of
// batch_size; the last batch of an epoch is short when the count is not a multiple of batch_size.
// Output of Fill: images [B, 3, H, W] float NCHW (H × W = the set's size: 32 × 32 for CIFAR-10),
// normalized as in normalize.h; labels [B] int32.
//
// Determinism (nothing depends on thread count or on the order batches are filled):
// - Epoch order: without shuffle, the images in their given order (0..n-1, or the subset as given).
//   With shuffle, a Fisher–Yates permutation of that list drawn from EpochShuffleStream(seed, epoch)
//   (common/streams.h): for i = n-1 down to 1: j = Below(i + 1); swap(order[i], order[j]).
// - Augmentation of original image `idx` in epoch `e`: DrawAugment on AugmentStream(seed, e, key),
//   then ApplyAugment before normalization, with key = idx + k·N for the k-th occurrence (k = 0, 1, …)
//   of idx in the subset and N = the set's size: a subset may repeat an index (an oversampled image),
//   and each copy gets its own augmentation; in a subset without repeats key = idx.
#pragma once

#include <cstdint>
#include <vector>

#include "common/parallel.h"
#include "data/cifar10.h"
#include "data/normalize.h"

namespace cimsim {

struct BatcherParams {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool augment = false;
  uint64_t seed = 0;

  // batch_size in [1, 1'000'000]; throws InputError naming the field and value.
  void Validate() const;
};

class Batcher {
 public:
  // All images of `set`. `set` must outlive the Batcher.
  Batcher(const Cifar10Set& set, const ChannelNorm& norm, const BatcherParams& params);
  // Only the images `subset` (indices into set, each in [0, set.size()), non-empty; an index may repeat,
  // see the augmentation keys above).
  Batcher(const Cifar10Set& set, std::vector<int64_t> subset, const ChannelNorm& norm,
          const BatcherParams& params);
  // The same with any pixel mapping (e.g. Normalizer::QuantizedInput for quantization-aware training).
  Batcher(const Cifar10Set& set, std::vector<int64_t> subset, const Normalizer& normalizer,
          const BatcherParams& params);
  // A Batcher keeps a pointer to the set: refuse temporaries.
  Batcher(Cifar10Set&&, const ChannelNorm&, const BatcherParams&) = delete;
  Batcher(Cifar10Set&&, std::vector<int64_t>, const ChannelNorm&, const BatcherParams&) = delete;

  int64_t NumImages() const { return static_cast<int64_t>(base_order_.size()); }
  int64_t NumBatches() const;
  const BatcherParams& params() const { return params_; }

  // Fixes the order (and augmentation streams) for epoch >= 0. Must be called before Fill.
  void StartEpoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }
  // Original indices in this epoch's order (NumImages() entries), and their augmentation keys.
  const std::vector<int64_t>& order() const { return order_; }
  const std::vector<int64_t>& augment_keys() const { return order_keys_; }

  // Writes batch `batch_index` (0 <= batch_index < NumBatches()) of the current epoch:
  // images [B, 3, H, W], labels [B], with room for params().batch_size images. Returns the number
  // of images written (batch_size, or fewer for the last batch). Images are filled in parallel on
  // `pool` if it is non-null; the result is bit-identical for any pool or none.
  int64_t Fill(int64_t batch_index, float* images, int32_t* labels, ThreadPool* pool) const;

 private:
  // scratch: room for one image's pixels (used when augmenting).
  void FillOne(int64_t position, float* image, int32_t* label, uint8_t* scratch) const;

  const Cifar10Set* set_;
  std::vector<int64_t> base_order_;  // the images before shuffling
  std::vector<int64_t> base_keys_;   // their augmentation keys (idx + occurrence·N)
  Normalizer normalizer_;
  BatcherParams params_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;
  std::vector<int64_t> order_keys_;
};

}  // namespace cimsim
