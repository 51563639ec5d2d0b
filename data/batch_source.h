// batch_source.h — the training loop's view of a data set: epochs of normalized mini-batches, the
// same interface for the CIFAR-10 images held in memory and for an ImageNet-format folder decoded on
// the fly.
//
// Per epoch: StartEpoch(e), then Next(...) until it returns false. Each call writes one batch:
// images [n, 3, H, W] float NCHW (normalized by the source's Normalizer, data/normalize.h), labels [n]
// int32, n <= BatchSize() (the last batch of an epoch is short; a folder batch is also short by the
// images its BadImagePolicy::kSkip left out, and may then be empty: n = 0 is a valid batch).
// Everything a batch holds is a pure function of the seed, the epoch and the batch index — never of
// the thread count or of how far ahead the decoding runs (data/batcher.h, data/image_loader.h).
//
//   CifarBatches: a Batcher over an in-memory set (CIFAR-10 or an image folder's evaluation views):
//                 shuffle, RandomCrop(H, padding 4) + flip when augmenting (data/augment.h).
//   FolderBatches: an ImageLoader (training views: RandomResizedCrop + flip, decoded in parallel one
//                 batch ahead), then the Normalizer's table per pixel.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "common/parallel.h"
#include "data/batcher.h"
#include "data/image_folder.h"
#include "data/image_loader.h"
#include "data/normalize.h"

namespace cimsim {

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // {3, H, W} of every image.
  virtual std::array<int64_t, 3> ImageShape() const = 0;
  virtual int64_t NumImages() const = 0;
  virtual int64_t NumBatches() const = 0;
  virtual int64_t BatchSize() const = 0;
  virtual void StartEpoch(int64_t epoch) = 0;
  // The epoch's next batch into images (room for BatchSize() images) and labels; false after the
  // last. *n = the images written. `pool` may fill in parallel (bit-identical for any pool).
  virtual bool Next(float* images, int32_t* labels, int64_t* n, ThreadPool* pool) = 0;
  // Images left out so far by a skip policy (0 for in-memory sets).
  virtual int64_t Skipped() const { return 0; }
};

class CifarBatches : public BatchSource {
 public:
  // `set` must outlive this source.
  CifarBatches(const Cifar10Set& set, std::vector<int64_t> subset, const Normalizer& normalizer,
               const BatcherParams& params);
  std::array<int64_t, 3> ImageShape() const override;
  int64_t NumImages() const override { return batcher_.NumImages(); }
  int64_t NumBatches() const override { return batcher_.NumBatches(); }
  int64_t BatchSize() const override { return batcher_.params().batch_size; }
  void StartEpoch(int64_t epoch) override;
  bool Next(float* images, int32_t* labels, int64_t* n, ThreadPool* pool) override;

 private:
  const Cifar10Set& set_;
  Batcher batcher_;
  int64_t next_ = 0;
};

class FolderBatches : public BatchSource {
 public:
  // `folder` must outlive this source. params.train selects training or evaluation views.
  FolderBatches(const ImageFolder& folder, const ImageLoaderParams& params, const Normalizer& normalizer);
  std::array<int64_t, 3> ImageShape() const override;
  int64_t NumImages() const override { return loader_.NumImages(); }
  int64_t NumBatches() const override { return loader_.NumBatches(); }
  int64_t BatchSize() const override { return loader_.params().batch_size; }
  void StartEpoch(int64_t epoch) override { loader_.StartEpoch(epoch); }
  bool Next(float* images, int32_t* labels, int64_t* n, ThreadPool* pool) override;
  int64_t Skipped() const override { return loader_.Skipped(); }

 private:
  ImageLoader loader_;
  Normalizer normalizer_;
};

}  // namespace cimsim
