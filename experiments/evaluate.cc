#include "experiments/evaluate.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "common/error.h"
#include "data/batcher.h"

namespace cimsim {
namespace {

template <typename T>
int32_t Argmax(const T* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

}  // namespace

void EvalParams::Validate() const {
  if (limit < 0) throw InputError("--limit " + std::to_string(limit) + " is not allowed: use 0 (all) or a positive count");
  if (batch_size < 1 || batch_size > 100000) {
    throw InputError("--batch " + std::to_string(batch_size) + " is not allowed: use 1..100000");
  }
  if (threads < 1 || threads > 1024) throw InputError("--threads " + std::to_string(threads) + " is not allowed: use 1..1024");
}

void CheckLabelsClassifiable(int64_t num_classes, const Cifar10Set& data) {
  const int top = data.labels.empty() ? 0 : *std::max_element(data.labels.begin(), data.labels.end());
  if (num_classes < kCifarClasses && data.class_names.empty())  // CIFAR-10 data
    throw InputError("the model has " + std::to_string(num_classes) + " outputs, CIFAR-10 needs " +
                     std::to_string(kCifarClasses));
  if (top >= num_classes)
    throw InputError("the model has " + std::to_string(num_classes) + " outputs, the data has label " + std::to_string(top));
  const size_t named = data.ClassNames().size();
  if (static_cast<size_t>(top) >= named)
    throw InputError("the data has label " + std::to_string(top) + " but names " + std::to_string(named) + " classes");
}

EvalResult Evaluate(Network& net, const ChannelNorm& norm, const Cifar10Set& data, const EvalParams& params,
                    Progress* progress) {
  params.Validate();
  if (params.precision == Precision::kInteger) throw std::logic_error("Evaluate runs float networks; use EvaluateInteger");
  const int64_t H = data.height, W = data.width;
  const Shape image_shape = {kCifarChannels, H, W};
  const int64_t classes = net.NodeShapes({1, kCifarChannels, H, W}).back()[1];
  CheckLabelsClassifiable(classes, data);
  const int64_t n = params.limit > 0 ? std::min(params.limit, data.size()) : data.size();
  EvalResult result;
  result.Start(data);
  result.macs_per_image = net.MacsPerImage(image_shape);
  result.predictions.reserve(static_cast<size_t>(n));
  if (n == 0) return result;

  std::vector<int64_t> subset(static_cast<size_t>(n));
  std::iota(subset.begin(), subset.end(), 0);
  BatcherParams bp;
  bp.batch_size = std::min(params.batch_size, n);  // never allocate for more images than exist
  bp.shuffle = false;
  bp.augment = false;
  Batcher batcher(data, std::move(subset), norm, bp);
  batcher.StartEpoch(0);
  ThreadPool pool(params.threads);
  Tensor images, logits;
  TensorD logits_ref;
  std::vector<int32_t> labels(static_cast<size_t>(bp.batch_size));

  const auto start = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < batcher.NumBatches(); ++b) {
    images.Resize({bp.batch_size, kCifarChannels, H, W});  // room for a full batch
    const int64_t count = batcher.Fill(b, images.data(), labels.data(), &pool);
    images.Resize({count, kCifarChannels, H, W});
    if (params.precision == Precision::kFloat32) {
      net.Forward(images, logits, pool);
    } else {
      // The reference runs image by image, images spread over the pool; argmax in float64 too.
      logits_ref.Resize({count, classes});
      pool.ParallelFor(count, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
        TensorD image({1, kCifarChannels, H, W});
        for (std::ptrdiff_t i = begin; i < end; ++i) {
          std::copy_n(images.data() + i * image.size(), image.size(), image.data());
          const TensorD out = net.ForwardReference(image);
          std::copy_n(out.data(), classes, logits_ref.data() + i * classes);
        }
      });
    }
    for (int64_t i = 0; i < count; ++i) {
      const int32_t pred = params.precision == Precision::kFloat32 ? Argmax(logits.data() + i * classes, classes)
                                                                   : Argmax(logits_ref.data() + i * classes, classes);
      result.Record(pred, labels[static_cast<size_t>(i)]);
    }
    result.total += count;
    if (progress) progress->Add(count);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (progress) progress->Finish();
  return result;
}

}  // namespace cimsim
