#include "data/image_loader.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "common/error.h"
#include "common/streams.h"

namespace cimsim {

void ImageLoaderParams::Validate(const std::string& where) const {
  pipeline.Validate(where);
  if (batch_size < 1 || batch_size > 1'000'000)
    throw InputError(where + ": batch_size: " + std::to_string(batch_size) + " is out of range; allowed 1..1000000");
  if (decode_threads < 1 || decode_threads > 256)
    throw InputError(where + ": decode_threads: " + std::to_string(decode_threads) + " is out of range; allowed 1..256");
}

ImageLoader::ImageLoader(const ImageFolder& set, const ImageLoaderParams& params) : set_(set), params_(params) {
  params_.Validate("image loader");
  pool_ = std::make_unique<ThreadPool>(params_.decode_threads);
}

ImageLoader::~ImageLoader() {
  if (ahead_.valid()) ahead_.wait();
}

int64_t ImageLoader::NumBatches() const { return (NumImages() + params_.batch_size - 1) / params_.batch_size; }

void ImageLoader::StartEpoch(int64_t epoch) {
  if (ahead_.valid()) ahead_.wait();
  ahead_ = {};
  epoch_ = epoch;
  order_.resize(static_cast<size_t>(NumImages()));
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<int64_t>(i);
  if (params_.train) {
    Rng rng = EpochShuffleStream(params_.seed, epoch);
    for (size_t i = order_.size(); i-- > 1;) std::swap(order_[i], order_[rng.Below(i + 1)]);
  }
  next_ = 0;
  if (NumBatches() > 0) ahead_ = std::async(std::launch::async, [this] { return Load(0); });
}

std::optional<ImageBatch> ImageLoader::Next() {
  if (epoch_ < 0) throw std::logic_error("ImageLoader::Next before StartEpoch");
  if (next_ >= NumBatches()) return std::nullopt;
  if (!ahead_.valid()) throw std::logic_error("ImageLoader::Next after a failed load: start the epoch again");
  ImageBatch batch = ahead_.get();   // rethrows the load's InputError
  ++next_;
  if (next_ < NumBatches()) ahead_ = std::async(std::launch::async, [this, b = next_] { return Load(b); });
  skipped_ += static_cast<int64_t>(batch.skipped.size());
  return batch;
}

ImageBatch ImageLoader::Load(int64_t b) const {
  const int64_t first = b * params_.batch_size;
  const int64_t n = std::min(params_.batch_size, NumImages() - first);
  const int crop = params_.pipeline.crop;
  const size_t image_bytes = static_cast<size_t>(3) * crop * crop;
  std::vector<uint8_t> chw(static_cast<size_t>(n) * image_bytes);
  std::vector<std::string> errors(static_cast<size_t>(n));
  const std::lock_guard<std::mutex> lock(pool_mutex_);
  pool_->ParallelFor(n, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    for (std::ptrdiff_t k = begin; k < end; ++k) {
      const int64_t index = order_[static_cast<size_t>(first + k)];
      const std::string& path = set_.items[static_cast<size_t>(index)].path;
      try {
        const RgbImage image = DecodeImageFile(path);
        uint8_t* out = chw.data() + static_cast<size_t>(k) * image_bytes;
        if (params_.train) {
          Rng rng = AugmentStream(params_.seed, epoch_, index);
          TrainView(image, DrawTrainCrop(image.height, image.width, params_.pipeline, rng), params_.pipeline, out);
        } else {
          EvalView(image, params_.pipeline, path, out);
        }
      } catch (const InputError& e) {
        errors[static_cast<size_t>(k)] = e.what();
      }
    }
  });
  ImageBatch batch;
  batch.chw.reserve(chw.size());
  for (int64_t k = 0; k < n; ++k) {
    const std::string& error = errors[static_cast<size_t>(k)];
    if (!error.empty()) {
      if (params_.bad_images == BadImagePolicy::kError)
        throw InputError(error + " (a loader with bad images set to skip leaves such files out and counts them)");
      batch.skipped.push_back(error);
      continue;
    }
    const int64_t index = order_[static_cast<size_t>(first + k)];
    batch.chw.insert(batch.chw.end(), chw.begin() + static_cast<std::ptrdiff_t>(k * image_bytes),
                     chw.begin() + static_cast<std::ptrdiff_t>((k + 1) * image_bytes));
    batch.labels.push_back(set_.items[static_cast<size_t>(index)].label);
    batch.indices.push_back(index);
  }
  return batch;
}

}  // namespace cimsim
