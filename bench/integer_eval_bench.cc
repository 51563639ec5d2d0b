// bench_integer_eval — integer-only ResNet-20 inference over the CIFAR-10 test set, next to float32
// inference of the same network and the machine's GEMM throughput.
//
// Benchmarks:
//   EigenSgemm/T:   float32 C = A·B, 1024³, columns split over T threads (the float GEMM peak).
//   IntGemmPeak/T:  cimsim's exact int16×int16→int32 GEMM (sim/int_gemm.h) on the same shape, split
//                   the same way (the int16 GEMM peak; GOP/s, 2 ops per multiply-accumulate).
//   Int8GemmPeak/T: the exact u8×s8→int32 GEMM (sim/int8_gemm.h, `vpdpbusd`) likewise, codes
//                   x in [0, 255], w in [−128, 127] (the u8 GEMM peak).
//   FloatTestSet/T: cimsim eval (float32) over the test set (10,000 images; the real test_batch.bin
//                   when CIMSIM_DATA is set, else seeded random pixels), batch 100, T threads.
//   IntegerTestSet/T/P: cimsim infer (integer engine, IdealCore) over the same images, with the same
//                   seeded ResNet-20 quantized on 100 of the images at precision P:
//                     P = 0  W8A8 (ACIQ, the defaults: configs/quant/w8a8_aciq.json), kernels chosen
//                            per layer (the u8×s8 GEMM for unsigned inputs when built with VNNI);
//                     P = 1  W4A4 as configs/quant/w4a4_aciq.json (conv1 and linear W8A8), read from
//                            that file, kernels chosen per layer;
//                     P = 2  W8A8 as P = 0 with every layer on the int16 GEMM (the path before the
//                            u8×s8 kernel), for the speed-up of the kernel choice in the same run.
//                   (The config's calibration of 500 class-balanced images is replaced by the first
//                   100 images: the speed does not depend on the calibration.)
// The closing summary prints the passes and their ratios per thread count. Targets (issue 14):
// integer W8A8 at least 4× faster than float; W4A4 no slower than W8A8.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>

#include "bench/bench_support.h"
#include "bench/gemm_peak.h"
#include "common/rng.h"
#include "data/cifar10.h"
#include "experiments/evaluate.h"
#include "experiments/evaluate_integer.h"
#include "experiments/quant_config_json.h"
#include "nets/builders.h"
#include "nets/init.h"
#include "nets/quantize_network.h"
#include "sim/ideal_core.h"
#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"

namespace cimsim {
namespace {

const ChannelNorm kNorm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};


Network Resnet20() {
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 1);
  return net;
}

// The bench's precisions (IntegerTestSet's second argument).
enum Precision : int64_t { kW8A8 = 0, kW4A4 = 1, kW8A8Int16 = 2 };

QuantizedModel QuantizedResnet20(Precision precision) {
  Network net = Resnet20();
  ModelSpec spec;
  spec.input_norm = kNorm;
  std::vector<ResolvedLayer> layers;
  if (precision == kW4A4) {
    layers = LoadQuantConfig(CIMSIM_SOURCE_DIR "/configs/quant/w4a4_aciq.json").Resolve(MvmLayerNames(net));
    for (ResolvedLayer& l : layers) l.mode = QuantMode::kPtq;   // 4 bits resolve to PTQ already
  } else {
    for (const std::string& name : MvmLayerNames(net)) {
      ResolvedLayer l;
      l.name = name;
      l.mode = QuantMode::kPtq;
      layers.push_back(l);
    }
  }
  std::vector<int64_t> indices;
  for (int64_t i = 0; i < 100; ++i) indices.push_back(i);
  return QuantizeNetwork(net, spec, layers, bench::BenchTestSet(), indices, QuantizeOptions{}, nullptr);
}

// Every layer on the int16 GEMM, whatever its input range.
std::unique_ptr<MvmCore> MakeInt16IdealCore(const QNode& node, int /*index*/) {
  return std::make_unique<IdealCore>(std::span<const int16_t>(node.weights), node.out_channels, node.Depth(),
                                     node.CoreWeightBits(), node.InputMin(), node.InputMax(), IdealCore::Kernel::kInt16);
}

void IntGemmPeak(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  bench::Int16GemmPeak peak(threads);
  for (auto _ : state) {
    peak.Run(pool);
    benchmark::DoNotOptimize(peak.output());
  }
  state.counters["GOP/s"] = benchmark::Counter(peak.Ops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void Int8GemmPeak(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  ThreadPool pool(threads);
  bench::Int8GemmPeak peak(threads);
  for (auto _ : state) {
    peak.Run(pool);
    benchmark::DoNotOptimize(peak.output());
  }
  state.counters["GOP/s"] = benchmark::Counter(peak.Ops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// One pass (float, or integer at precision state.range(1)) per iteration; manual time = the pass.
template <bool kInteger>
void TestSetPass(benchmark::State& state) {
  EvalParams params;
  params.threads = static_cast<int>(state.range(0));
  params.batch_size = 100;
  Network net = Resnet20();
  std::unique_ptr<IntegerNetwork> qnet;
  if (kInteger) {
    const auto precision = static_cast<Precision>(state.range(1));
    qnet = precision == kW8A8Int16 ? std::make_unique<IntegerNetwork>(QuantizedResnet20(kW8A8), MakeInt16IdealCore)
                                   : std::make_unique<IntegerNetwork>(QuantizedResnet20(precision));
  }
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
BENCHMARK(Int8GemmPeak)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(FloatTestSet)->Arg(1)->Arg(2)->Unit(benchmark::kSecond)->UseManualTime()->Iterations(2);
BENCHMARK(IntegerTestSet)
    ->ArgsProduct({{1, 2}, {kW8A8, kW4A4, kW8A8Int16}})
    ->Unit(benchmark::kSecond)
    ->UseManualTime()
    ->Iterations(2);

// The passes and their ratios per thread count, with the three GEMM peaks.
void Summarize(const bench::CounterReporter& r) {
  for (int t : {1, 2}) {
    const std::string a = "/" + std::to_string(t);
    const auto f = r.Get("FloatTestSet" + a, "s/pass");
    const auto i8 = r.Get("IntegerTestSet" + a + "/0", "s/pass"), i4 = r.Get("IntegerTestSet" + a + "/1", "s/pass");
    const auto i16 = r.Get("IntegerTestSet" + a + "/2", "s/pass");
    const auto sg = r.Get("EigenSgemm" + a, "GOP/s"), ig = r.Get("IntGemmPeak" + a, "GOP/s");
    const auto ig8 = r.Get("Int8GemmPeak" + a, "GOP/s");
    if (sg && ig && ig8) {
      std::printf("threads %d: GEMM peaks (1024^3): float32 %.0f GFLOP/s, int16 %.0f GOP/s, u8xs8 %.0f GOP/s "
                  "(u8xs8/int16 = %.2f)\n",
                  t, *sg, *ig, *ig8, *ig8 / *ig);
    }
    if (!f) continue;
    if (i8) {
      std::printf("threads %d: 10,000 images float32 %.2f s, integer W8A8 %.2f s: float/integer = %.2f "
                  "(target >= 4)\n",
                  t, *f, *i8, *f / *i8);
    }
    if (i8 && i4) {
      std::printf("threads %d: integer W4A4 %.2f s: W4A4/W8A8 time = %.2f (target <= 1)\n", t, *i4, *i4 / *i8);
    }
    if (i8 && i16) {
      std::printf("threads %d: integer W8A8 all-int16 kernel %.2f s: int16/chosen time = %.2f, float/int16 = %.2f\n",
                  t, *i16, *i16 / *i8, *f / *i16);
    }
  }
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
