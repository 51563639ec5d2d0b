// bench_mvm_throughput — matrix-vector multiplies per second through CrossbarCore, and their error.
//
// A 64 × 576 weight matrix (uniform in [−1, 1], quantized per tensor to 8-bit codes ±127) and `--n`
// random input vectors (uniform 8-bit codes 0..255), both from fixed seeds. Configurations:
//   a  8-bit inputs through an 8-bit DAC, 8-bit ADC (range max), ideal devices, one 1024×1024 tile
//   b  a + 5 % proportional programming noise
//   c  a with the inputs bit-serial, 8 × 1 bit, one ADC conversion per input bit
//   d  b on 128-row tiles (5 row tiles, digital summation of the partial sums)
//   e  b + 1 % (proportional) read noise on every read
// Each prints MVM/s (wall time of Multiply over all vectors, vectors split over --threads workers in
// blocks of 128, every block with its own random stream) and the relative error
// ‖s_w·y − W·x‖₂ / ‖W·x‖₂ against the exact float product (W the float weights, s_w the code step),
// which includes the 8-bit weight quantization (printed alone as "ideal codes").
// Each configuration runs twice: with its ADC range "max" (the nominal full scale: no clipping, but
// most reads use a few codes) and "calibrated" — the chip calibrated as experiments calibrate it
// (calib/chip_calibration.h CalibrateLayer on the library's uniform random calibration inputs over the
// layer's input range, default ChipCalibrationParams: ADC full scale per column at the 99.99th
// percentile of |analog| and per-column least-squares corrections; ApplyCalibration makes the core).
// The calibrated error is the one comparable with other simulators' calibrated ADCs.
// Against the machine: each configuration's MVM/s is also printed as integer operations per second,
// counting one N × K product (2·N·K operations) per analog read of every weight digit — input slices
// × sign passes × weight slices of CrossbarCore — next to the int16 GEMM peak measured in the same
// run with the same threads (bench/gemm_peak.h): how close the simulation of the reads comes to
// the exact integer GEMM of the same size; and next to the u8×s8 GEMM peak (bench/gemm_peak.h),
// the matching peak when the column sums run on the byte path (an ideal device's digits; the line
// names the GEMM the core used: u8xs8, int16 or double).
// Usage: bench_mvm_throughput [--config a|b|c|d|e|all] [--n 10000] [--threads 2]
#include <boost/program_options.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench/gemm_peak.h"
#include "common/error.h"
#include "common/parallel.h"
#include "calib/chip_calibration.h"
#include "common/rng.h"
#include "devices/device_model.h"
#include "devices/device_presets.h"
#include "nets/quantized_model.h"
#include "sim/crossbar_core.h"
#include "sim/paired_codes.h"

namespace cimsim {
namespace {

constexpr int64_t kOutputs = 64, kDepth = 576, kBlock = 128;

struct Config {
  char name;
  const char* what;
  DeviceParams device;
  CrossbarParams crossbar;
};

Config MakeConfig(char name) {
  Config c{name, "", DevicePreset("ideal"), CrossbarParams{}};
  c.crossbar.rows_max = c.crossbar.cols_max = 1024;
  c.crossbar.input.mode = InputMode::kDac;
  c.crossbar.input.dac_bits = 8;
  c.crossbar.adc.bits = 8;
  c.crossbar.adc.range = AdcRange::kMax;
  auto programming_noise = [&] {
    c.device.programming.kind = ProgrammingNoiseKind::kProportional;
    c.device.programming.relative = 0.05;
  };
  switch (name) {
    case 'a': c.what = "8-bit DAC, 8-bit ADC, ideal devices"; break;
    case 'b': c.what = "a + 5 % programming noise"; programming_noise(); break;
    case 'c':
      c.what = "a, bit-serial inputs 8 x 1 bit";
      c.crossbar.input.mode = InputMode::kBitSerial;
      c.crossbar.input.slice_bits = 1;
      break;
    case 'd': c.what = "b on 128-row tiles"; programming_noise(); c.crossbar.rows_max = 128; break;
    case 'e':
      c.what = "b + 1 % read noise";
      programming_noise();
      c.device.read.kind = ReadNoiseKind::kProportional;
      c.device.read.relative = 0.01;
      break;
    default: throw InputError(std::string("--config ") + name + " is unknown; allowed a, b, c, d, e or all");
  }
  return c;
}

struct Problem {
  std::vector<float> w_float;   // [64, 576]
  std::vector<int16_t> codes;   // [64, 576]
  double step = 0;              // s_w: w ≈ step·code
  std::vector<InputCodes> x;    // blocks of kBlock vectors: views of x_plain
  std::vector<std::vector<int16_t>> x_plain;  // the codes, vector-major per block
  std::vector<double> exact;    // W·x for every vector, [n, 64]
};

Problem MakeProblem(int64_t n) {
  Problem p;
  Rng rng(2024);
  float w_max = 0;
  for (int64_t i = 0; i < kOutputs * kDepth; ++i) {
    p.w_float.push_back(static_cast<float>(2 * rng.Uniform() - 1));
    w_max = std::max(w_max, std::abs(p.w_float.back()));
  }
  p.step = w_max / 127.0;
  for (float w : p.w_float) p.codes.push_back(static_cast<int16_t>(std::lround(w / p.step)));
  Rng xrng(7);
  for (int64_t first = 0; first < n; first += kBlock) {
    const int64_t m = std::min(kBlock, n - first);
    std::vector<int16_t> plain(static_cast<size_t>(kDepth * m));
    for (auto& v : plain) v = static_cast<int16_t>(xrng.Below(256));
    for (int64_t j = 0; j < m; ++j)
      for (int64_t o = 0; o < kOutputs; ++o) {
        double s = 0;
        for (int64_t k = 0; k < kDepth; ++k) s += double{p.w_float[static_cast<size_t>(o * kDepth + k)]} * plain[static_cast<size_t>(j * kDepth + k)];
        p.exact.push_back(s);
      }
    p.x_plain.push_back(std::move(plain));
    p.x.push_back(InputCodes::VectorMajor(p.x_plain.back().data(), kDepth, m));
  }
  return p;
}

// Relative error of step·y against the exact product, over all vectors.
double RelativeError(const Problem& p, const std::vector<int32_t>& y) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    const double d = p.step * y[i] - p.exact[i];
    err += d * d;
    ref += p.exact[i] * p.exact[i];
  }
  return std::sqrt(err / ref);
}

// The layer as a linear QNode (what the calibration reads: name, shape, weight codes).
QNode LayerNode(const Problem& p) {
  QNode node;
  node.name = "bench";
  node.kind = QNodeKind::kLinear;
  node.in_channels = static_cast<int>(kDepth);
  node.out_channels = static_cast<int>(kOutputs);
  node.weights = p.codes;
  return node;
}

// The configuration's chip, with its ADC range "max" or calibrated by the library (see the top).
std::unique_ptr<MvmCore> Chip(const Config& c, const Problem& p, bool calibrated) {
  const DeviceModel device(c.device);
  CrossbarParams params = c.crossbar;
  if (calibrated) params.adc.range = AdcRange::kCalibrated;
  Rng program(1);
  const std::string where = "config " + std::string(1, c.name);
  auto core = std::make_unique<CrossbarCore>(p.codes, kOutputs, kDepth, 8, 0, 255, device, params, program, where);
  if (!calibrated) return core;
  const ChipCalibrationParams cal_params;
  const LayerCalibration cal = CalibrateLayer(LayerNode(p), *core, cal_params);
  return ApplyCalibration(cal, *core, where);
}

// A GEMM peak in GOP/s on `threads` threads (the median of 5 timed runs after one warm-up).
template <class Peak>
double MeasurePeak(int threads) {
  ThreadPool pool(threads);
  Peak peak(threads);
  peak.Run(pool);
  std::vector<double> gops;
  for (int r = 0; r < 5; ++r) {
    const auto start = std::chrono::steady_clock::now();
    peak.Run(pool);
    gops.push_back(peak.Ops() * 1e-9 / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(gops.begin(), gops.end());
  return gops[2];
}

struct Peaks {
  double int16 = 0, int8 = 0;   // GOP/s
};

void Run(char name, const Problem& p, int64_t n, int threads, bool calibrated, const Peaks& peaks) {
  const Config c = MakeConfig(name);
  const std::unique_ptr<MvmCore> chip = Chip(c, p, calibrated);
  const auto& core = dynamic_cast<const CrossbarCore&>(*chip);
  ThreadPool pool(threads);
  std::vector<CrossbarScratch> scratch(static_cast<size_t>(threads));
  const int64_t blocks = static_cast<int64_t>(p.x.size());
  std::vector<int32_t> y(static_cast<size_t>(n * kOutputs));
  std::vector<std::vector<int32_t>> block_out(static_cast<size_t>(blocks));
  for (auto& b : block_out) b.resize(static_cast<size_t>(kOutputs * kBlock));
  const Rng noise_root(99);
  const auto start = std::chrono::steady_clock::now();
  pool.ParallelFor(blocks, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int worker) {
    for (std::ptrdiff_t b = begin; b < end; ++b) {
      Rng rng = noise_root.Derive(static_cast<uint64_t>(b));
      MvmContext ctx;
      ctx.rng = &rng;
      const int64_t m = p.x[static_cast<size_t>(b)].n;
      core.Multiply(p.x[static_cast<size_t>(b)], block_out[static_cast<size_t>(b)].data(), m, ctx,
                    scratch[static_cast<size_t>(worker)]);
    }
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // y[o, j] per block (row-major, ld m) → [vector, output].
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t m = p.x[static_cast<size_t>(b)].n;
    for (int64_t j = 0; j < m; ++j)
      for (int64_t o = 0; o < kOutputs; ++o)
        y[static_cast<size_t>((b * kBlock + j) * kOutputs + o)] = block_out[static_cast<size_t>(b)][static_cast<size_t>(o * m + j)];
  }
  const int reads = core.InputSlices() * core.SignPasses() * core.WeightSlices();
  const double gops = static_cast<double>(n) / seconds * 2.0 * kOutputs * kDepth * reads * 1e-9;
  const char* kernel = core.UsesByteGemm() ? "u8xs8" : core.UsesIntegerGemm() ? "int16" : "double";
  std::printf("config %c (%s), ADC range %s: %lld MVMs in %.3f s = %.0f MVM/s, relative error %.3e; "
              "%d reads of the %lldx%lld product per MVM = %.1f GOP/s = %.1f %% of the int16 GEMM peak, "
              "%.1f %% of the u8xs8 peak (column sums on the %s GEMM)\n",
              name, c.what, calibrated ? "calibrated" : "max", static_cast<long long>(n), seconds,
              static_cast<double>(n) / seconds, RelativeError(p, y), reads, static_cast<long long>(kOutputs),
              static_cast<long long>(kDepth), gops, 100.0 * gops / peaks.int16, 100.0 * gops / peaks.int8, kernel);
}

// The error of the exact integer product alone (weight quantization).
void IdealCodesError(const Problem& p, int64_t n) {
  std::vector<int32_t> y(static_cast<size_t>(n * kOutputs));
  for (size_t b = 0; b < p.x.size(); ++b) {
    const int64_t m = p.x[b].n;
    for (int64_t j = 0; j < m; ++j)
      for (int64_t o = 0; o < kOutputs; ++o) {
        int64_t s = 0;
        for (int64_t k = 0; k < kDepth; ++k) s += int64_t{p.codes[static_cast<size_t>(o * kDepth + k)]} * p.x_plain[b][static_cast<size_t>(j * kDepth + k)];
        y[static_cast<size_t>((static_cast<int64_t>(b) * kBlock + j) * kOutputs + o)] = static_cast<int32_t>(s);
      }
  }
  std::printf("ideal codes (exact integer product, 8-bit weight quantization only): relative error %.3e\n",
              RelativeError(p, y));
}

}  // namespace
}  // namespace cimsim

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  std::string config = "all";
  int64_t n = 10000;
  int threads = 2;
  po::options_description desc("bench_mvm_throughput: MVM/s and error of CrossbarCore on a 64x576 layer\noptions");
  desc.add_options()("help,h", "show this help")("config", po::value(&config)->default_value("all"), "a, b, c, d, e or all")(
      "n", po::value(&n)->default_value(10000), "input vectors")("threads", po::value(&threads)->default_value(2), "threads");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << desc;
      return 0;
    }
    if (n < 1 || n > 10000000) throw cimsim::InputError("--n " + std::to_string(n) + " is out of range; allowed 1..10000000");
    if (threads < 1 || threads > 256) throw cimsim::InputError("--threads " + std::to_string(threads) + " is out of range; allowed 1..256");
    const std::string names = config == "all" ? "abcde" : config;
    if (names.size() != 5 && names.size() != 1) throw cimsim::InputError("--config " + config + " is unknown; allowed a, b, c, d, e or all");
    for (char c : names) (void)cimsim::MakeConfig(c);  // reject a bad name before the setup work
    const cimsim::Problem p = cimsim::MakeProblem(n);
    cimsim::IdealCodesError(p, n);
    cimsim::Peaks peaks;
    peaks.int16 = cimsim::MeasurePeak<cimsim::bench::Int16GemmPeak>(threads);
    peaks.int8 = cimsim::MeasurePeak<cimsim::bench::Int8GemmPeak>(threads);
    std::printf("int16 GEMM peak (bench/gemm_peak.h, %d threads): %.1f GOP/s\n", threads, peaks.int16);
    std::printf("u8xs8 GEMM peak (bench/gemm_peak.h, %d threads): %.1f GOP/s%s\n", threads, peaks.int8,
                cimsim::kInt8GemmIsFast ? "" : " (no AVX-512 VNNI: a scalar loop, not a peak)");
    for (char c : names) {
      for (bool calibrated : {false, true}) cimsim::Run(c, p, n, threads, calibrated, peaks);
    }
  } catch (const cimsim::InputError& e) {
    std::cerr << "bench_mvm_throughput: error: " << e.what() << '\n';
    return 2;
  } catch (const po::error& e) {
    std::cerr << "bench_mvm_throughput: error: " << e.what() << '\n';
    return 2;
  }
  return 0;
}
