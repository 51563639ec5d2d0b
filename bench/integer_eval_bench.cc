// bench_integer_eval — integer-only ResNet-20 inference over the CIFAR-10 test set, next to float32
// inference of the same network and the machine's GEMM throughput.
//
// Benchmarks:
//   EigenSgemm/T:   float32 C = A·B, 1024³, columns split over T threads (the float GEMM peak).
//   IntGemm/T:      cimsim's exact int16×int16→int32 GEMM (sim/int_gemm.h) on the same shape, split
//                   the same way (the integer GEMM peak; GOP/s, 2 ops per multiply-accumulate).
//   FloatTestSet/T: cimsim eval (float32) over the test set (10,000 images; the real test_batch.bin
//                   when CIMSIM_DATA is set, else seeded random pixels), batch 100, T threads.
//   IntegerTestSet/T: cimsim infer (integer engine, IdealCore) over the same images; the network is
//                   the same seeded ResNet-20 quantized W8A8 (ACIQ) on 100 of the images.
// The closing summary prints both passes and their ratio per thread count: the target is that
// integer inference is no slower than float inference.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>

#include "bench/bench_support.h"
#include "common/rng.h"
#include "data/cifar10.h"
#include "experiments/evaluate.h"
#include "experiments/evaluate_integer.h"
#include "nets/builders.h"
#include "nets/init.h"
#include "nets/quantize_network.h"
#include "sim/int_gemm.h"

namespace cimsim {
namespace {

constexpr int64_t kGemmSize = bench::kGemmPeakSize;
const ChannelNorm kNorm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};


Network Resnet20() {
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 1);
  return net;
}

QuantizedModel QuantizedResnet20() {
  Network net = Resnet20();
  ModelSpec spec;
  spec.input_norm = kNorm;
  std::vector<ResolvedLayer> layers;
  for (const std::string& name : MvmLayerNames(net)) {
    ResolvedLayer l;
    l.name = name;
    l.mode = QuantMode::kPtq;
    layers.push_back(l);
  }
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < 100; ++i) indices.push_back(i);
  return QuantizeNetwork(net, spec, layers, bench::BenchTestSet(), indices, QuantizeOptions{}, nullptr);
}


void IntGemmPeak(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  Rng rng(3);
  std::vector<int16_t> w(static_cast<size_t>(kGemmSize * kGemmSize));
  for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
  const PackedWeights packed(w.data(), kGemmSize, kGemmSize);
  // Each worker multiplies its own block of input columns.
  std::vector<PairedCodes> x(static_cast<size_t>(threads));
  std::vector<std::vector<int32_t>> y(static_cast<size_t>(threads));
  const int64_t cols = kGemmSize / threads;
  for (int t = 0; t < threads; ++t) {
    x[static_cast<size_t>(t)].Resize(kGemmSize, cols);
    for (int64_t k = 0; k < kGemmSize; ++k)
      for (int64_t j = 0; j < cols; ++j) x[static_cast<size_t>(t)].Set(k, j, static_cast<int16_t>(rng.Below(256)));
    y[static_cast<size_t>(t)].resize(static_cast<size_t>(kGemmSize * cols));
  }
  for (auto _ : state) {
    pool.ParallelFor(threads, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
      for (std::ptrdiff_t t = begin; t < end; ++t)
        IntGemm(packed, x[static_cast<size_t>(t)], y[static_cast<size_t>(t)].data(), cols);
    });
    benchmark::DoNotOptimize(y[0].data());
  }
  state.counters["GOP/s"] = benchmark::Counter(2.0 * kGemmSize * kGemmSize * static_cast<double>(cols * threads) * 1e-9,
                                               benchmark::Counter::kIsIterationInvariantRate);
}

template <bool kInteger>
void TestSetPass(benchmark::State& state) {
  EvalParams params;
  params.threads = static_cast<int>(state.range(0));
  params.batch_size = 100;
  Network net = Resnet20();
  std::unique_ptr<IntegerNetwork> qnet;
  if (kInteger) qnet = std::make_unique<IntegerNetwork>(QuantizedResnet20());
  double seconds = 0;
  int64_t images = 0;
  for (auto _ : state) {
    const EvalResult r = kInteger ? EvaluateInteger(*qnet, bench::BenchTestSet(), params, nullptr)
                                  : Evaluate(net, kNorm, bench::BenchTestSet(), params, nullptr);
    seconds += r.seconds;
    images += r.total;
    state.SetIterationTime(r.seconds);
  }
  const double macs = static_cast<double>(net.MacsPerImage({3, 32, 32}));
  state.counters["images/s"] = static_cast<double>(images) / seconds;
  state.counters["GOP/s"] = 2.0 * macs * static_cast<double>(images) / seconds * 1e-9;
  state.counters["s/pass"] = seconds / static_cast<double>(state.iterations());
}

void FloatTestSet(benchmark::State& state) { TestSetPass<false>(state); }
void IntegerTestSet(benchmark::State& state) { TestSetPass<true>(state); }

BENCHMARK(bench::EigenSgemmPeak)->Name("EigenSgemm")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(IntGemmPeak)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(FloatTestSet)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(2);
BENCHMARK(IntegerTestSet)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(2);

// Both passes and their ratio per thread count, with the two GEMM peaks.
void Summarize(const bench::CounterReporter& r) {
  for (int t : {1, 2}) {
    const std::string a = "/" + std::to_string(t);
    const auto f = r.Get("FloatTestSet" + a, "s/pass"), i = r.Get("IntegerTestSet" + a, "s/pass");
    const auto sg = r.Get("EigenSgemm" + a, "GOP/s"), ig = r.Get("IntGemmPeak" + a, "GOP/s");
    if (!f || !i || !sg || !ig) continue;
    std::printf("threads %d: 10,000 images float32 %.2f s, integer %.2f s (integer/float = %.2f, target <= 1); "
                "GEMM peaks: float %.0f GFLOP/s, int16 %.0f GOP/s\n",
                t, *f, *i, *i / *f, *sg, *ig);
  }
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
