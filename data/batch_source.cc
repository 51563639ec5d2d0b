#include "data/batch_source.h"

#include <algorithm>
#include <utility>

namespace cimsim {

CifarBatches::CifarBatches(const Cifar10Set& set, std::vector<int64_t> subset, const Normalizer& normalizer,
                           const BatcherParams& params)
    : set_(set), batcher_(set, std::move(subset), normalizer, params) {}

std::array<int64_t, 3> CifarBatches::ImageShape() const { return {kCifarChannels, set_.height, set_.width}; }

void CifarBatches::StartEpoch(int64_t epoch) {
  batcher_.StartEpoch(epoch);
  next_ = 0;
}

bool CifarBatches::Next(float* images, int32_t* labels, int64_t* n, ThreadPool* pool) {
  if (next_ >= batcher_.NumBatches()) return false;
  *n = batcher_.Fill(next_++, images, labels, pool);
  return true;
}

FolderBatches::FolderBatches(const ImageFolder& folder, const ImageLoaderParams& params, const Normalizer& normalizer)
    : loader_(folder, params), normalizer_(normalizer) {}

std::array<int64_t, 3> FolderBatches::ImageShape() const {
  const int crop = loader_.params().pipeline.crop;
  return {kCifarChannels, crop, crop};
}

bool FolderBatches::Next(float* images, int32_t* labels, int64_t* n, ThreadPool* pool) {
  std::optional<ImageBatch> batch = loader_.Next();
  if (!batch) return false;
  const int64_t count = batch->size();
  const int64_t plane = int64_t{loader_.params().pipeline.crop} * loader_.params().pipeline.crop;
  const int64_t values = kCifarChannels * plane;
  const auto fill = [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t i = begin; i < end; ++i)
      normalizer_.Apply(batch->chw.data() + i * values, plane, images + i * values);
  };
  if (pool != nullptr && pool->Threads() > 1) {
    pool->ParallelFor(count, fill);
  } else {
    fill(0, count, 0);
  }
  std::copy(batch->labels.begin(), batch->labels.end(), labels);
  *n = count;
  return true;
}

}  // namespace cimsim
