// bench_folder_training — is the ImageNet-format data pipeline the bottleneck of training?
//
// On an image folder ROOT (ROOT/train/<class>/…; e.g. `python3 scripts/make_image_folder.py
// runs/synth10`), for the tiny VGG and ResNet-18 with the ImageNet stem at CROP × CROP (default 64,
// Resize 72 — the Tiny-ImageNet setting), batch 32, images/s of
//   pipeline: one epoch of FolderBatches::Next alone (decode, RandomResizedCrop + flip, normalize), on
//             1 and 2 decoding threads;
//   step:     the training step alone on a batch already in memory (ForwardTrain, softmax
//             cross-entropy, Backward, SGD with momentum, ParamsChanged), 2 compute threads;
//   loop:     the two together as `cimsim train` runs them (2 decoding threads reading one batch
//             ahead, 2 compute threads), over one epoch.
// The pipeline is not the bottleneck when pipeline(2 threads) / step > 1 — printed as "headroom" — and
// then loop ≈ step. The two share the machine's cores, so loop < min(pipeline, step) is expected.
// Usage: bench_folder_training ROOT [CROP [RESIZE]]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "data/batch_source.h"
#include "data/image_folder.h"
#include "data/normalize.h"
#include "nets/builders.h"
#include "nets/init.h"
#include "train/sgd.h"
#include "train/softmax_cross_entropy.h"
#include "train/train_graph.h"

namespace cimsim {
namespace {

constexpr int64_t kBatch = 32;
constexpr int kComputeThreads = 2;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::unique_ptr<FolderBatches> Source(const ImageFolder& folder, int crop, int resize, int threads, const Normalizer& norm) {
  ImageLoaderParams p;
  p.pipeline.crop = crop;
  p.pipeline.resize = resize;
  p.batch_size = kBatch;
  p.train = true;
  p.seed = 1;
  p.decode_threads = threads;
  return std::make_unique<FolderBatches>(folder, p, norm);
}

double PipelineRate(const ImageFolder& folder, int crop, int resize, int threads, const Normalizer& norm) {
  std::unique_ptr<FolderBatches> source = Source(folder, crop, resize, threads, norm);
  std::vector<float> images(static_cast<size_t>(kBatch * 3 * crop * crop));
  std::vector<int32_t> labels(kBatch);
  int64_t n = 0, total = 0;
  const auto t0 = std::chrono::steady_clock::now();
  source->StartEpoch(0);
  while (source->Next(images.data(), labels.data(), &n, nullptr)) total += n;
  return static_cast<double>(total) / Seconds(t0);
}

// One training step on (images, labels); returns nothing, the caller times it.
class Stepper {
 public:
  explicit Stepper(Network& net) : net_(net), graph_(net) {
    std::vector<SgdEntry> entries;
    for (const ParamRef& p : graph_.Params()) entries.push_back(SgdEntry{p.name, p.param, p.grad});
    SgdParams sp;
    sp.momentum = 0.9;
    sp.weight_decay = 1e-4;
    sgd_ = std::make_unique<Sgd>(std::move(entries), sp);
  }
  void Step(const Tensor& images, std::span<const int32_t> labels, ThreadPool& pool) {
    const Tensor& logits = graph_.ForwardTrain(images, pool);
    SoftmaxCrossEntropy(logits, labels, &grad_);
    graph_.Backward(grad_, pool);
    sgd_->Step(0.01);
    for (NetworkNode& node : net_.nodes()) node.layer->ParamsChanged();
  }

 private:
  Network& net_;
  TrainGraph graph_;
  std::unique_ptr<Sgd> sgd_;
  Tensor grad_;
};

struct Rates {
  double step = 0, loop = 0;
};

Rates TrainRates(Network& net, const ImageFolder& folder, int crop, int resize, const Normalizer& norm) {
  ThreadPool pool(kComputeThreads);
  Stepper stepper(net);
  Tensor images({kBatch, 3, crop, crop});
  std::vector<int32_t> labels(kBatch);
  std::unique_ptr<FolderBatches> source = Source(folder, crop, resize, 2, norm);
  source->StartEpoch(0);
  int64_t n = 0;
  source->Next(images.data(), labels.data(), &n, &pool);
  images.Resize({n, 3, crop, crop});
  Rates r;
  stepper.Step(images, {labels.data(), static_cast<size_t>(n)}, pool);  // allocates the training state
  const int steps = 8;
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < steps; ++s) stepper.Step(images, {labels.data(), static_cast<size_t>(n)}, pool);
  r.step = static_cast<double>(steps * n) / Seconds(t0);

  int64_t total = 0;
  images.Resize({kBatch, 3, crop, crop});
  t0 = std::chrono::steady_clock::now();
  source->StartEpoch(1);
  while (source->Next(images.data(), labels.data(), &n, &pool)) {
    images.Resize({n, 3, crop, crop});
    stepper.Step(images, {labels.data(), static_cast<size_t>(n)}, pool);
    images.Resize({kBatch, 3, crop, crop});
    total += n;
  }
  r.loop = static_cast<double>(total) / Seconds(t0);
  return r;
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) {
  using namespace cimsim;
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_folder_training ROOT [CROP [RESIZE]]  (ROOT/train/<class>/...)\n");
    return 2;
  }
  const int crop = argc > 2 ? std::atoi(argv[2]) : 64;
  const int resize = argc > 3 ? std::atoi(argv[3]) : crop * 9 / 8;
  try {
    const ImageFolder folder = ScanImageFolder((std::filesystem::path(argv[1]) / "train").string());
    const ChannelNorm imagenet{{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
    const Normalizer norm(imagenet);
    const int classes = static_cast<int>(folder.classes.size());
    std::printf("%s: %lld training images, %d classes, crop %d, resize %d, batch %lld; images/s (higher is better)\n",
                folder.root.c_str(), static_cast<long long>(folder.size()), classes, crop, resize,
                static_cast<long long>(kBatch));
    std::printf("%-26s %12s %12s %10s %10s %10s\n", "model", "pipeline 1t", "pipeline 2t", "step", "loop", "headroom");
    const double p1 = PipelineRate(folder, crop, resize, 1, norm), p2 = PipelineRate(folder, crop, resize, 2, norm);
    struct Case {
      const char* name;
      ModelSpec spec;
    };
    ModelSpec vgg;
    vgg.arch = "vgg";
    vgg.vgg_config = "tiny";
    vgg.num_classes = classes;
    ModelSpec r18;
    r18.depth = 18;
    r18.shortcut = 'B';
    r18.stem = "imagenet";
    r18.num_classes = classes;
    for (const Case& c : {Case{"tiny VGG", vgg}, Case{"ResNet-18 (ImageNet stem)", r18}}) {
      Network net = BuildNetwork(c.spec);
      InitializeKaiming(net, 1);
      const Rates r = TrainRates(net, folder, crop, resize, norm);
      std::printf("%-26s %12.0f %12.0f %10.0f %10.0f %9.1fx\n", c.name, p1, p2, r.step, r.loop, p2 / r.step);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_folder_training: %s\n", e.what());
    return 2;
  }
  return 0;
}
