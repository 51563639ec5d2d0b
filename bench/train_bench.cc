// bench_train — one training epoch of ResNet-20 on CIFAR-10 (float and W4A4 LSQ QAT), against
// Eigen's own SGEMM and, when python3 can import torch, against PyTorch on the same machine.
//
// Benchmarks (one run each):
//   EigenSgemm/T:      C[1024×1024] = A·B in float32, the columns of C split over T = 1, 2 threads
//                      (Eigen's kernel, our pool): the machine's GEMM peak (bench_support.h).
//   TrainFloatEpoch/2: one epoch of float ResNet-20 (BuildCifarResNet(20, 'A', 10), Kaiming init
//                      seed 1, or the model of $CIMSIM_MODEL when set) on 2 threads: the 50,000
//                      training images (LoadCifar10($CIMSIM_DATA, kTrain) when set, else 50,000 seeded
//                      random images — speed does not depend on the pixel values), batch 128,
//                      shuffled, random crop 4 + horizontal flip (Batcher seed 1, epoch 0). Per batch
//                      exactly the work of experiments/training_run.cc: Batcher::Fill,
//                      TrainGraph::ForwardTrain, SoftmaxCrossEntropy, Backward, Sgd::Step (momentum
//                      0.9, weight decay 1e-4, lr of the default step schedule, 0.1) and every layer's
//                      ParamsChanged. No evaluation, no checkpoint.
//   TrainQatEpoch/2/B: the same batches through the QAT network of cimsim qat --w-bits 4 --a-bits 4
//                      --method lsq: QuantizeNetwork with every layer post-training (calibration on
//                      500 class-balanced training images, 100 for random data) fixes the graph and
//                      the initial scales, then BuildQatNetwork with every conv at W4A4 LSQ and the
//                      first conv and the last linear fixed at 8 bits; input through
//                      Normalizer::QuantizedInput; lr of the QAT default cosine schedule (0.01, 15
//                      epochs); quantizer steps without weight decay; B = 0: BatchNorm folded before
//                      QAT, B = 1: kept in training mode (--batch-norm train). Setup is not timed.
// Counters: images/s; s/epoch = 50,000 / (images/s); GFLOP/s = 3 × 2 × MACs/image × images/s (the
// forward GEMM plus the two backward GEMMs, input and weight gradients; everything else the step does
// — BatchNorm, ReLU, quantizers, SGD, batch filling — is counted as zero flops); loss (mean over the
// timed batches, a sanity check that the run trains).
//
// Fewer images: `--epoch-images=N` (or CIMSIM_BENCH_TRAIN_IMAGES=N) times only the first ceil(N/128)
// batches of the shuffled epoch and extrapolates s/epoch from their images/s (the default, 50,000,
// times the whole epoch, nothing extrapolated). Every epoch time includes the first batch, which
// allocates the training state, as in a real epoch.
//
// PyTorch: after the runs, when `python3 -c "import torch"` succeeds (python3 on PATH, then
// /usr/bin/python3, or $CIMSIM_PYTHON when set), bench/pytorch_train_speed.py
// trains the same ResNet-20 (option-A shortcuts) in PyTorch with 2 threads, batch 128, SGD momentum
// 0.9, weight decay 1e-4, the same normalization and random crop + flip done on the fly, on the same
// training images ($CIMSIM_DATA) or seeded random ones, and times 100 batches after 5 warm-up ones.
// Otherwise it says "PyTorch: not installed" and is skipped. PyTorch is no build or test dependency.
//
// Closing summary and targets: float epoch <= 120 s; QAT epoch time / float epoch time <= 1.3;
// cimsim float images/s >= 2 × PyTorch's. The GFLOP/s are printed as a share of the 2-thread peak.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "common/parallel.h"
#include "common/rng.h"
#include "data/batcher.h"
#include "data/cifar10.h"
#include "data/normalize.h"
#include "experiments/train_config.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/init.h"
#include "nets/quantize_network.h"
#include "quant/quant_plan.h"
#include "train/lr_schedule.h"
#include "train/qat_network.h"
#include "train/sgd.h"
#include "train/softmax_cross_entropy.h"
#include "train/train_graph.h"

#ifndef CIMSIM_BENCH_DIR
#define CIMSIM_BENCH_DIR "bench"
#endif

namespace cimsim {
namespace {

constexpr int64_t kTrainImages = 50000;
constexpr int64_t kBatch = 128;
constexpr int kThreads = 2;
constexpr int64_t kTorchBatches = 100;
constexpr int64_t kTorchWarmup = 5;

// Images to time per epoch: --epoch-images=N, else CIMSIM_BENCH_TRAIN_IMAGES, else the whole epoch.
int64_t g_epoch_images = kTrainImages;

// The CIFAR-10 training set from $CIMSIM_DATA, or 50,000 seeded random images.
const Cifar10Set& TrainSet() {
  static const Cifar10Set set = [] {
    if (const char* dir = std::getenv("CIMSIM_DATA")) return LoadCifar10(dir, Cifar10Split::kTrain);
    return bench::RandomBenchSet(kTrainImages, 11);
  }();
  return set;
}

bool RealData() { return std::getenv("CIMSIM_DATA") != nullptr; }

// The float ResNet-20: the model of $CIMSIM_MODEL, or a seeded Kaiming initialization.
LoadedModel FloatModel() {
  if (const char* path = std::getenv("CIMSIM_MODEL")) return LoadModel(path);
  LoadedModel m{ModelSpec{}, BuildCifarResNet(20, 'A', 10)};
  InitializeKaiming(m.net, 1);
  return m;
}

bool IsQuantizerParam(const std::string& name) {
  for (const std::string s : {"_step", "_clip", "_alpha"})
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  return false;
}

struct EpochTiming {
  double seconds = 0;  // of the timed batches
  int64_t images = 0;  // images in the timed batches
  double loss = 0;     // mean over them
};

// The loop body of experiments/training_run.cc over the first batches of epoch 0 that hold at least
// g_epoch_images images (all batches by default).
EpochTiming TimeEpoch(Network& net, const Normalizer& input, const LrSchedule& schedule,
                      const std::function<bool(const std::string&)>& no_weight_decay) {
  const Cifar10Set& data = TrainSet();
  ThreadPool pool(kThreads);
  TrainGraph graph(net);
  std::vector<SgdEntry> entries;
  for (const ParamRef& p : graph.Params()) {
    SgdEntry e{p.name, p.param, p.grad};
    if (no_weight_decay && no_weight_decay(p.name)) e.weight_decay = false;
    entries.push_back(e);
  }
  SgdParams sp;
  sp.momentum = 0.9;
  sp.weight_decay = 1e-4;
  Sgd sgd(std::move(entries), sp);
  std::vector<int64_t> all(static_cast<size_t>(data.size()));
  for (int64_t i = 0; i < data.size(); ++i) all[static_cast<size_t>(i)] = i;
  BatcherParams bp;
  bp.batch_size = kBatch;
  bp.shuffle = true;
  bp.augment = true;
  bp.seed = 1;
  Batcher batcher(data, std::move(all), input, bp);
  const int64_t batches = std::min(batcher.NumBatches(), (g_epoch_images + kBatch - 1) / kBatch);
  Tensor images({kBatch, kCifarChannels, kCifarHeight, kCifarWidth}), grad;
  std::vector<int32_t> labels(static_cast<size_t>(kBatch));
  EpochTiming t;
  double loss_sum = 0;
  batcher.StartEpoch(0);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t n = batcher.Fill(b, images.data(), labels.data(), &pool);
    images.Resize({n, kCifarChannels, kCifarHeight, kCifarWidth});
    const Tensor& logits = graph.ForwardTrain(images, pool);
    const LossResult r = SoftmaxCrossEntropy(logits, std::span<const int32_t>(labels.data(), static_cast<size_t>(n)), &grad);
    graph.Backward(grad, pool);
    sgd.Step(schedule.LearningRate(0, b, batcher.NumBatches()));
    for (NetworkNode& node : net.nodes()) node.layer->ParamsChanged();
    loss_sum += r.loss * static_cast<double>(n);
    t.images += n;
    images.Resize({kBatch, kCifarChannels, kCifarHeight, kCifarWidth});
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  t.loss = loss_sum / static_cast<double>(t.images);
  return t;
}

void SetCounters(benchmark::State& state, const EpochTiming& t, double macs) {
  state.SetIterationTime(t.seconds);
  const double ips = static_cast<double>(t.images) / t.seconds;
  state.counters["images/s"] = ips;
  state.counters["s/epoch"] = static_cast<double>(TrainSet().size()) / ips;
  state.counters["GFLOP/s"] = 3.0 * 2.0 * macs * ips * 1e-9;
  state.counters["images"] = static_cast<double>(t.images);
  state.counters["loss"] = t.loss;
}

void TrainFloatEpoch(benchmark::State& state) {
  LoadedModel model = FloatModel();
  const Normalizer input(model.spec.input_norm, "float model");
  LrScheduleParams sp;  // cimsim train's default: step schedule, 0.1
  const LrSchedule schedule(sp);
  const double macs = static_cast<double>(model.net.MacsPerImage({3, 32, 32}));
  for (auto _ : state) SetCounters(state, TimeEpoch(model.net, input, schedule, nullptr), macs);
}

void TrainQatEpoch(benchmark::State& state) {
  LoadedModel model = FloatModel();
  const Cifar10Set& data = TrainSet();
  const double macs = static_cast<double>(model.net.MacsPerImage({3, 32, 32}));
  // The plan of cimsim qat --w-bits 4 --a-bits 4 --method lsq (first and last layer 8-bit PTQ).
  const std::vector<std::string> names = MvmLayerNames(model.net);
  QuantPlan plan;
  plan.source = "flags";
  plan.defaults.weight_bits = 4;
  plan.defaults.activation_bits = 4;
  plan.defaults.mode = QuantMode::kQat;
  plan.defaults.qat_method = QatAlgorithm::kLsq;
  for (const std::string& name : {names.front(), names.back()}) {
    LayerRule rule;
    rule.pattern = name;
    rule.set.weight_bits = 8;
    rule.set.activation_bits = 8;
    rule.set.mode = QuantMode::kPtq;
    plan.rules.push_back(rule);
  }
  plan.calibration.images = RealData() ? 500 : 100;
  const std::vector<ResolvedLayer> layers = plan.Resolve(names, true);
  std::vector<ResolvedLayer> ptq = layers;
  for (ResolvedLayer& l : ptq) l.mode = QuantMode::kPtq;
  const PlannedCalibration cal = PlanCalibration(data, plan.calibration);
  const auto t0 = std::chrono::steady_clock::now();
  const QuantizedModel base = QuantizeNetwork(model.net, model.spec, ptq, data, cal.indices, cal.options, nullptr);
  std::map<std::string, QatMethod> methods;
  for (const ResolvedLayer& l : layers) methods[l.name] = l.mode == QuantMode::kPtq ? QatMethod::kFixed : QatMethod::kLsq;
  // Arg 1: 0 = BatchNorm folded before QAT, 1 = kept in training mode (docs/training.md).
  const QatBatchNorm bn = state.range(1) ? QatBatchNorm::kTrain : QatBatchNorm::kFolded;
  std::unique_ptr<QatNetwork> qat = BuildQatNetwork(base, model.net, methods, bn);
  const double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Normalizer input = Normalizer::QuantizedInput(model.spec.input_norm, base.input_scale, base.input_lut);
  LrScheduleParams sp;  // cimsim qat's default: cosine from 0.01 over 15 epochs
  sp.kind = "cosine";
  sp.base_lr = 0.01;
  sp.epochs = 15;
  const LrSchedule schedule(sp);
  for (auto _ : state) SetCounters(state, TimeEpoch(qat->net, input, schedule, IsQuantizerParam), macs);
  state.counters["setup_s"] = setup;
}

BENCHMARK(bench::EigenSgemmPeak)->Name("EigenSgemm")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(TrainFloatEpoch)->Arg(kThreads)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(1);
BENCHMARK(TrainQatEpoch)->Args({kThreads, 0})->Args({kThreads, 1})->Unit(benchmark::kSecond)->UseManualTime()->Iterations(1);

// The same training in PyTorch (bench/pytorch_train_speed.py): its JSON result, or nullopt with the
// reason printed.
std::optional<nlohmann::json> RunPyTorch() {
  // The first interpreter that can import torch: $CIMSIM_PYTHON if set, else python3 on PATH, then
  // Debian's /usr/bin/python3 (where python3-torch installs; PATH may lead to another python3).
  std::vector<std::string> candidates = {"python3", "/usr/bin/python3"};
  if (const char* p = std::getenv("CIMSIM_PYTHON")) candidates = {p};
  std::string python;
  for (const std::string& c : candidates)
    if (std::system(("'" + c + "' -c 'import torch' >/dev/null 2>&1").c_str()) == 0) {
      python = c;
      break;
    }
  if (python.empty()) {
    std::printf("PyTorch: not installed (apt-get install python3-torch)\n");
    return std::nullopt;
  }
  std::string cmd = "'" + python + "' '" + std::string(CIMSIM_BENCH_DIR) + "/pytorch_train_speed.py' --threads " +
                    std::to_string(kThreads) + " --batch-size " + std::to_string(kBatch) + " --batches " +
                    std::to_string(kTorchBatches) + " --warmup " + std::to_string(kTorchWarmup);
  if (const char* dir = std::getenv("CIMSIM_DATA")) cmd += " --data '" + std::string(dir) + "'";
  std::printf("PyTorch: %s\n", cmd.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    std::printf("PyTorch: cannot start python3\n");
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int status = pclose(pipe);
  const size_t brace = out.rfind("\n{") == std::string::npos ? out.find('{') : out.rfind("\n{") + 1;
  if (status != 0 || brace == std::string::npos) {
    std::printf("PyTorch: the script failed (status %d); output:\n%s\n", status, out.c_str());
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(out.substr(brace));
  } catch (const nlohmann::json::exception& e) {
    std::printf("PyTorch: unreadable output (%s):\n%s\n", e.what(), out.c_str());
    return std::nullopt;
  }
}

void PrintLoad(const char* when) {
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3) std::printf("load average %s: %.2f %.2f %.2f\n", when, load[0], load[1], load[2]);
}

void Summarize(const bench::CounterReporter& r) {
  const std::optional<nlohmann::json> torch = RunPyTorch();
  PrintLoad("after the runs");
  const std::string f = "TrainFloatEpoch/" + std::to_string(kThreads), q = "TrainQatEpoch/" + std::to_string(kThreads) + "/0",
                    qb = "TrainQatEpoch/" + std::to_string(kThreads) + "/1";
  const auto peak = r.Get("EigenSgemm/" + std::to_string(kThreads), "GFLOP/s");
  const auto f_ips = r.Get(f, "images/s"), f_s = r.Get(f, "s/epoch"), f_g = r.Get(f, "GFLOP/s"), f_n = r.Get(f, "images");
  const auto q_ips = r.Get(q, "images/s"), q_s = r.Get(q, "s/epoch");
  const auto qb_ips = r.Get(qb, "images/s"), qb_s = r.Get(qb, "s/epoch");
  std::printf("\n== bench_train summary: ResNet-20, %s, batch %lld, %d threads ==\n",
              RealData() ? "CIFAR-10 training set" : "seeded random images", static_cast<long long>(kBatch), kThreads);
  if (f_ips && f_s) {
    const bool full = *f_n >= static_cast<double>(TrainSet().size());
    std::printf("float epoch:   %.1f s%s (target <= 120 s), %.0f images/s\n", *f_s,
                full ? "" : (" (extrapolated from " + std::to_string(static_cast<long long>(*f_n)) + " images)").c_str(),
                *f_ips);
    if (f_g && peak)
      std::printf("float GFLOP/s: %.1f (3 x 2 x MACs x images/s) = %.0f %% of Eigen SGEMM %.1f GFLOP/s (%d threads)\n", *f_g,
                  100.0 * *f_g / *peak, *peak, kThreads);
  }
  if (q_ips && q_s && f_s)
    std::printf("QAT epoch:     %.1f s, %.0f images/s (W4A4 LSQ, BatchNorm folded); QAT / float time = %.2f (target <= 1.3)\n",
                *q_s, *q_ips, *q_s / *f_s);
  if (qb_ips && qb_s && f_s)
    std::printf("QAT epoch:     %.1f s, %.0f images/s (W4A4 LSQ, BatchNorm kept); QAT / float time = %.2f (target <= 1.3)\n",
                *qb_s, *qb_ips, *qb_s / *f_s);
  if (torch && torch->contains("images_per_s") && f_ips) {
    const double t = (*torch)["images_per_s"].get<double>();
    std::printf("PyTorch %s:  %.0f images/s (%lld batches after %lld warm-up); cimsim / PyTorch = %.2f (target >= 2)\n",
                torch->value("torch_version", std::string("?")).c_str(), t, static_cast<long long>(kTorchBatches),
                static_cast<long long>(kTorchWarmup), *f_ips / t);
  } else {
    std::printf("PyTorch:       no comparison (see above)\n");
  }
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) {
  if (const char* n = std::getenv("CIMSIM_BENCH_TRAIN_IMAGES")) cimsim::g_epoch_images = std::atoll(n);
  // --epoch-images=N / --epoch-images N are ours; everything else goes to Google Benchmark.
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--epoch-images=", 0) == 0) {
      cimsim::g_epoch_images = std::atoll(a.c_str() + std::strlen("--epoch-images="));
    } else if (a == "--epoch-images" && i + 1 < argc) {
      cimsim::g_epoch_images = std::atoll(argv[++i]);
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (cimsim::g_epoch_images <= 0) {
    std::fprintf(stderr, "bench_train: --epoch-images / CIMSIM_BENCH_TRAIN_IMAGES must be a positive count\n");
    return 2;
  }
  std::printf("bench_train: timing %lld of the %lld images of an epoch\n", static_cast<long long>(cimsim::g_epoch_images),
              static_cast<long long>(cimsim::kTrainImages));
  cimsim::PrintLoad("at start");
  return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize);
}
