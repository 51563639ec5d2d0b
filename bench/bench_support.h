// bench_support.h — what every cimsim benchmark shares: console output plus the counters of each
// run kept for a closing summary that puts a throughput next to the peak it is measured against.
#pragma once

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/parallel.h"
#include "common/rng.h"
#include "data/cifar10.h"

namespace cimsim::bench {

constexpr int64_t kGemmPeakSize = 1024;
constexpr int64_t kTestImages = 10000;

// The machine's float GEMM peak: C[1024×1024] = A·B in float32 with Eigen's kernel, the columns of C
// split over state.range(0) threads of our pool. Counters "GFLOP/s" and "GOP/s" (the same number).
inline void EigenSgemmPeak(benchmark::State& state) {
  constexpr int64_t n = kGemmPeakSize;
  ThreadPool pool(static_cast<int>(state.range(0)));
  const Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n);
  const Eigen::MatrixXf b = Eigen::MatrixXf::Random(n, n);
  Eigen::MatrixXf c(n, n);
  for (auto _ : state) {
    pool.ParallelFor(n / 64, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
      c.middleCols(begin * 64, (end - begin) * 64).noalias() = a * b.middleCols(begin * 64, (end - begin) * 64);
    });
    benchmark::DoNotOptimize(c.data());
  }
  const double gops = 2.0 * n * n * n * 1e-9;
  state.counters["GFLOP/s"] = benchmark::Counter(gops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GOP/s"] = benchmark::Counter(gops, benchmark::Counter::kIsIterationInvariantRate);
}

// The CIFAR-10 test set from $CIMSIM_DATA, or 10,000 seeded random images when it is not set (the
// speed of inference does not depend on the pixel values).
// `count` seeded random CIFAR-shaped images and labels (stand-ins when CIMSIM_DATA is not set).
inline Cifar10Set RandomBenchSet(int64_t count, uint64_t seed) {
  Cifar10Set s;
  Rng rng(seed);
  s.labels.resize(static_cast<size_t>(count));
  s.pixels.resize(static_cast<size_t>(count * kCifarImageBytes));
  for (auto& l : s.labels) l = static_cast<uint16_t>(rng.Below(10));
  for (auto& p : s.pixels) p = static_cast<uint8_t>(rng.Below(256));
  return s;
}

inline const Cifar10Set& BenchTestSet() {
  static const Cifar10Set set = [] {
    if (const char* dir = std::getenv("CIMSIM_DATA")) return LoadCifar10(dir, Cifar10Split::kTest);
    return RandomBenchSet(kTestImages, 7);
  }();
  return set;
}

// Keeps counter values by "<function>/<args>" (e.g. "EigenSgemm/2", "IntGemm/N:16/K:144/n:1024"):
// single runs, or the median when --benchmark_repetitions asks for several.
class CounterReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      const std::string key = run.run_name.function_name + (run.run_name.args.empty() ? "" : "/" + run.run_name.args);
      for (const auto& [name, counter] : run.counters) values_[key + " " + name] = counter.value;
    }
  }
  std::optional<double> Get(const std::string& run, const std::string& counter) const {
    const auto it = values_.find(run + " " + counter);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, double> values_;
};

// The body of a benchmark's main(): runs what the command line selects, then `summarize`.
inline int RunBenchmarks(int argc, char** argv, const std::function<void(const CounterReporter&)>& summarize) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  CounterReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  summarize(reporter);
  benchmark::Shutdown();
  return 0;
}

}  // namespace cimsim::bench
