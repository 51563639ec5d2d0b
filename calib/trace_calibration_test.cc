// Calibration from recorded column reads (trace_calibration.h): the fit recovers a known periphery,
// calibrated ADC steps are reproduced, the even/odd split and the instance filter by hand, reading a
// trace group from HDF5, and every way traces can disagree with the chip is an InputError.
#include "calib/trace_calibration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"
#include "common/h5_file.h"
#include "devices/device_presets.h"
#include "sim/crossbar_core.h"
#include "sim/trace_sink.h"

namespace cimsim {
namespace {

using testing::InputErrorOf;
using testing::ScopedTempDir;

constexpr int64_t kN = 12, kK = 150, kVectors = 40;

std::vector<int16_t> Weights() {
  Rng rng(5);
  std::vector<int16_t> w(static_cast<size_t>(kN * kK));
  for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(255)) - 127);
  return w;
}

CrossbarParams Params(AdcRange range, int bits) {
  CrossbarParams p;
  p.rows_max = 128;
  p.cols_max = 128;
  p.slice_bits = 4;
  p.adc.bits = bits;
  p.adc.range = range;
  p.periphery = {0.05, 0.01};
  return p;
}

CrossbarCore Chip(const CrossbarParams& params, uint64_t seed = 3) {
  Rng rng(seed);
  return CrossbarCore(Weights(), kN, kK, 8, 0, 255, DeviceModel(DevicePreset("ideal")), params, rng);
}

// Every read of kVectors random input vectors, as trace rows 0..kVectors−1.
TraceReads Record(const CrossbarCore& core) {
  Rng rng(9);
  std::vector<int16_t> plain(static_cast<size_t>(kK * kVectors));
  for (auto& v : plain) v = static_cast<int16_t>(rng.Below(256));
  const InputCodes x = InputCodes::VectorMajor(plain.data(), kK, kVectors);
  TraceRecorder sink;
  MvmContext ctx{nullptr, &sink};
  std::vector<int32_t> y(static_cast<size_t>(kN * kVectors));
  core.Multiply(x, y.data(), kVectors, ctx);
  TraceReads t;
  t.layer = "layer";
  t.K = kK;
  t.N = kN;
  t.tile_rows = core.TileRows();
  t.weight_slices = core.WeightSlices();
  for (const MvmRead& r : sink.reads) {
    t.row.push_back(r.vector);
    t.tile_row.push_back(r.tile_row);
    t.weight_slice.push_back(r.weight_slice);
    t.output.push_back(r.output);
    t.ideal.push_back(static_cast<double>(r.ideal));
    t.code.push_back(r.code);
    t.lsb.push_back(r.lsb);
  }
  return t;
}

TEST(TraceCalibrationTest, RecoversTheColumnPeripheryFromReads) {
  // Ideal cells, a 16-bit ADC at the max range (lsb <= 1: codes are v' = a·v + b rounded): the fit
  // must invert each column's gain and offset, gain ≈ 1/a and offset ≈ −b/a.
  const CrossbarParams params = Params(AdcRange::kMax, 16);
  const CrossbarCore traced = Chip(params);
  const TraceReads reads = Record(traced);
  CrossbarCore chip = Chip(params);
  const LayerCalibration cal = CalibrateFromReads(reads, chip, ChipCalibrationParams{}, "cal.json");
  ASSERT_EQ(cal.corrections.size(), traced.analog_periphery().size());
  ASSERT_LE(traced.adc_lsb()[0], 1.0);
  for (size_t c = 0; c < cal.corrections.size(); ++c) {
    const ColumnCorrection& a = traced.analog_periphery()[c];
    EXPECT_NEAR(cal.corrections[c].gain * a.gain, 1.0, 1e-3) << "column " << c;
    EXPECT_NEAR(cal.corrections[c].offset, -a.offset / a.gain, 0.01 * traced.NominalFullScale(0, 0) * 0.05)
        << "column " << c;
  }
  EXPECT_EQ(cal.fit_reads, static_cast<int64_t>(reads.ideal.size()) / 2);   // even rows of 40
  EXPECT_GT(cal.relative_before, 0.01);
  EXPECT_LT(cal.relative_after, cal.relative_before / 20);
  EXPECT_EQ(ApplyCalibration(cal, chip, "cal.json")->Readout()->Corrections().size(), cal.corrections.size());
  const std::unique_ptr<CrossbarCore> calibrated = chip.Calibrated({cal.corrections, cal.adc_ranges});
  EXPECT_EQ(calibrated->corrections(), cal.corrections);   // set in the calibrated twin
  EXPECT_TRUE(cal.adc_ranges.empty());
}

TEST(TraceCalibrationTest, CalibratedRangesReproduceTheRecordedSteps) {
  CrossbarParams params = Params(AdcRange::kCalibrated, 8);
  const CrossbarCore programmed = Chip(params);
  std::vector<double> ranges(programmed.adc_ranges().size());
  for (size_t c = 0; c < ranges.size(); ++c) ranges[c] = 1000.0 + 37.0 * static_cast<double>(c);
  const std::unique_ptr<CrossbarCore> traced = programmed.Calibrated({programmed.corrections(), ranges});
  const TraceReads reads = Record(*traced);
  CrossbarCore chip = Chip(params);
  const LayerCalibration cal = CalibrateFromReads(reads, chip, ChipCalibrationParams{}, "cal.json");
  EXPECT_EQ(cal.adc_ranges, ranges);   // lsb·2^7 = range, exactly (powers of two)
  EXPECT_EQ(chip.Calibrated({cal.corrections, cal.adc_ranges})->adc_lsb(), traced->adc_lsb());
}

TEST(TraceCalibrationTest, GlobalModeFitsOneGainThroughTheOriginOnEvenRows) {
  const CrossbarParams params = Params(AdcRange::kMax, 16);
  TraceReads reads = Record(Chip(params));
  double im = 0, mm = 0;
  for (size_t i = 0; i < reads.ideal.size(); ++i) {
    if (reads.row[i] % 2 != 0) continue;
    const double m = static_cast<double>(reads.code[i]) * reads.lsb[i];
    im += reads.ideal[i] * m;
    mm += m * m;
  }
  ChipCalibrationParams p;
  p.mode = CorrectionMode::kGlobal;
  CrossbarCore chip = Chip(params);
  const LayerCalibration cal = CalibrateFromReads(reads, chip, p, "cal.json");
  for (const ColumnCorrection& c : cal.corrections) {
    EXPECT_EQ(c.gain, im / mm);
    EXPECT_EQ(c.offset, 0.0);
  }
}

TEST(TraceCalibrationTest, TracesThatDoNotFitTheChipAreInputErrors) {
  const CrossbarParams params = Params(AdcRange::kMax, 16);
  const TraceReads good = Record(Chip(params));
  CrossbarCore chip = Chip(params);
  const ChipCalibrationParams p;
  TraceReads t = good;
  t.N = kN + 1;
  EXPECT_NE(InputErrorOf([&] { CalibrateFromReads(t, chip, p, "cal.json"); }).find("N = 13"), std::string::npos);
  t = good;
  t.output[5] = kN;
  EXPECT_NE(InputErrorOf([&] { CalibrateFromReads(t, chip, p, "cal.json"); }).find("outside the chip's layer"),
            std::string::npos);
  t = good;
  t.lsb[7] = 0;
  EXPECT_NE(InputErrorOf([&] { CalibrateFromReads(t, chip, p, "cal.json"); }).find("must be finite and > 0"),
            std::string::npos);
  t = good;
  for (size_t i = 0; i < t.lsb.size(); ++i)
    if (t.tile_row[i] == t.tile_row[0] && t.weight_slice[i] == t.weight_slice[0] && t.output[i] == t.output[0] && i > 0) {
      t.lsb[i] *= 2;
      break;
    }
  EXPECT_NE(InputErrorOf([&] { CalibrateFromReads(t, chip, p, "cal.json"); }).find("disagree on lsb"), std::string::npos);
  // Traces from an 8-bit ADC on a chip configured with 16 bits at the max range.
  const TraceReads other = Record(Chip(Params(AdcRange::kMax, 8)));
  const std::string m = InputErrorOf([&] { CalibrateFromReads(other, chip, p, "cal.json"); });
  EXPECT_NE(m.find("another ADC setting"), std::string::npos) << m;
  EXPECT_EQ(m.rfind("cal.json: traces of layer", 0), 0u) << m;
}

TEST(TraceCalibrationTest, ReadsOneInstanceFromAResultsFile) {
  const ScopedTempDir dir("trace_calibration_test");
  const std::string path = (dir.path() / "results.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    const std::string g = "/points/0003/traces/conv1";
    f.CreateGroup(g);
    for (const char* a : {"K", "N", "tile_rows", "weight_slices"}) f.WriteIntAttribute(g, a, 2);
    const std::vector<int32_t> instance = {0, 1, 1, 1};   // rows 1, 2, 3 are instance 1's rows 0, 1, 2
    f.WriteInt32Array(g + "/vector_instance", {4}, instance.data());
    const std::vector<int32_t> vec = {0, 1, 2, 3, 3}, tr = {0, 1, 0, 1, 0}, ws = {1, 0, 1, 0, 0}, out = {0, 1, 1, 0, 1},
                               code = {5, -6, 7, 8, 9};
    const std::vector<int64_t> ideal = {10, 11, 12, 13, 14};
    const std::vector<double> lsb = {0.5, 0.5, 0.25, 0.5, 2.0};
    f.WriteInt32Array(g + "/read_vector", {5}, vec.data());
    f.WriteInt32Array(g + "/read_tile_row", {5}, tr.data());
    f.WriteInt32Array(g + "/read_weight_slice", {5}, ws.data());
    f.WriteInt32Array(g + "/read_output", {5}, out.data());
    f.WriteInt32Array(g + "/read_code", {5}, code.data());
    f.WriteInt64Array(g + "/read_ideal", {5}, ideal.data());
    f.WriteDoubleArray(g + "/read_lsb", {5}, lsb.data());
    f.Commit();
  }
  EXPECT_EQ(TracedLayers(path, 3), std::vector<std::string>{"conv1"});
  const TraceReads t = ReadTraceReads(path, 3, 1, "conv1");
  EXPECT_EQ(t.K, 2);
  EXPECT_EQ(t.row, (std::vector<int64_t>{0, 1, 2, 2}));
  EXPECT_EQ(t.output, (std::vector<int64_t>{1, 1, 0, 1}));
  EXPECT_EQ(t.code, (std::vector<int64_t>{-6, 7, 8, 9}));
  EXPECT_EQ(t.ideal, (std::vector<double>{11, 12, 13, 14}));
  EXPECT_EQ(t.lsb, (std::vector<double>{0.5, 0.25, 0.5, 2.0}));
  EXPECT_NE(InputErrorOf([&] { ReadTraceReads(path, 3, 2, "conv1"); }).find("no traced vectors of instance 2"),
            std::string::npos);
  EXPECT_NE(InputErrorOf([&] { ReadTraceReads(path, 3, 0, "linear"); }).find("no traces of layer 'linear'"),
            std::string::npos);
  EXPECT_NE(InputErrorOf([&] { TracedLayers(path, 4); }).find("no point group /points/0004"), std::string::npos);
}

}  // namespace
}  // namespace cimsim
