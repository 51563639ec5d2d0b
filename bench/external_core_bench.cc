// bench_external_core — MVM/s through ExternalCore (the chip protocol to scripts/chip_server.py's ideal
// device) next to the in-process cores on the same layer.
//
// Layer: N = 64 outputs, K = 576 (a 3×3×64 convolution), 8-bit weight codes, unsigned 8-bit inputs
// [0, 255], n = 1024 vectors per Multiply call; weights and inputs from fixed seeds.
//   External/reads:    the chip returns every column's ADC code (128-row tiles, 4-bit weight slices,
//                      1-bit input slices: 8 · 5 · 2 · 64 = 5120 codes per vector, 20 KiB), the host
//                      applies the digital periphery.
//   External/results:  the chip returns the 64 dot products per vector.
//   Crossbar:          CrossbarCore in process, the same geometry (128 × 128 tiles, differential, 4-bit
//                      slices, bit-serial 1-bit inputs, 8-bit ADC, range max), ideal device.
//   Ideal:             IdealCore (the int16 GEMM).
// Wall time (UseRealTime: the chip's work happens in another process), one thread. Counter "MVM/s":
// input vectors per second. Needs /usr/bin/python3 with numpy. After the runs, one line puts them side by side.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_support.h"
#include "common/rng.h"
#include "devices/device_model.h"
#include "devices/device_presets.h"
#include "hil/external_chip.h"
#include "sim/crossbar_core.h"
#include "sim/ideal_core.h"
#include "sim/mvm_core.h"

namespace cimsim {
namespace {

constexpr int64_t kOutputs = 64, kDepth = 576, kVectors = 1024;
constexpr int kWeightBits = 8;
constexpr CodeRange kInputs{0, 255};

struct Workload {
  std::vector<int16_t> w, x;
  Workload() {
    Rng rng(23);
    w.resize(static_cast<size_t>(kOutputs * kDepth));
    for (auto& c : w) c = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
    x.resize(static_cast<size_t>(kDepth * kVectors));
    for (auto& c : x) c = static_cast<int16_t>(rng.Below(256));
  }
};

void RunCore(benchmark::State& state, const MvmCore& core, const Workload& work) {
  std::vector<int32_t> y(static_cast<size_t>(kOutputs * kVectors));
  const InputCodes x = InputCodes::VectorMajor(work.x.data(), kDepth, kVectors);
  Rng rng(1);
  MvmContext ctx{&rng, nullptr, -1};
  for (auto _ : state) {
    core.Multiply(x, y.data(), kVectors, ctx);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["MVM/s"] = benchmark::Counter(static_cast<double>(kVectors), benchmark::Counter::kIsIterationInvariantRate);
}

void External(benchmark::State& state, const std::string& result) {
  const Workload work;
  hil::ExternalChipParams params;
  params.command = {"/usr/bin/python3", CIMSIM_SOURCE_DIR "/scripts/chip_server.py"};
  params.result = result;
  const auto chip = hil::ExternalChip::Open(params);
  const auto core = chip->Program("bench", work.w, kOutputs, kDepth, kWeightBits, kInputs);
  RunCore(state, *core, work);
}

void ExternalReads(benchmark::State& state) { External(state, "reads"); }
void ExternalResults(benchmark::State& state) { External(state, "results"); }

void Crossbar(benchmark::State& state) {
  const Workload work;
  CrossbarParams p;   // 128 × 128 tiles, differential, bit-serial 1-bit inputs, 8-bit ADC (range max)
  p.slice_bits = 4;
  p.read_noise = false;
  const DeviceModel device(DevicePreset("ideal"));
  Rng program(2);
  const CrossbarCore core(work.w, kOutputs, kDepth, kWeightBits, kInputs.min, kInputs.max, device, p, program);
  RunCore(state, core, work);
}

void Ideal(benchmark::State& state) {
  const Workload work;
  const IdealCore core(work.w, kOutputs, kDepth, kWeightBits, kInputs.min, kInputs.max);
  RunCore(state, core, work);
}

BENCHMARK(ExternalReads)->Name("External/reads")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(ExternalResults)->Name("External/results")->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Crossbar)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(Ideal)->UseRealTime()->Unit(benchmark::kMillisecond);

void Summarize(const bench::CounterReporter& r) {
  auto mvm = [&](const char* run) { return r.Get(run, "MVM/s").value_or(0.0); };
  std::printf("64 x 576, 1024 vectors per call, MVM/s: external reads %.0f, external results %.0f, "
              "crossbar (in process) %.0f, ideal %.0f\n",
              mvm("External/reads"), mvm("External/results"), mvm("Crossbar"), mvm("Ideal"));
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) { return cimsim::bench::RunBenchmarks(argc, argv, cimsim::Summarize); }
