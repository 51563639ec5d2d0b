// bench_int_gemm — the integer engine's int16 and u8×s8 GEMMs against Eigen's float32 SGEMM, single
// thread.
//
// Benchmarks, each on shape N×K×n (y[N, n] = W[N, K] · X[K, n]):
//   IntGemm/N/K/n:    cimsim::IntGemm on pre-packed weights and PairedCodes inputs (the layout the
//                     conv engine writes directly); codes 8-bit weights × 8-bit activations.
//   Int8Gemm/N/K/n:   cimsim::Int8Gemm (sim/int8_gemm.h, `vpdpbusd` with AVX-512 VNNI) on the same
//                     codes, pre-packed weights and QuadCodes inputs; w in [−127, 127], x in [0, 255].
//   EigenSgemm/N/K/n: Eigen float32 y.noalias() = W · X (column-major), Eigen::setNbThreads(1).
// Shapes: the three ResNet-20 conv shapes (16×144×1024, 32×288×256, 64×576×64; one image) and 1024³.
// Counters: GOP/s for IntGemm and GFLOP/s for Eigen, both 2 operations per multiply-accumulate.
// After the runs, one line per shape puts the three side by side; the integer engine's target is a
// ratio >= 1 (integer inference must not be slower than float); the 1024³ shape gives each kernel's
// measured peak, and u8×s8 / int16 is the gain of the 8-bit path (at most 2: twice the products per
// instruction).
#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "common/rng.h"
#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"

namespace cimsim {
namespace {

struct GemmShape {
  int64_t N, K, n;
};
constexpr GemmShape kShapes[] = {{16, 144, 1024}, {32, 288, 256}, {64, 576, 64}, {1024, 1024, 1024}};

double Ops(const benchmark::State& state) {
  return 2.0 * static_cast<double>(state.range(0)) * static_cast<double>(state.range(1)) *
         static_cast<double>(state.range(2));
}

void IntGemmBench(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1), n = state.range(2);
  Rng rng(17);
  std::vector<int16_t> w(static_cast<size_t>(N * K));
  for (auto& c : w) c = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
  PairedCodes x(K, n);
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t j = 0; j < n; ++j) x.Set(k, j, static_cast<int16_t>(rng.Below(256)));
  }
  const PackedWeights packed(w.data(), N, K);
  std::vector<int32_t> y(static_cast<size_t>(N * n));
  for (auto _ : state) {
    IntGemm(packed, x, y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(Ops(state) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void Int8GemmBench(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1), n = state.range(2);
  Rng rng(17);
  std::vector<int16_t> w(static_cast<size_t>(N * K));
  for (auto& c : w) c = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
  QuadCodes x(K, n);
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t j = 0; j < n; ++j) x.Set(k, j, static_cast<uint8_t>(rng.Below(256)));
  }
  const PackedWeights8 packed(w.data(), N, K);
  std::vector<int32_t> y(static_cast<size_t>(N * n));
  for (auto _ : state) {
    Int8Gemm(packed, x, y.data(), n);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GOP/s"] = benchmark::Counter(Ops(state) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void EigenSgemm(benchmark::State& state) {
  const int64_t N = state.range(0), K = state.range(1), n = state.range(2);
  Eigen::setNbThreads(1);
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(N, K);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(K, n);
  Eigen::MatrixXf y(N, n);
  for (auto _ : state) {
    y.noalias() = w * x;
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(Ops(state) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void ApplyShapes(benchmark::internal::Benchmark* b) {
  for (const GemmShape& s : kShapes) b->Args({s.N, s.K, s.n});
  b->ArgNames({"N", "K", "n"})->Unit(benchmark::kMicrosecond);
}

BENCHMARK(IntGemmBench)->Name("IntGemm")->Apply(ApplyShapes);
BENCHMARK(Int8GemmBench)->Name("Int8Gemm")->Apply(ApplyShapes);
BENCHMARK(EigenSgemm)->Apply(ApplyShapes);

// One closing line per shape: int16 and u8×s8 GOP/s next to float32 GFLOP/s.
void Summarize(const bench::CounterReporter& r) {
  for (const GemmShape& s : kShapes) {
    const std::string args =
        "/N:" + std::to_string(s.N) + "/K:" + std::to_string(s.K) + "/n:" + std::to_string(s.n);  // as ArgNames prints
    const auto i = r.Get("IntGemm" + args, "GOP/s"), f = r.Get("EigenSgemm" + args, "GFLOP/s");
    const auto i8 = r.Get("Int8Gemm" + args, "GOP/s");
    if (!i || !f) continue;
    std::printf("%4lld x %4lld x %4lld: IntGemm %6.1f GOP/s, Eigen SGEMM %6.1f GFLOP/s, ratio %.2f (target >= 1)",
                static_cast<long long>(s.N), static_cast<long long>(s.K), static_cast<long long>(s.n), *i, *f, *i / *f);
    if (i8) std::printf("; Int8Gemm %6.1f GOP/s, u8xs8/int16 %.2f, u8xs8/float %.2f", *i8, *i8 / *i, *i8 / *f);
    std::printf("\n");
  }
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
