// bench_rng — standard-normal draws, ns per normal, single thread.
//
// Benchmarks (1024 values per iteration; counter "per_value" = time per value):
//   OldScalarNormal:   the previous Rng::Normal(): two Uniform() words per normal (u1 = 0 rejected),
//                      sqrt(−2 ln u1)·cos(2π u2) with std::log / std::cos — the baseline.
//   Normal:            Rng::Normal() one call at a time (buffered blocks of 16).
//   FillNormal:        Rng::FillNormal(out, 1024) — the bulk path; target <= 3 ns per normal.
//   BoxMullerBlock:    the transform alone on 1024 pre-drawn words (512 pairs).
//   BoxMullerBlockReference: the std::log/std::cos/std::sin oracle on the same words.
//   NextU64:           raw xoshiro256++ words (the peak any normal path is measured against:
//                      the block transform needs one word per normal).
// After the runs, one summary line lists them side by side and the FillNormal target.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "common/box_muller.h"
#include "common/rng.h"

namespace cimsim {
namespace {

constexpr int64_t kBatch = 1024;

// Counter "per_value": seconds per value (printed as e.g. "1.7ns").
void SetTimePerValue(benchmark::State& state) {
  state.counters["per_value"] = benchmark::Counter(
      static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// Rng::Normal() as it was before the buffered Box–Muller block.
double OldNormal(Rng& rng) {
  double u1 = rng.Uniform();
  while (u1 <= 0.0) u1 = rng.Uniform();
  const double u2 = rng.Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void OldScalarNormal(benchmark::State& state) {
  Rng rng(1);
  std::vector<double> out(kBatch);
  for (auto _ : state) {
    for (double& z : out) z = OldNormal(rng);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetTimePerValue(state);
}

void Normal(benchmark::State& state) {
  Rng rng(1);
  std::vector<double> out(kBatch);
  for (auto _ : state) {
    for (double& z : out) z = rng.Normal();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetTimePerValue(state);
}

void FillNormal(benchmark::State& state) {
  Rng rng(1);
  std::vector<double> out(kBatch);
  for (auto _ : state) {
    rng.FillNormal(out.data(), kBatch);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetTimePerValue(state);
}

template <void (*Transform)(const uint64_t*, double*, int64_t)>
void Block(benchmark::State& state) {
  Rng rng(1);
  std::vector<uint64_t> words(kBatch);
  for (uint64_t& w : words) w = rng.NextU64();
  std::vector<double> out(kBatch);
  for (auto _ : state) {
    Transform(words.data(), out.data(), kBatch / 2);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetTimePerValue(state);
}

void NextU64(benchmark::State& state) {
  Rng rng(1);
  std::vector<uint64_t> out(kBatch);
  for (auto _ : state) {
    for (uint64_t& w : out) w = rng.NextU64();
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetTimePerValue(state);
}

BENCHMARK(OldScalarNormal);
BENCHMARK(Normal);
BENCHMARK(FillNormal);
BENCHMARK(Block<BoxMullerBlock>)->Name("BoxMullerBlock");
BENCHMARK(Block<BoxMullerBlockReference>)->Name("BoxMullerBlockReference");
BENCHMARK(NextU64);

void Summarize(const bench::CounterReporter& r) {
  const auto old = r.Get("OldScalarNormal", "per_value"), one = r.Get("Normal", "per_value");
  const auto fill = r.Get("FillNormal", "per_value"), word = r.Get("NextU64", "per_value");
  if (!old || !one || !fill || !word) return;
  std::printf("ns per normal: old scalar %.2f, Normal() %.2f, FillNormal %.2f (target <= 3; %.1fx faster than the old); "
              "NextU64 %.2f ns per word\n",
              *old * 1e9, *one * 1e9, *fill * 1e9, *old / *fill, *word * 1e9);
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
