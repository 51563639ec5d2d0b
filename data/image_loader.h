// image_loader.h — epochs of decoded, transformed batches from an ImageNet-format dataset
// (image_folder.h), decoded in parallel and one batch ahead of the consumer.
//
// Output per batch: chw [n, 3, crop, crop] uint8 (normalisation is the consumer's, data/normalize.h),
// labels [n], indices [n] (into ImageFolder::items), n <= batch_size.
//
// Determinism (nothing depends on the thread count, the prefetch or the batch that is being read):
// - Epoch order: in training, the Fisher–Yates permutation of 0..N-1 from EpochShuffleStream(seed,
//   epoch) (as data/batcher.h); in evaluation, 0..N-1.
// - Image `i` of epoch `e` in training: DrawTrainCrop on AugmentStream(seed, e, i), then TrainView;
//   in evaluation: EvalView (image_pipeline.h).
// Bad images (empty, not JPEG or PNG, corrupt, truncated, too large; image_decode.h):
//   BadImagePolicy::kError — the batch's load throws the InputError naming the file (the first bad one
//     in batch order);
//   BadImagePolicy::kSkip — the image is left out of its batch (n shrinks by one) and named in the
//     batch's `skipped`; the loader counts them (Skipped()).
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "data/image_folder.h"
#include "data/image_pipeline.h"

namespace cimsim {

enum class BadImagePolicy { kError, kSkip };

struct ImageLoaderParams {
  ImagePipelineParams pipeline;
  int64_t batch_size = 128;   // 1..1,000,000
  bool train = true;          // training views and a shuffled order, else evaluation views in order
  uint64_t seed = 0;
  BadImagePolicy bad_images = BadImagePolicy::kError;
  int decode_threads = 1;     // the loader's own pool, 1..256

  void Validate(const std::string& where) const;
};

struct ImageBatch {
  std::vector<uint8_t> chw;
  std::vector<int32_t> labels;
  std::vector<int64_t> indices;
  std::vector<std::string> skipped;   // kSkip: the bad images left out, with their reasons

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

class ImageLoader {
 public:
  // `set` must outlive the loader. Validates params (InputError naming "image loader").
  ImageLoader(const ImageFolder& set, const ImageLoaderParams& params);
  ~ImageLoader();
  ImageLoader(const ImageLoader&) = delete;
  ImageLoader& operator=(const ImageLoader&) = delete;

  int64_t NumImages() const { return static_cast<int64_t>(set_.items.size()); }
  int64_t NumBatches() const;
  const ImageLoaderParams& params() const { return params_; }

  // Fixes epoch `epoch`'s order and starts decoding its first batch.
  void StartEpoch(int64_t epoch);
  // The epoch's next batch (batches 0, 1, ... in turn), and starts decoding the one after it; an
  // empty optional after the last. Rethrows a load's InputError (kError); after one, StartEpoch again.
  std::optional<ImageBatch> Next();
  // Batch b of the current epoch, loaded now (on the loader's pool, after any read-ahead in progress
  // has let go of it): what Next gives.
  ImageBatch Load(int64_t b) const;
  int64_t Skipped() const { return skipped_; }

 private:
  const ImageFolder& set_;
  ImageLoaderParams params_;
  std::unique_ptr<ThreadPool> pool_;
  mutable std::mutex pool_mutex_;   // one batch at a time on the pool (the read-ahead, or a Load)
  int64_t epoch_ = -1, next_ = 0, skipped_ = 0;
  std::vector<int64_t> order_;
  std::future<ImageBatch> ahead_;
};

}  // namespace cimsim
