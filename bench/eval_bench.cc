// bench_eval — float ResNet-20 inference over the CIFAR-10 test set, against Eigen's own SGEMM.
//
// Benchmarks:
//   EigenSgemm/T:        C[1024×1024] = A[1024×1024]·B[1024×1024] in float32, the columns of C split
//                        over T threads (Eigen's kernel, our pool): the machine's GEMM peak.
//   Resnet20TestSet/T/B: one pass of cimsim's float32 evaluation over the test set (10,000 images;
//                        the real test_batch.bin when CIMSIM_DATA is set, otherwise seeded random
//                        pixels — the speed does not depend on the values), batch B, T threads.
//                        ResNet-20 weights are seeded random (speed is weight-independent).
// Counters: GFLOP/s (2 flops per multiply-accumulate), images/s. After the runs a summary line puts
// the ResNet-20 throughput next to the GEMM peak of the same thread count; the target is >= 80 %.
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>

#include "bench/bench_support.h"
#include "common/rng.h"
#include "data/cifar10.h"
#include "experiments/evaluate.h"
#include "nets/builders.h"
#include "nets/init.h"

namespace cimsim {
namespace {




void Resnet20TestSet(benchmark::State& state) {
  const Cifar10Set data = bench::BenchTestSet();
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 1);
  const ChannelNorm norm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  EvalParams params;
  params.batch_size = state.range(1);
  params.threads = static_cast<int>(state.range(0));
  double seconds = 0;
  int64_t images = 0;
  for (auto _ : state) {
    const EvalResult r = Evaluate(net, norm, data, params, nullptr);
    seconds += r.seconds;
    images += r.total;
    state.SetIterationTime(r.seconds);
  }
  const double macs = static_cast<double>(net.MacsPerImage({3, 32, 32}));
  state.counters["images/s"] = static_cast<double>(images) / seconds;
  state.counters["GFLOP/s"] = 2.0 * macs * static_cast<double>(images) / seconds * 1e-9;
  state.counters["s/pass"] = seconds / static_cast<double>(state.iterations());
}

BENCHMARK(bench::EigenSgemmPeak)->Name("EigenSgemm")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(Resnet20TestSet)->Args({1, 100})->Args({2, 100})->Unit(benchmark::kSecond)->UseManualTime()->Iterations(2);

// A closing comparison: ResNet-20 GFLOP/s as a share of the GEMM peak.
void Summarize(const bench::CounterReporter& r) {
  for (int t : {1, 2}) {
    const auto g = r.Get("EigenSgemm/" + std::to_string(t), "GFLOP/s");
    const auto n = r.Get("Resnet20TestSet/" + std::to_string(t) + "/100", "GFLOP/s");
    if (!g || !n) continue;
    std::printf("threads %d: ResNet-20 eval %.1f GFLOP/s = %.0f %% of Eigen SGEMM %.1f GFLOP/s (target >= 80 %%)\n", t, *n,
                100.0 * *n / *g, *g);
  }
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
