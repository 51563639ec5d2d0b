// CrossbarCore: an ideal device with enough ADC bits equals IdealCore bit for bit over every mapping ×
// slicing × tiling × input mode × input sign (parameterized); the fast path equals the reference on every
// read (trace) and on y with noisy pcm / rram devices, 4-bit ADCs with calibrated (narrow) ranges and
// non-trivial corrections; the same instance read at another time (AtReadTime) equals a chip programmed
// with that read time on every read (parameterized, fast and reference); hand-worked reads, ADC rounding and periphery; too few ADC bits change
// results within the quantization bound; read noise statistics (mean and variance within k/sqrt(n)
// bounds, fixed seeds); drift; geometry; draws only with read noise; threads, pooled and caller scratch,
// no allocation once warm; validation errors.
#include "sim/crossbar_core.h"
#include "sim/int8_gemm.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "common/test_support.h"
#include "devices/device_presets.h"
#include "sim/ideal_core.h"
#include "sim/trace_sink.h"

// Counts every global operator new of this test binary (the allocation-free test reads it).
namespace {
std::atomic<int64_t> g_news{0};
}  // namespace

// malloc/free behind new/delete is what the standard allows; GCC cannot see that they pair up.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
  g_news.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;
using testing::InvalidArgumentOf;

std::vector<int16_t> RandomCodes(int64_t count, int lo, int hi, Rng& rng) {
  std::vector<int16_t> v(static_cast<size_t>(count));
  for (auto& c : v) c = static_cast<int16_t>(lo + static_cast<int>(rng.Below(static_cast<uint64_t>(hi - lo + 1))));
  return v;
}

InputCodes Inputs(const std::vector<int16_t>& cols, int64_t K, int64_t n) {
  return InputCodes::VectorMajor(cols.data(), K, n);
}

DeviceModel Device(const std::string& preset) { return DeviceModel(DevicePreset(preset)); }

// rram with read noise, so that its noise path runs too (the preset has none).
DeviceModel NoisyRram() {
  DeviceParams p = DevicePreset("rram");
  p.read.kind = ReadNoiseKind::kProportional;
  p.read.relative = 0.02;
  return DeviceModel(p);
}

std::vector<int32_t> RunIdeal(const std::vector<int16_t>& w, int64_t N, int64_t K, int bits, int32_t lo, int32_t hi,
                              const InputCodes& x) {
  const IdealCore ideal(w, N, K, bits, lo, hi);
  std::vector<int32_t> y(static_cast<size_t>(N * x.n));
  MvmContext ctx;
  ideal.Multiply(x, y.data(), x.n, ctx);
  return y;
}

// ---- the parameterized grid ----

struct Case {
  CrossbarMapping mapping;
  int slice_bits;
  bool tiled;             // rows_max 16, cols_max 8 with N, K not multiples; else one tile
  InputMode mode;
  int input_slice_bits;   // bit_serial
  bool signed_input;      // [−127, 127]; else [0, 255]
  int devices_per_cell = 1;   // AllCases: 3 for the 2-bit slices (their cells are sums of devices)
  bool full_range_slices = false;   // AllCases: a few one-tile cases whose top slice has fewer digits
};

std::string Describe(const Case& c) {
  return std::string(ToString(c.mapping)) + "_slice" + std::to_string(c.slice_bits) + (c.tiled ? "_tiled" : "_onetile") +
         (c.mode == InputMode::kDac ? std::string("_dac") : "_bs" + std::to_string(c.input_slice_bits)) +
         (c.signed_input ? "_signed" : "_unsigned") +
         (c.devices_per_cell > 1 ? "_dev" + std::to_string(c.devices_per_cell) : std::string()) +
         (c.full_range_slices ? "_fullrange" : "");
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) { return Describe(info.param); }
void PrintTo(const Case& c, std::ostream* os) { *os << Describe(c); }

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  for (CrossbarMapping mapping : {CrossbarMapping::kDifferential, CrossbarMapping::kOffset})
    for (int slice_bits : {0, 1, 2, 4})
      for (bool tiled : {false, true})
        for (int input : {0, 1, 2})
          for (bool signed_input : {false, true})
            cases.push_back({mapping, slice_bits, tiled, input == 0 ? InputMode::kDac : InputMode::kBitSerial,
                             input == 0 ? 1 : input, signed_input, slice_bits == 2 ? 3 : 1});
  // Full-range slices: 8-bit weights (one tile) in 2- and 4-bit cells have a top slice of digits 0..1
  // resp. 0..7 (differential; offset 0..3 resp. 0..15) on its own Δg.
  for (CrossbarMapping mapping : {CrossbarMapping::kDifferential, CrossbarMapping::kOffset})
    for (int slice_bits : {2, 4})
      for (bool signed_input : {false, true})
        cases.push_back({mapping, slice_bits, false, InputMode::kBitSerial, 2, signed_input, 1, true});
  return cases;
}

// The layer of a case: shapes, bit widths, random weights and inputs.
struct Layer {
  int64_t N, K, n;
  int weight_bits;
  int32_t x_min, x_max;
  std::vector<int16_t> w, cols;
  CrossbarParams params;

  // Tiled: 5-bit weights so that 1-bit slices still fit cols_max = 8.
  Layer(const Case& c, uint64_t seed, int64_t vectors) {
    N = c.tiled ? 11 : 10;
    K = c.tiled ? 37 : 40;
    n = vectors;
    weight_bits = c.tiled ? 5 : 8;
    x_min = c.signed_input ? -127 : 0;
    x_max = c.signed_input ? 127 : 255;
    Rng rng(seed);
    const int w_max = (1 << (weight_bits - 1)) - 1;
    w = RandomCodes(N * K, -w_max, w_max, rng);
    cols = RandomCodes(K * n, x_min, x_max, rng);
    for (int64_t k = 0; k < K; k += 5) cols[static_cast<size_t>(k)] = static_cast<int16_t>(x_max);  // extremes
    params.rows_max = c.tiled ? 16 : 256;
    params.cols_max = c.tiled ? 8 : 256;
    params.mapping = c.mapping;
    params.slice_bits = c.slice_bits;
    params.devices_per_cell = c.devices_per_cell;
    params.full_range_slices = c.full_range_slices;
    params.input.mode = c.mode;
    params.input.dac_bits = 8;
    params.input.slice_bits = c.input_slice_bits;
  }

  CrossbarCore Core(const DeviceModel& device, uint64_t seed) const {
    Rng rng(seed);
    return CrossbarCore(w, N, K, weight_bits, x_min, x_max, device, params, rng);
  }
};

class CrossbarGridTest : public ::testing::TestWithParam<Case> {};

TEST_P(CrossbarGridTest, IdealDeviceWithEnoughAdcBitsEqualsIdealCore) {
  Layer layer(GetParam(), 7, CrossbarCore::kVectorBlock + 3);   // two vector blocks
  layer.params.adc.bits = 24;   // every full scale here is below 2^23 − 1: lsb <= 1
  const DeviceModel ideal = Device("ideal");
  const CrossbarCore core = layer.Core(ideal, 1);
  const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
  const std::vector<int32_t> expected = RunIdeal(layer.w, layer.N, layer.K, layer.weight_bits, layer.x_min,
                                                 layer.x_max, x);
  for (int64_t tr = 0; tr < core.TileRows(); ++tr)
    for (int s = 0; s < core.WeightSlices(); ++s)
      ASSERT_LE(core.adc_lsb()[static_cast<size_t>(core.PeripheryIndex(tr, s, 0))], 1.0);

  std::vector<int32_t> fast(expected.size(), -1), ref(expected.size(), -1);
  MvmContext ctx;   // an ideal device draws nothing: no rng needed
  core.Multiply(x, fast.data(), layer.n, ctx);
  core.MultiplyReference(x, ref.data(), layer.n, ctx);
  EXPECT_EQ(fast, expected);
  EXPECT_EQ(ref, expected);
}

TEST_P(CrossbarGridTest, FastEqualsReferenceOnEveryReadWithNoisyDevices) {
  for (const std::string device_name : {"pcm", "rram"}) {
    SCOPED_TRACE(device_name);
    Layer layer(GetParam(), 21, 20);
    layer.params.adc.bits = 4;
    layer.params.read_time = 3600;
    layer.params.periphery = {0.05, 0.01};   // analog column gains and offsets
    const DeviceModel device = device_name == "pcm" ? Device("pcm") : NoisyRram();
    layer.params.adc.range = AdcRange::kCalibrated;
    const CrossbarCore programmed = layer.Core(device, 5);
    ASSERT_TRUE(programmed.HasReadNoise());
    // Bit-serial slices take the integer-GEMM path; noisy DAC inputs (squares beyond its bound) the
    // double one: the grid covers both.
    EXPECT_EQ(programmed.UsesIntegerGemm(), GetParam().mode == InputMode::kBitSerial);
    // Ranges of a sixteenth of the ideal full scale: typical reads spread over the codes (and clip).
    std::vector<double> ranges = programmed.adc_ranges();
    for (double& r : ranges) r /= 16;
    // Corrections that are not powers of two, so that the order of the additions into y matters.
    Rng crng(3);
    std::vector<ColumnCorrection> corrections(programmed.corrections().size());
    for (auto& c : corrections) c = {1 + 0.05 * (crng.Uniform() - 0.5), 0.3 * (crng.Uniform() - 0.5)};
    const std::unique_ptr<CrossbarCore> calibrated = programmed.Calibrated({corrections, ranges});
    const CrossbarCore& core = *calibrated;

    const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
    std::vector<int32_t> fast(static_cast<size_t>(layer.N * layer.n)), ref(fast.size());
    TraceRecorder fast_reads, ref_reads;
    Rng fast_rng(99), ref_rng(99);
    MvmContext fast_ctx{&fast_rng, &fast_reads}, ref_ctx{&ref_rng, &ref_reads};
    core.Multiply(x, fast.data(), layer.n, fast_ctx);
    core.MultiplyReference(x, ref.data(), layer.n, ref_ctx);
    const int64_t reads = layer.n * core.TileRows() * core.SignPasses() * core.InputSlices() * core.WeightSlices() *
                          layer.N;
    ASSERT_EQ(static_cast<int64_t>(fast_reads.reads.size()), reads);
    ASSERT_EQ(ref_reads.reads.size(), fast_reads.reads.size());
    int64_t nonzero = 0;
    for (size_t i = 0; i < fast_reads.reads.size(); ++i) {
      ASSERT_EQ(fast_reads.reads[i], ref_reads.reads[i]) << "read " << i;
      nonzero += fast_reads.reads[i].code != 0;
    }
    EXPECT_GT(nonzero, reads / 2);   // the codes carry information, not just zeros
    EXPECT_EQ(fast, ref);
    EXPECT_EQ(fast_rng.NextU64(), ref_rng.NextU64());   // the same number of draws
    // Without the trace the fast path gives the same y from the same stream.
    std::vector<int32_t> untraced(fast.size());
    Rng rng(99);
    MvmContext ctx{&rng};
    core.Multiply(x, untraced.data(), layer.n, ctx);
    EXPECT_EQ(untraced, fast);
  }
}

// The same programmed instance read at another time (AtReadTime) is exactly a chip programmed from the
// same stream with that read time and given the same readout settings: every read (ADC code, analog
// value, corrected value) of the fast path and of the reference, with PCM drift, read noise, a periphery
// and a calibrated readout, at times before and after the one it was programmed with.
TEST_P(CrossbarGridTest, AtReadTimeEqualsAChipProgrammedWithThatReadTime) {
  Layer layer(GetParam(), 23, 20);
  layer.params.adc.bits = 5;
  layer.params.adc.range = AdcRange::kCalibrated;
  layer.params.periphery = {0.05, 0.01};
  layer.params.read_time = 1;
  const DeviceModel pcm = Device("pcm");
  const CrossbarCore programmed = layer.Core(pcm, 6);
  std::vector<double> ranges = programmed.adc_ranges();
  for (double& r : ranges) r /= 8;
  Rng crng(4);
  std::vector<ColumnCorrection> corrections(programmed.corrections().size());
  for (auto& c : corrections) c = {1 + 0.05 * (crng.Uniform() - 0.5), 0.3 * (crng.Uniform() - 0.5)};
  const ReadoutSettings settings{corrections, ranges};
  const std::unique_ptr<CrossbarCore> calibrated = programmed.Calibrated(settings);
  ASSERT_NE(calibrated->Aging(), nullptr);
  EXPECT_EQ(calibrated->Aging()->ReadTime(), 1.0);
  const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
  auto reads = [&](const CrossbarCore& core, bool reference) {
    std::vector<int32_t> y(static_cast<size_t>(layer.N * layer.n));
    TraceRecorder rec;
    Rng rng(77);
    MvmContext ctx{&rng, &rec};
    if (reference) {
      core.MultiplyReference(x, y.data(), layer.n, ctx);
    } else {
      core.Multiply(x, y.data(), layer.n, ctx);
    }
    return std::make_pair(y, rec.reads);
  };
  for (double t : {0.5, 86400.0, 3.1536e8}) {
    SCOPED_TRACE(t);
    // Through the capability, as a lifetime experiment asks for it.
    const std::unique_ptr<MvmCore> twin = calibrated->Aging()->AtReadTime(t, "test");
    ASSERT_NE(twin->Aging(), nullptr);
    EXPECT_EQ(twin->Aging()->ReadTime(), t);
    const std::unique_ptr<CrossbarCore> aged = calibrated->Aged(t);
    layer.params.read_time = t;
    const std::unique_ptr<CrossbarCore> fresh = layer.Core(pcm, 6).Calibrated(settings);
    layer.params.read_time = 1;
    EXPECT_EQ(aged->ConductanceGridExponent(), fresh->ConductanceGridExponent());
    EXPECT_EQ(aged->VarianceGridExponent(), fresh->VarianceGridExponent());
    EXPECT_EQ(aged->analog_periphery(), programmed.analog_periphery());
    for (bool reference : {false, true}) {
      const auto a = reads(*aged, reference), b = reads(*fresh, reference);
      ASSERT_EQ(a.second.size(), b.second.size());
      for (size_t i = 0; i < a.second.size(); ++i) ASSERT_EQ(a.second[i], b.second[i]) << "read " << i;
      EXPECT_EQ(a.first, b.first);
    }
    // The capability's twin reads the same.
    std::vector<int32_t> y_twin(static_cast<size_t>(layer.N * layer.n));
    Rng rng(77);
    MvmContext ctx{&rng};
    twin->Multiply(x, y_twin.data(), layer.n, ctx);
    EXPECT_EQ(y_twin, reads(*fresh, false).first);
  }
  // Drift is real here: a year later the reads differ from those at 1 s.
  EXPECT_NE(reads(*calibrated, false).first, reads(*calibrated->Aged(3.1536e7), false).first);
  EXPECT_EQ(InvalidArgumentOf([&] { calibrated->AtReadTime(-1, "layer conv1"); }),
            "layer conv1: CrossbarCore::AtReadTime: the read time -1.000000 s is not a finite number >= 0");
  EXPECT_THROW(calibrated->Aged(std::numeric_limits<double>::infinity()), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(AllMappingsSlicingsTilingsInputs, CrossbarGridTest, ::testing::ValuesIn(AllCases()), CaseName);

// Full-size 128 × 128 tiles (three tile rows, two tile columns, a vector block and a bit), PCM read
// noise and a periphery: bit-serial inputs through the integer-GEMM path (two digit planes for ΔG)
// and 8-bit DAC inputs through the double path, every read against the reference.
TEST(CrossbarCoreTest, FastEqualsReferenceOnFullSizeTilesOnBothGemmPaths) {
  const int64_t N = 70, K = 300, n = 130;
  Rng rng(8);
  const std::vector<int16_t> w = RandomCodes(N * K, -127, 127, rng);
  std::vector<int16_t> cols = RandomCodes(K * n, 0, 255, rng);
  for (size_t i = 0; i < cols.size(); i += 3) cols[i] = 0;   // ReLU-like zeros
  const InputCodes x = Inputs(cols, K, n);
  const DeviceModel pcm = Device("pcm");
  for (const InputMode mode : {InputMode::kBitSerial, InputMode::kDac}) {
    SCOPED_TRACE(ToString(mode));
    CrossbarParams params;
    params.rows_max = 128;
    params.cols_max = 128;
    params.slice_bits = 4;
    params.input.mode = mode;
    params.input.slice_bits = 1;
    params.input.dac_bits = 8;
    params.read_time = 3600;
    params.periphery = {0.05, 0.01};
    Rng program(4);
    const CrossbarCore core(w, N, K, 8, 0, 255, pcm, params, program);
    ASSERT_EQ(core.UsesIntegerGemm(), mode == InputMode::kBitSerial);
    ASSERT_EQ(core.TileRows(), 3);
    ASSERT_EQ(core.TileCols(), 3);   // 32 outputs per tile
    std::vector<int32_t> fast(static_cast<size_t>(N * n)), ref(fast.size());
    TraceRecorder fast_reads, ref_reads;
    Rng fast_rng(5), ref_rng(5);
    MvmContext fast_ctx{&fast_rng, &fast_reads}, ref_ctx{&ref_rng, &ref_reads};
    core.Multiply(x, fast.data(), n, fast_ctx);
    core.MultiplyReference(x, ref.data(), n, ref_ctx);
    ASSERT_EQ(fast_reads.reads.size(), ref_reads.reads.size());
    for (size_t i = 0; i < fast_reads.reads.size(); ++i) ASSERT_EQ(fast_reads.reads[i], ref_reads.reads[i]) << "read " << i;
    EXPECT_EQ(fast, ref);
    std::vector<int32_t> untraced(fast.size());
    Rng rng2(5);
    MvmContext ctx{&rng2};
    core.Multiply(x, untraced.data(), n, ctx);
    EXPECT_EQ(untraced, fast);
  }
}

// Vectors whose input slices are zero on a tile's rows (all of them, the high bits only, or on one tile
// row only) beside dense ones, in one block and across blocks: the fast path leaves them out of the
// products and does not transform their normals (Rng::FillNormalRows), and still equals the reference
// on every read (with the periphery's offsets, so that zero column sums give non-zero codes), on y and
// on the draws taken, traced or not; unsigned and signed inputs, all three GEMM paths (the ideal device's
// bit-serial reads take the u8×s8 byte path when the build has AVX-512 VNNI).
TEST(CrossbarCoreTest, FastEqualsReferenceWithPerVectorZeroInputSlices) {
  const int64_t N = 70, K = 300, n = 300;
  Rng rng(12);
  const std::vector<int16_t> w = RandomCodes(N * K, -127, 127, rng);
  struct Setup {
    InputMode mode;
    int32_t x_min;
    const char* device;
  };
  for (const Setup setup : {Setup{InputMode::kBitSerial, 0, "pcm"}, Setup{InputMode::kBitSerial, -127, "pcm"},
                            Setup{InputMode::kDac, 0, "pcm"}, Setup{InputMode::kBitSerial, 0, "ideal"},
                            Setup{InputMode::kBitSerial, -127, "ideal"}}) {
    SCOPED_TRACE(std::string(ToString(setup.mode)) + (setup.x_min < 0 ? " signed " : " unsigned ") + setup.device);
    const DeviceModel device = Device(setup.device);
    const int32_t x_max = setup.x_min < 0 ? 127 : 255;
    std::vector<int16_t> cols(static_cast<size_t>(K * n), 0);
    for (int64_t j = 0; j < n; ++j) {
      const int kind = static_cast<int>(j % 5);   // 0: all zero; 1: {0, 1}; 2: 4 bits; 3: dense; 4: dense
      const int32_t hi = kind == 0 ? 0 : kind == 1 ? 1 : kind == 2 ? 15 : x_max;
      for (int64_t k = 0; k < K; ++k) {
        if (kind == 4 && k < 128) continue;   // zero on tile row 0 only
        const int32_t lo = setup.x_min < 0 ? -hi : 0;
        cols[static_cast<size_t>(j * K + k)] =
            static_cast<int16_t>(lo + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(hi - lo + 1))));
      }
    }
    const InputCodes x = Inputs(cols, K, n);
    CrossbarParams params;
    params.rows_max = 128;
    params.cols_max = 128;
    params.slice_bits = 4;
    params.input.mode = setup.mode;
    params.input.slice_bits = 1;
    params.input.dac_bits = 8;
    params.read_time = 3600;
    params.periphery = {0.05, 0.01};
    params.adc.bits = 4;
    params.adc.range = AdcRange::kCalibrated;
    Rng program(4);
    const CrossbarCore programmed(w, N, K, 8, setup.x_min, x_max, device, params, program);
    ASSERT_EQ(programmed.UsesIntegerGemm(), setup.mode == InputMode::kBitSerial);
    ASSERT_EQ(programmed.UsesByteGemm(), kInt8GemmIsFast && std::string(setup.device) == "ideal");
    std::vector<double> ranges = programmed.adc_ranges();
    for (double& r : ranges) r /= 16;
    Rng crng(3);
    std::vector<ColumnCorrection> corrections(programmed.corrections().size());
    for (auto& c : corrections) c = {1 + 0.05 * (crng.Uniform() - 0.5), 0.3 * (crng.Uniform() - 0.5)};
    const std::unique_ptr<CrossbarCore> core = programmed.Calibrated({corrections, ranges});

    std::vector<int32_t> fast(static_cast<size_t>(N * n)), ref(fast.size()), untraced(fast.size());
    TraceRecorder fast_reads, ref_reads;
    Rng fast_rng(5), ref_rng(5), untraced_rng(5);
    MvmContext fast_ctx{&fast_rng, &fast_reads}, ref_ctx{&ref_rng, &ref_reads}, untraced_ctx{&untraced_rng};
    core->Multiply(x, fast.data(), n, fast_ctx);
    core->MultiplyReference(x, ref.data(), n, ref_ctx);
    core->Multiply(x, untraced.data(), n, untraced_ctx);
    ASSERT_EQ(fast_reads.reads.size(), ref_reads.reads.size());
    int64_t zero_sum_reads = 0, nonzero_codes_of_those = 0;
    for (size_t i = 0; i < fast_reads.reads.size(); ++i) {
      ASSERT_EQ(fast_reads.reads[i], ref_reads.reads[i]) << "read " << i;
      if (fast_reads.reads[i].ideal == 0) {
        ++zero_sum_reads;
        nonzero_codes_of_those += fast_reads.reads[i].code != 0;
      }
    }
    EXPECT_GT(zero_sum_reads, static_cast<int64_t>(fast_reads.reads.size()) / 4);
    EXPECT_GT(nonzero_codes_of_those, 0);   // the periphery's offsets reach the codes
    EXPECT_EQ(fast, ref);
    EXPECT_EQ(untraced, fast);
    const uint64_t next = ref_rng.NextU64();
    EXPECT_EQ(fast_rng.NextU64(), next);
    EXPECT_EQ(untraced_rng.NextU64(), next);   // the same words taken
  }
}

// ---- hand-worked cases ----

// One output, K = 2, 3-bit weights w = (3, −2), inputs x = (1, 2) through a 2-bit DAC, differential,
// 1-bit slices: |3| = 0b11 → digits (1, 1); |−2| = 0b10 → digits (0, −1) (signed).
//   slice 0: Σ x·d = 1·1 + 2·0 = 1;  slice 1: 1·1 + 2·(−1) = −1;  y = 1 + 2·(−1) = −1 = 3·1 − 2·2.
struct HandLayer {
  std::vector<int16_t> w = {3, -2};
  std::vector<int16_t> cols = {1, 2};
  CrossbarParams params;
  HandLayer() {
    params.mapping = CrossbarMapping::kDifferential;
    params.slice_bits = 1;
    params.input.mode = InputMode::kDac;
    params.input.dac_bits = 2;
  }
  std::vector<MvmRead> Run(int32_t& y) const {
    const DeviceModel ideal = Device("ideal");
    Rng rng(1);
    const CrossbarCore core(w, 1, 2, 3, 0, 3, ideal, params, rng);
    TraceRecorder sink;
    MvmContext ctx{nullptr, &sink};
    core.Multiply(Inputs(cols, 2, 1), &y, 1, ctx);
    return sink.reads;
  }
};

TEST(CrossbarCoreTest, HandWorkedDifferentialReads) {
  HandLayer layer;
  layer.params.adc.bits = 8;
  int32_t y = 0;
  const std::vector<MvmRead> reads = layer.Run(y);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].weight_slice, 0);
  EXPECT_EQ(reads[0].ideal, 1);
  EXPECT_EQ(reads[0].analog, 1.0);   // the grid makes an ideal device exact
  EXPECT_EQ(reads[0].code, 16);      // full scale 2·3·1 = 6 <= 127·lsb → lsb = 2^−4, code = 1 / 2^−4
  EXPECT_EQ(reads[1].weight_slice, 1);
  EXPECT_EQ(reads[1].ideal, -1);
  EXPECT_EQ(reads[1].code, -16);
  EXPECT_EQ(reads[1].corrected, -1.0);
  EXPECT_EQ(y, -1);
}

// The same weights on the offset mapping, one 3-bit cell per weight: u = w + 3 = (6, 1); the read is
// Σ x·u = 1·6 + 2·1 = 8 and the periphery subtracts w_max·Σ x = 3·3: y = −1.
TEST(CrossbarCoreTest, HandWorkedOffsetRead) {
  HandLayer layer;
  layer.params.mapping = CrossbarMapping::kOffset;
  layer.params.slice_bits = 0;
  int32_t y = 0;
  const std::vector<MvmRead> reads = layer.Run(y);
  ASSERT_EQ(reads.size(), 1u);
  EXPECT_EQ(reads[0].ideal, 8);
  EXPECT_EQ(reads[0].analog, 8.0);
  EXPECT_EQ(reads[0].code, 16);   // full scale 2·3·6 = 36 <= 127·lsb → lsb = 0.5
  EXPECT_EQ(y, -1);
}

// The analog periphery (a, b) by hand on an ideal array: the ADC sees a·Σ x·d + b. On a 1-output,
// 1-slice layer with a 16-bit ADC, the code is round(v'/lsb) for the drawn a and b; and over many
// columns a and b/R have the configured spreads (statistical: 5σ bounds on mean and variance).
TEST(CrossbarCoreTest, PeripheryGainAndOffsetActBeforeTheAdc) {
  const DeviceModel ideal = Device("ideal");
  CrossbarParams p;
  p.input.mode = InputMode::kDac;
  p.adc.bits = 16;
  p.periphery = {0.05, 0.01};
  const std::vector<int16_t> w = {3, -2};   // 3-bit weights, one pair each: Σ x·w = 1·3 + 2·(−2) = −1
  Rng rng(4);
  const CrossbarCore core(w, 1, 2, 3, 0, 3, ideal, p, rng);
  const ColumnCorrection a = core.analog_periphery()[0];
  EXPECT_NE(a.gain, 1.0);
  EXPECT_NE(a.offset, 0.0);
  TraceRecorder sink;
  MvmContext ctx{nullptr, &sink};
  int32_t y = 0;
  core.Multiply(Inputs({1, 2}, 2, 1), &y, 1, ctx);
  ASSERT_EQ(sink.reads.size(), 1u);
  EXPECT_EQ(sink.reads[0].ideal, -1);
  EXPECT_EQ(sink.reads[0].analog, std::fma(a.gain, -1.0, a.offset));
  const double lsb = core.adc_lsb()[0];
  EXPECT_EQ(sink.reads[0].code, std::lround(sink.reads[0].analog / lsb));
  EXPECT_EQ(core.NominalFullScale(0, 0), 2 * 3 * 3);   // rows · X_max · d_max

  // The spreads over 5 tile rows (576 rows in tiles of 128) × 64 outputs = 320 columns.
  const int64_t N = 64, K = 576;
  std::vector<int16_t> big(static_cast<size_t>(N * K), 1);
  p.periphery = {0.05, 0.02};
  Rng rng2(8);
  const CrossbarCore chip(big, N, K, 8, 0, 255, ideal, p, rng2);
  const auto& cols = chip.analog_periphery();
  double ga = 0, ga2 = 0, ob = 0, ob2 = 0;
  for (int64_t tr = 0; tr < chip.TileRows(); ++tr)
    for (int64_t o = 0; o < N; ++o) {
      const ColumnCorrection& c = cols[static_cast<size_t>(chip.PeripheryIndex(tr, 0, o))];
      const double g = (c.gain - 1) / 0.05, b = c.offset / (0.02 * chip.NominalFullScale(tr, 0));
      ga += g;
      ga2 += g * g;
      ob += b;
      ob2 += b * b;
    }
  const double n = static_cast<double>(cols.size());
  EXPECT_NEAR(ga / n, 0, 5 / std::sqrt(n));                 // N(0, 1): mean within 5σ/√n
  EXPECT_NEAR(ga2 / n, 1, 5 * std::sqrt(2 / n));            // variance within 5·√(2/n)
  EXPECT_NEAR(ob / n, 0, 5 / std::sqrt(n));
  EXPECT_NEAR(ob2 / n, 1, 5 * std::sqrt(2 / n));
}

// Few ADC bits by hand (full scale 6 per slice): 3 bits → lsb = 2 (6 <= 3·2); the reads ±1 give ±0.5,
// rounded half away from zero to codes ±1, values ±2: y = 2 + 2·(−2) = −2. 2 bits → lsb = 8: codes 0, y = 0.
TEST(CrossbarCoreTest, FewAdcBitsRoundHalfAwayByHand) {
  HandLayer layer;
  layer.params.adc.bits = 3;
  int32_t y = 0;
  std::vector<MvmRead> reads = layer.Run(y);
  ASSERT_EQ(reads.size(), 2u);
  EXPECT_EQ(reads[0].code, 1);
  EXPECT_EQ(reads[0].corrected, 2.0);
  EXPECT_EQ(reads[1].code, -1);
  EXPECT_EQ(y, -2);
  layer.params.adc.bits = 2;
  reads = layer.Run(y);
  EXPECT_EQ(reads[0].code, 0);
  EXPECT_EQ(reads[1].code, 0);
  EXPECT_EQ(y, 0);
}

TEST(CrossbarCoreTest, CorrectionsAndSaturationByHand) {
  HandLayer layer;
  const DeviceModel ideal = Device("ideal");
  Rng rng(1);
  const CrossbarCore programmed(layer.w, 1, 2, 3, 0, 3, ideal, layer.params, rng);
  ASSERT_EQ(programmed.corrections().size(), 2u);   // one tile row, two slices, one output
  EXPECT_EQ(programmed.corrections()[0], ColumnCorrection{});
  // Slice 0: 1 + 0.25; slice 1: 2·(−1): y = round(1.25 + 2·(−2)) = round(−2.75) = −3.
  std::vector<ColumnCorrection> c(2);
  c[static_cast<size_t>(programmed.PeripheryIndex(0, 0, 0))].offset = 0.25;
  c[static_cast<size_t>(programmed.PeripheryIndex(0, 1, 0))].gain = 2;
  const std::unique_ptr<CrossbarCore> core = programmed.Calibrated({c, {}});
  EXPECT_EQ(core->corrections(), c);
  EXPECT_EQ(programmed.corrections()[1], ColumnCorrection{});   // the programmed core is unchanged
  const InputCodes x = Inputs(layer.cols, 2, 1);
  int32_t y = 0;
  MvmContext ctx;
  core->Multiply(x, &y, 1, ctx);
  EXPECT_EQ(y, -3);
  // 1e12 − 2·1e12 saturates at the int32 minimum.
  programmed.Calibrated({std::vector<ColumnCorrection>(2, ColumnCorrection{1e12, 0}), {}})->Multiply(x, &y, 1, ctx);
  EXPECT_EQ(y, std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { programmed.Calibrated({std::vector<ColumnCorrection>(3), {}}); }), "3 corrections"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] {
                        programmed.Calibrated({std::vector<ColumnCorrection>(2, ColumnCorrection{NAN, 0}), {}});
                      }),
                      "not finite"));
}

// Calibrated ranges: before calibration the full scale (6) with lsb = 6/2^2 = 1.5: reads ±1 → codes ±1
// (±0.667 rounds to ±1), values ±1.5, y = round(1.5 − 3) = −2 (half away). Ranges 0.5: lsb = 0.125, the
// reads clip at codes 3 and −4: y = round(0.375 + 2·(−0.5)) = round(−0.625) = −1.
TEST(CrossbarCoreTest, CalibratedAndFixedRangesByHand) {
  HandLayer layer;
  layer.params.adc.bits = 3;
  layer.params.adc.range = AdcRange::kCalibrated;
  const DeviceModel ideal = Device("ideal");
  Rng rng(1);
  const CrossbarCore core(layer.w, 1, 2, 3, 0, 3, ideal, layer.params, rng);
  EXPECT_EQ(core.adc_ranges(), (std::vector<double>{6, 6}));
  EXPECT_EQ(core.adc_lsb(), (std::vector<double>{1.5, 1.5}));
  const InputCodes x = Inputs(layer.cols, 2, 1);
  int32_t y = 0;
  MvmContext ctx;
  core.Multiply(x, &y, 1, ctx);
  EXPECT_EQ(y, -2);
  const std::vector<ColumnCorrection> identity(2);
  const std::unique_ptr<CrossbarCore> narrow = core.Calibrated({identity, std::vector<double>{0.5, 0.5}});
  EXPECT_EQ(narrow->adc_lsb(), (std::vector<double>{0.125, 0.125}));
  TraceRecorder sink;
  MvmContext traced{nullptr, &sink};
  narrow->Multiply(x, &y, 1, traced);
  ASSERT_EQ(sink.reads.size(), 2u);
  EXPECT_EQ(sink.reads[0].code, 3);
  EXPECT_EQ(sink.reads[1].code, -4);
  EXPECT_EQ(y, -1);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { core.Calibrated({identity, std::vector<double>{1}}); }), "1 ranges"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { core.Calibrated({identity, std::vector<double>{1, -1}}); }), "range 1 = -1"));

  // Fixed: lsb = 4 / 2^2 = 1, exact for these reads.
  layer.params.adc.range = AdcRange::kFixed;
  layer.params.adc.fixed_range = 4;
  Rng rng2(1);
  CrossbarCore fixed(layer.w, 1, 2, 3, 0, 3, ideal, layer.params, rng2);
  EXPECT_EQ(fixed.adc_ranges(), (std::vector<double>{4, 4}));
  EXPECT_EQ(fixed.adc_lsb(), (std::vector<double>{1, 1}));
  fixed.Multiply(x, &y, 1, ctx);
  EXPECT_EQ(y, -1);
  EXPECT_THROW(fixed.Calibrated({identity, std::vector<double>{1, 1}}), std::logic_error);
}

TEST(CrossbarCoreTest, GeometryOfATiledLayer) {
  const DeviceModel ideal = Device("ideal");
  CrossbarParams p;
  p.rows_max = 16;
  p.cols_max = 8;
  p.slice_bits = 2;
  p.input.slice_bits = 2;
  const std::vector<int16_t> w(11 * 37, 1);
  Rng rng(1);
  // Differential, 5-bit weights: |w| has 4 bits → S = 2 digits of 2 bits; P = ⌊8 / 4⌋ = 2 outputs per
  // tile; 3 × 6 tiles. Signed inputs: 2 passes, 7 magnitude bits → T = 4 slices of 2 bits, X_max = 3.
  const CrossbarCore diff(w, 11, 37, 5, -127, 127, ideal, p, rng);
  EXPECT_EQ(diff.WeightSlices(), 2);
  EXPECT_EQ(diff.CellBits(), 2);
  EXPECT_EQ(diff.OutputsPerTile(), 2);
  EXPECT_EQ(diff.TileRows(), 3);
  EXPECT_EQ(diff.TileCols(), 6);
  EXPECT_EQ(diff.SignPasses(), 2);
  EXPECT_EQ(diff.InputSlices(), 4);
  EXPECT_EQ(diff.InputSliceMax(), 3);
  EXPECT_EQ(diff.MaxDigit(0), 3);
  EXPECT_EQ(diff.MaxDigit(1), 3);
  EXPECT_EQ(diff.GMin(), 0.0);
  EXPECT_EQ(diff.DeltaG(0), std::floor(25.0 / 3 * 65536) / 65536);
  EXPECT_EQ(diff.ConductanceGridExponent(), 16);
  EXPECT_EQ(diff.corrections().size(), 3u * 2 * 11);
  // Offset: u = w + 15 <= 30 = 0b11110 has 5 bits → S = 3, the top digit at most 1; P = ⌊7 / 3⌋ = 2.
  // DAC inputs in [0, 255]: one pass, one read of X_max = 255.
  p.mapping = CrossbarMapping::kOffset;
  p.input.mode = InputMode::kDac;
  const CrossbarCore offset(w, 11, 37, 5, 0, 255, ideal, p, rng);
  EXPECT_EQ(offset.WeightSlices(), 3);
  EXPECT_EQ(offset.MaxDigit(2), 1);
  EXPECT_EQ(offset.OutputsPerTile(), 2);
  EXPECT_EQ(offset.SignPasses(), 1);
  EXPECT_EQ(offset.InputSlices(), 1);
  EXPECT_EQ(offset.InputSliceMax(), 255);
  // rram's range [50, 225] µS: g_0 = 50 is on the grid.
  const DeviceModel rram = Device("rram");
  const CrossbarCore r(w, 11, 37, 5, 0, 255, rram, p, rng);
  EXPECT_EQ(r.GMin(), 50.0);
  EXPECT_FALSE(r.HasReadNoise());
}

TEST(CrossbarCoreTest, TooFewAdcBitsChangeResultsWithinTheQuantizationBound) {
  Case c{CrossbarMapping::kDifferential, 2, false, InputMode::kBitSerial, 2, false};
  Layer layer(c, 17, 30);
  // 7 magnitude bits in 2-bit digits: d_max = 3, 3, 3, 1. Full scale 40·3·3 = 360 <= 15·lsb → lsb = 32
  // (the top slice: 40·3·1 = 120 → lsb = 8).
  layer.params.adc.bits = 5;
  const DeviceModel ideal = Device("ideal");
  const CrossbarCore core = layer.Core(ideal, 1);
  const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
  const std::vector<int32_t> exact = RunIdeal(layer.w, layer.N, layer.K, layer.weight_bits, layer.x_min, layer.x_max, x);
  std::vector<int32_t> y(exact.size());
  TraceRecorder sink;
  MvmContext ctx{nullptr, &sink};
  core.Multiply(x, y.data(), layer.n, ctx);
  EXPECT_NE(y, exact);
  std::vector<double> bound(exact.size(), 0.5);   // the final rounding
  for (const MvmRead& r : sink.reads) {
    const double lsb = core.adc_lsb()[static_cast<size_t>(core.PeripheryIndex(r.tile_row, r.weight_slice, r.output))];
    EXPECT_EQ(lsb, r.weight_slice == 3 ? 8.0 : 32.0);
    ASSERT_LE(std::abs(r.corrected - static_cast<double>(r.ideal)), lsb / 2) << "no clipping with range max";
    const double weight = std::ldexp(1.0, 2 * r.weight_slice + 2 * r.input_slice);   // 2^(s·c + t·b)
    bound[static_cast<size_t>(r.output * layer.n + r.vector)] += weight * lsb / 2;
  }
  int64_t differ = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    EXPECT_LE(std::abs(static_cast<double>(y[i]) - exact[i]), bound[i]) << i;
    differ += y[i] != exact[i];
  }
  EXPECT_GT(differ, static_cast<int64_t>(y.size()) / 2);
}

// Statistical (fixed seeds): with a constant read σ on every cell, each read's analog − ideal is
// N(0, Σ_k x_t[k]²·2σ² / Δg²). Over M reads the normalized errors must have mean 0 ± 4/√M and
// variance 1 ± 4·√(2/M).
TEST(CrossbarCoreTest, ReadNoiseMeanAndVarianceStatistical) {
  DeviceParams dp = DevicePreset("ideal");
  dp.read.kind = ReadNoiseKind::kConstant;
  dp.read.sigma = 0.5;   // σ² = 0.25, on the variance grid
  const DeviceModel device(dp);
  const int64_t N = 4, K = 64, n = 1000;
  Rng rng(31);
  const std::vector<int16_t> w = RandomCodes(N * K, -127, 127, rng);
  const std::vector<int16_t> cols = RandomCodes(K * n, 0, 255, rng);
  CrossbarParams p;   // differential, one cell pair per weight, bit-serial 1-bit inputs
  Rng program(2);
  const CrossbarCore core(w, N, K, 8, 0, 255, device, p, program);
  ASSERT_TRUE(core.HasReadNoise());
  const double dg = core.DeltaG(0);
  const InputCodes x = Inputs(cols, K, n);
  std::vector<int32_t> y(static_cast<size_t>(N * n));
  TraceRecorder sink;
  Rng noise(77);
  MvmContext ctx{&noise, &sink};
  core.Multiply(x, y.data(), n, ctx);
  double sum = 0, sum2 = 0;
  int64_t m = 0;
  for (const MvmRead& r : sink.reads) {
    double ones = 0;   // Σ_k x_t[k]², x_t in {0, 1}
    for (int64_t k = 0; k < K; ++k) ones += (cols[static_cast<size_t>(r.vector * K + k)] >> r.input_slice) & 1;
    if (ones == 0) continue;
    const double sd = std::sqrt(ones * 2 * 0.25) / dg;
    const double e = (r.analog - static_cast<double>(r.ideal)) / sd;
    sum += e;
    sum2 += e * e;
    ++m;
  }
  ASSERT_GT(m, 30000);
  const double mean = sum / m, var = sum2 / m - mean * mean;
  EXPECT_LT(std::abs(mean), 4 / std::sqrt(static_cast<double>(m)));
  EXPECT_LT(std::abs(var - 1), 4 * std::sqrt(2.0 / m));
}

TEST(CrossbarCoreTest, DrawsOnlyWithReadNoiseAndDependOnlyOnSeeds) {
  Case c{CrossbarMapping::kDifferential, 0, true, InputMode::kBitSerial, 1, false};
  Layer layer(c, 5, 50);
  const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
  auto run = [&](const CrossbarCore& core, uint64_t seed, Rng* after = nullptr) {
    std::vector<int32_t> y(static_cast<size_t>(layer.N * layer.n));
    Rng rng(seed);
    MvmContext ctx{&rng};
    core.Multiply(x, y.data(), layer.n, ctx);
    if (after != nullptr) *after = rng;
    return y;
  };
  // Ideal device, and pcm with read_noise off: no draws at all.
  Rng after(0);
  run(layer.Core(Device("ideal"), 1), 42, &after);
  EXPECT_EQ(after.NextU64(), Rng(42).NextU64());
  layer.params.read_noise = false;
  const CrossbarCore quiet = layer.Core(Device("pcm"), 1);
  EXPECT_FALSE(quiet.HasReadNoise());
  run(quiet, 42, &after);
  EXPECT_EQ(after.NextU64(), Rng(42).NextU64());
  EXPECT_EQ(run(quiet, 1), run(quiet, 2));
  // With read noise: the same seeds give the same y, another read seed or another chip another y.
  layer.params.read_noise = true;
  const DeviceModel pcm = Device("pcm");
  const CrossbarCore a = layer.Core(pcm, 1), b = layer.Core(pcm, 1), chip2 = layer.Core(pcm, 2);
  EXPECT_EQ(run(a, 7), run(b, 7));
  EXPECT_NE(run(a, 7), run(a, 8));
  EXPECT_NE(run(a, 7), run(chip2, 7));
}

// replicate_rows: copies of a layer down a tile's rows, driven by the same input and summed on the column,
// are r·n devices per cell — the replicated chip reads bit for bit what a chip with that many devices per
// cell reads, on the same program and read streams. The one-tile case (K = 40, rows_max 256) takes
// r = ⌊256/40⌋ = 6 copies (capped at 16/n = 5 with n = 3); the tiled case (K = 37 > rows_max 16) none.
TEST(CrossbarCoreTest, ReplicatedRowsReadAsThatManyDevicesPerCell) {
  const DeviceModel pcm = Device("pcm");
  for (const bool tiled : {false, true}) {
    for (const int n : {1, 3}) {
      Case c{CrossbarMapping::kDifferential, 4, tiled, InputMode::kBitSerial, 2, false, n};
      Layer layer(c, 11, 6);
      layer.params.read_time = 3600;
      const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
      const auto run = [&](const CrossbarCore& core) {
        std::vector<int32_t> y(static_cast<size_t>(layer.N * layer.n));
        Rng rng(5);
        MvmContext ctx{&rng};
        core.Multiply(x, y.data(), layer.n, ctx);
        return y;
      };
      const int r = tiled ? 1 : (n == 1 ? 6 : 5);
      layer.params.replicate_rows = true;
      const CrossbarCore replicated = layer.Core(pcm, 9);
      EXPECT_EQ(replicated.layout().RowCopies(), r) << Describe(c);
      EXPECT_EQ(replicated.layout().DevicesPerCell(), r * n) << Describe(c);
      layer.params.replicate_rows = false;
      layer.params.devices_per_cell = r * n;
      const CrossbarCore parallel = layer.Core(pcm, 9);
      EXPECT_EQ(run(replicated), run(parallel)) << Describe(c);
      if (r > 1) {   // and not what the unreplicated chip reads
        layer.params.devices_per_cell = n;
        EXPECT_NE(run(replicated), run(layer.Core(pcm, 9))) << Describe(c);
      }
    }
  }
}

// pcm conductances decay as ((t + t0)/t0)^(−ν), ν ≈ 0.05–0.1: after 10^7 s (factor 0.27–0.52) the same
// chip's outputs are much smaller (fixed ADC range, so that the shrink is not hidden by the range).
TEST(CrossbarCoreTest, DriftShrinksOutputsAtALaterReadTime) {
  Case c{CrossbarMapping::kDifferential, 0, false, InputMode::kDac, 1, false};
  Layer layer(c, 9, 40);
  layer.params.read_noise = false;
  layer.params.adc.bits = 24;
  layer.params.adc.range = AdcRange::kFixed;
  layer.params.adc.fixed_range = 1 << 22;
  const DeviceModel pcm = Device("pcm");
  const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
  auto total = [&](double t) {
    layer.params.read_time = t;
    const CrossbarCore core = layer.Core(pcm, 4);
    std::vector<int32_t> y(static_cast<size_t>(layer.N * layer.n));
    MvmContext ctx;
    core.Multiply(x, y.data(), layer.n, ctx);
    double s = 0;
    for (int32_t v : y) s += std::abs(static_cast<double>(v));
    return s;
  };
  const double early = total(0), late = total(1e7);
  EXPECT_GT(early, 0);
  EXPECT_LT(late, 0.6 * early);
  EXPECT_GT(late, 0.2 * early);
}

TEST(CrossbarCoreTest, ThreadsPoolAndCallerScratchGiveTheSameResults) {
  Case c{CrossbarMapping::kOffset, 2, true, InputMode::kBitSerial, 2, true};
  Layer layer(c, 12, 200);
  const DeviceModel pcm = Device("pcm");
  const CrossbarCore core = layer.Core(pcm, 3);
  const int64_t half = layer.n / 2;
  std::vector<InputCodes> parts;
  for (int i = 0; i < 2; ++i) parts.push_back(Inputs(layer.cols, layer.K, layer.n).Columns(i * half, half));
  auto run = [&](int i, std::vector<int32_t>& y, CrossbarScratch* scratch) {
    Rng rng(100 + static_cast<uint64_t>(i));
    MvmContext ctx{&rng};
    y.assign(static_cast<size_t>(layer.N * half), 0);
    if (scratch != nullptr) {
      core.Multiply(parts[static_cast<size_t>(i)], y.data(), half, ctx, *scratch);
    } else {
      core.Multiply(parts[static_cast<size_t>(i)], y.data(), half, ctx);
    }
  };
  std::vector<int32_t> seq[2], par[2], own[2];
  for (int i = 0; i < 2; ++i) run(i, seq[i], nullptr);
  for (int repeat = 0; repeat < 3; ++repeat) {
    std::thread t0([&] { run(0, par[0], nullptr); });
    std::thread t1([&] { run(1, par[1], nullptr); });
    t0.join();
    t1.join();
    EXPECT_EQ(par[0], seq[0]);
    EXPECT_EQ(par[1], seq[1]);
  }
  CrossbarScratch scratch;
  for (int i = 0; i < 2; ++i) {
    run(i, own[i], &scratch);
    EXPECT_EQ(own[i], seq[i]);
  }
}

TEST(CrossbarCoreTest, NoAllocationOnceTheScratchHasGrown) {
  Case c{CrossbarMapping::kDifferential, 2, true, InputMode::kBitSerial, 2, true};
  Layer layer(c, 13, 300);
  for (const char* name : {"pcm", "ideal"}) {   // int16 planes, and the byte path (with AVX-512 VNNI)
    SCOPED_TRACE(name);
    const DeviceModel device = Device(name);
    const CrossbarCore core = layer.Core(device, 3);
    EXPECT_EQ(core.UsesByteGemm(), kInt8GemmIsFast && std::string(name) == "ideal");
    const InputCodes x = Inputs(layer.cols, layer.K, layer.n);
    std::vector<int32_t> y(static_cast<size_t>(layer.N * layer.n));
    Rng rng(1);
    MvmContext ctx{&rng};
    CrossbarScratch scratch;
    core.Multiply(x, y.data(), layer.n, ctx, scratch);   // grows the scratch
    core.Multiply(x, y.data(), layer.n, ctx);            // grows the pool
    const int64_t before = g_news.load();
    core.Multiply(x, y.data(), layer.n, ctx, scratch);
    core.Multiply(x, y.data(), layer.n, ctx);
    EXPECT_EQ(g_news.load(), before);
    EXPECT_GT(before, 0);   // the counter does count
  }
}

TEST(CrossbarCoreTest, RejectsBadArgumentsAndCalls) {
  const DeviceModel ideal = Device("ideal");
  const CrossbarParams p;
  Rng rng(1);
  const std::vector<int16_t> w6(6, 1);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { CrossbarCore(w6, 0, 6, 8, 0, 255, ideal, p, rng); }), "N = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { CrossbarCore(w6, 2, 4, 8, 0, 255, ideal, p, rng); }), "codes has 6"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { CrossbarCore(w6, 2, 3, 17, 0, 255, ideal, p, rng); }), "weight_bits = 17"));
  const std::vector<int16_t> big = {1, 8};
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { CrossbarCore(big, 1, 2, 4, 0, 255, ideal, p, rng); }),
                      "weight code 8 at [0, 1] is outside ±7"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { CrossbarCore(w6, 2, 3, 8, 5, 4, ideal, p, rng); }), "[5, 4]"));

  const CrossbarCore core(w6, 2, 3, 8, 0, 255, ideal, p, rng);
  const std::vector<int16_t> zeros(8, 0);
  InputCodes x = InputCodes::VectorMajor(zeros.data(), 4, 2);
  std::vector<int32_t> y(8);
  MvmContext ctx;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { core.Multiply(x, y.data(), 2, ctx); }), "x.K() = 4"));
  x = InputCodes::VectorMajor(zeros.data(), 3, 2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { core.Multiply(x, y.data(), 1, ctx); }), "ldy = 1"));
  const DeviceModel pcm = Device("pcm");
  const CrossbarCore noisy(w6, 2, 3, 8, 0, 255, pcm, p, rng);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { noisy.Multiply(x, y.data(), 2, ctx); }), "ctx.rng is null"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { noisy.MultiplyReference(x, y.data(), 2, ctx); }), "ctx.rng is null"));
}

// The validation errors a user meets: the device's (through DeviceModel) and the crossbar's, each
// naming the field, the value and what is allowed.
TEST(CrossbarCoreTest, ValidationErrorsNameFieldValueAndRange) {
  auto device_error = [](auto edit) {
    DeviceParams d = DevicePreset("pcm");
    edit(d);
    return InputErrorOf([&] { DeviceModel(d, "xbar.json: device"); });
  };
  EXPECT_TRUE(HasPart(device_error([](DeviceParams& d) { d.g_min = 30; }), "xbar.json: device.g_min: 30"));
  EXPECT_TRUE(HasPart(device_error([](DeviceParams& d) {
                        d.read.kind = ReadNoiseKind::kConstant;
                        d.read.sigma = -1;
                      }),
                      "device.read_noise.sigma: -1"));
  EXPECT_TRUE(HasPart(device_error([](DeviceParams& d) { d.stuck_at_min = 1.5; }), "device.stuck_at_min: 1.5"));

  const DeviceModel ideal = Device("ideal");
  const std::vector<int16_t> w(4 * 6, 3);
  auto crossbar_error = [&](auto edit, int32_t x_min = 0, int32_t x_max = 255) {
    CrossbarParams p;
    edit(p);
    Rng rng(1);
    return InputErrorOf([&] { CrossbarCore(w, 4, 6, 8, x_min, x_max, ideal, p, rng, "xbar.json: crossbar"); });
  };
  EXPECT_EQ(crossbar_error([](CrossbarParams& p) { p.rows_max = 0; }),
            "xbar.json: crossbar.rows_max: 0 is out of range; allowed 1..65536");
  EXPECT_EQ(crossbar_error([](CrossbarParams& p) { p.adc.bits = 40; }),
            "xbar.json: crossbar.adc.bits: 40 is out of range; allowed 1..24");
  EXPECT_TRUE(HasPart(crossbar_error([](CrossbarParams& p) { p.slice_bits = 8; }),
                      "crossbar.slice_bits: 8 is larger than the 7 magnitude bits of 8-bit weights with the "
                      "differential mapping; allowed 0..7"));
  EXPECT_TRUE(HasPart(crossbar_error([](CrossbarParams& p) {
                        p.input.mode = InputMode::kDac;
                        p.input.dac_bits = 6;
                      }),
                      "crossbar.input.dac_bits: 6 bits cannot express input codes in [0, 255] (8 magnitude bits"));
  EXPECT_TRUE(HasPart(crossbar_error([](CrossbarParams& p) {
                        p.input.mode = InputMode::kDac;
                        p.input.dac_bits = 6;
                      }, -127, 127),
                      "[-127, 127] (7 magnitude bits per pass); allowed 7..16"));
}

}  // namespace
}  // namespace cimsim

namespace cimsim {
namespace {

// The same vectors as a vector-major view, a row-major view (im2col's layout) and row-major with a
// wider row stride give the same y and the same reads, on the fast path and the reference alike.
TEST(CrossbarCoreTest, AnyInputLayoutGivesTheSameReadsAndResults) {
  Case c{CrossbarMapping::kDifferential, 2, true, InputMode::kBitSerial, 2, true};
  Layer layer(c, 17, 150);
  const DeviceModel pcm = Device("pcm");
  const CrossbarCore core = layer.Core(pcm, 4);
  const int64_t K = layer.K, n = layer.n, ld = n + 5;
  std::vector<int16_t> rows(static_cast<size_t>(K * ld), 77);   // padding columns hold junk
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < n; ++j) rows[static_cast<size_t>(k * ld + j)] = layer.cols[static_cast<size_t>(j * K + k)];
  const InputCodes views[] = {Inputs(layer.cols, K, n), InputCodes::RowMajor(rows.data(), K, n, ld)};
  std::vector<int32_t> first;
  std::vector<MvmRead> first_reads;
  for (const InputCodes& x : views) {
    for (bool reference : {false, true}) {
      std::vector<int32_t> y(static_cast<size_t>(layer.N * n));
      Rng rng(8);
      TraceRecorder reads;
      MvmContext ctx{&rng, &reads};
      if (reference) {
        core.MultiplyReference(x, y.data(), n, ctx);
      } else {
        core.Multiply(x, y.data(), n, ctx);
      }
      if (first.empty()) {
        first = y;
        first_reads = reads.reads;
        continue;
      }
      EXPECT_EQ(y, first);
      EXPECT_EQ(reads.reads, first_reads);
    }
  }
  const IdealCore ideal(layer.w, layer.N, K, layer.weight_bits, layer.x_min, layer.x_max);
  std::vector<int32_t> a(static_cast<size_t>(layer.N * n)), b(a.size());
  MvmContext none;
  ideal.Multiply(views[0], a.data(), n, none);
  ideal.Multiply(views[1], b.data(), n, none);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace cimsim
