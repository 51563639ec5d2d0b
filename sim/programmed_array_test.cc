// The parts of CrossbarCore on their own: ProgrammedArray::Cells() rebuilds exactly the cells the fast
// path's tile matrices came from (ΔG = g+ − g−, S2 = σ+² + σ−², offset mapping against the reference
// column) without touching the caller's rng again; AtReadTime shares the programmed cells and equals an
// array programmed with that read time; ReadColumn by hand (rounding half away, clamping,
// periphery before the ADC, correction after); CrossbarReadout::WithSettings keeps the analog periphery.
#include "sim/programmed_array.h"

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "common/rng.h"
#include "devices/device_presets.h"
#include "sim/crossbar_layout.h"
#include "sim/crossbar_readout.h"
#include "sim/read_column.h"

namespace cimsim {
namespace {

std::vector<int16_t> Codes(int64_t count, int w_max) {
  std::vector<int16_t> w(static_cast<size_t>(count));
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int16_t>(static_cast<int>(i * 7 % (2 * w_max + 1)) - w_max);
  return w;
}

TEST(ProgrammedArrayTest, CellsRebuildTheTilesMatricesOnBothMappings) {
  for (CrossbarMapping mapping : {CrossbarMapping::kDifferential, CrossbarMapping::kOffset}) {
    CrossbarParams p;
    p.rows_max = 16;
    p.cols_max = 12;
    p.mapping = mapping;
    p.slice_bits = 2;
    p.input.mode = InputMode::kDac;   // 8-bit DAC inputs with read noise: the double GEMM path keeps ΔG | S2
    const int64_t N = 5, K = 37;
    const CrossbarLayout layout(N, K, 6, 0, 255, p);
    const std::vector<int16_t> w = Codes(N * K, 31);
    const DeviceModel pcm(DevicePreset("pcm"));
    Rng rng(4), twin(4);
    const ProgrammedArray array(layout, w, pcm, p.read_time, true, rng, "test");
    ASSERT_TRUE(array.HasReadNoise());
    ASSERT_FALSE(array.UsesIntegerGemm());

    const ReferenceCells cells = array.Cells();
    ASSERT_EQ(cells.g.size(), static_cast<size_t>(layout.Tiles()));
    ASSERT_EQ(cells.var.size(), static_cast<size_t>(layout.Tiles()));
    for (size_t i = 0; i < array.tiles().size(); ++i) {
      const ArrayTile& tile = array.tiles()[i];
      const int64_t outs = tile.span.outs, m = layout.WeightSlices() * outs;
      ASSERT_EQ(cells.g[i].rows(), tile.span.rows);
      ASSERT_EQ(cells.g[i].cols(), layout.PhysicalColumns(outs));
      for (int s = 0; s < layout.WeightSlices(); ++s) {
        for (int64_t c = 0; c < outs; ++c) {
          const int64_t plus = layout.PlusColumn(s, c, outs), minus = layout.MinusColumn(s, c, outs);
          for (int64_t k = 0; k < tile.span.rows; ++k) {
            EXPECT_EQ(tile.gs(k, s * outs + c), cells.g[i](k, plus) - cells.g[i](k, minus));
            EXPECT_EQ(tile.gs(k, m + s * outs + c), cells.var[i](k, plus) + cells.var[i](k, minus));
          }
        }
      }
    }
    // Cells() ages the kept programmed cells again: a second call is the same, and the caller's rng
    // moved on by exactly one programming.
    const ReferenceCells again = array.Cells();
    for (size_t i = 0; i < cells.g.size(); ++i) {
      EXPECT_TRUE((again.g[i] == cells.g[i]).all());
      EXPECT_TRUE((again.var[i] == cells.var[i]).all());
    }
    const ProgrammedArray replica(layout, w, pcm, p.read_time, true, twin, "test");
    EXPECT_EQ(rng.NextU64(), twin.NextU64());
  }
}

// devices_per_cell = n: each cell is the sum of n devices programmed, drifted and read on their own.
// By hand: the kept devices (n per tile, device-minor), every cell's g and σ² against Σ_j of its
// devices aged and read at read_time (then on the grids), Δg and g_0 n times a one-device array's,
// and device 0 of tile 0 drawn first from the stream, as a one-device array draws it.
TEST(ProgrammedArrayTest, DevicesPerCellSumsIndependentlyProgrammedDevices) {
  CrossbarParams p;
  p.rows_max = 16;
  p.cols_max = 12;
  p.slice_bits = 2;
  p.input.mode = InputMode::kDac;
  const int64_t N = 5, K = 37;
  const std::vector<int16_t> w = Codes(N * K, 31);
  const DeviceModel pcm(DevicePreset("pcm"));
  const double t = 3600;
  const CrossbarLayout one_layout(N, K, 6, 0, 255, p);
  Rng one_rng(4);
  const ProgrammedArray one(one_layout, w, pcm, t, true, one_rng, "test");
  p.devices_per_cell = 3;
  const CrossbarLayout layout(N, K, 6, 0, 255, p);
  Rng rng(4);
  const ProgrammedArray array(layout, w, pcm, t, true, rng, "test");

  EXPECT_EQ(array.DeltaG(0), 3 * one.DeltaG(0));
  EXPECT_EQ(array.GMin(), 3 * one.GMin());
  const ProgrammedCells& devices = array.programmed();
  ASSERT_EQ(devices.g.size(), static_cast<size_t>(3 * layout.Tiles()));
  EXPECT_TRUE((devices.g[0] == one.programmed().g[0]).all());
  EXPECT_TRUE((devices.nu[0] == one.programmed().nu[0]).all());
  EXPECT_FALSE((devices.g[1] == devices.g[0]).all());   // the devices of a cell are drawn apart

  const int e = array.ConductanceGridExponent(), e_v = array.VarianceGridExponent();
  const auto on_grid = [](double v, int exponent) { return std::ldexp(std::round(std::ldexp(v, exponent)), -exponent); };
  const ReferenceCells cells = array.Cells();
  ASSERT_EQ(cells.g.size(), static_cast<size_t>(layout.Tiles()));
  for (size_t i = 0; i < cells.g.size(); ++i) {
    for (int64_t col = 0; col < cells.g[i].cols(); ++col) {
      for (int64_t k = 0; k < cells.g[i].rows(); ++k) {
        double g = 0, var = 0;
        for (size_t j = 0; j < 3; ++j) {
          Eigen::ArrayXXf one_device(1, 1), nu(1, 1);
          one_device(0, 0) = devices.g[3 * i + j](k, col);
          nu(0, 0) = devices.nu[3 * i + j](k, col);
          pcm.Age(one_device, nu, t);
          g += one_device(0, 0);
          const double sigma = pcm.ReadSigma(one_device(0, 0), t);
          var += sigma * sigma;
        }
        ASSERT_EQ(cells.g[i](k, col), on_grid(g, e)) << "tile " << i << " cell " << k << ", " << col;
        ASSERT_EQ(cells.var[i](k, col), on_grid(var, e_v)) << "tile " << i << " cell " << k << ", " << col;
      }
    }
  }
}

// full_range_slices: 8-bit weights (magnitude 7 bits) in 4-bit cells keep digits 0..15 on slice 0 and
// 0..7 on slice 1. By hand on the ideal device (g 0..25 µS, grid 2^−16): slice 0 steps ⌊25/15·2^16⌋·2^−16
// either way, slice 1 ⌊25/7·2^16⌋·2^−16 with full-range slices (⌊25/15⌋ without), and every cell holds
// g_0 + |d|·Δg(s) on the side of its sign, 0 on the other.
TEST(ProgrammedArrayTest, FullRangeSlicesStepEachSliceOverTheWholeRange) {
  CrossbarParams p;
  p.slice_bits = 4;
  const int64_t N = 3, K = 20;
  const std::vector<int16_t> w = Codes(N * K, 127);
  const DeviceModel ideal(DevicePreset("ideal"));
  const auto step = [](double levels) { return std::floor(25.0 / levels * 65536) / 65536; };
  for (const bool full : {false, true}) {
    p.full_range_slices = full;
    const CrossbarLayout layout(N, K, 8, 0, 255, p);
    ASSERT_EQ(layout.WeightSlices(), 2);
    EXPECT_EQ(layout.DigitLevels(0), 15);
    EXPECT_EQ(layout.DigitLevels(1), full ? 7 : 15);
    Rng rng(1);
    const ProgrammedArray array(layout, w, ideal, 0, false, rng, "test");
    EXPECT_EQ(array.DeltaG(0), step(15));
    EXPECT_EQ(array.DeltaG(1), full ? step(7) : step(15));
    const ReferenceCells cells = array.Cells();
    for (int s = 0; s < 2; ++s) {
      for (int64_t c = 0; c < N; ++c) {
        for (int64_t k = 0; k < K; ++k) {
          const int64_t d = layout.Digit(w[static_cast<size_t>(c * K + k)], s);
          const double plus = cells.g[0](k, layout.PlusColumn(s, c, N)), minus = cells.g[0](k, layout.MinusColumn(s, c, N));
          ASSERT_EQ(d >= 0 ? plus : minus, static_cast<double>(std::abs(d)) * array.DeltaG(s)) << s << " " << c << " " << k;
          ASSERT_EQ(d >= 0 ? minus : plus, 0.0);
        }
      }
    }
  }
}

// The point of several devices per cell: independent programming errors average. A device with a
// constant programming σ = 1 µS on [10, 90] µS (no drift, no read noise): a cell of n devices reads
// Σ_j (target + σ·z_j), so its error per device, (g_cell − n·target)/n, has variance σ²/n. Measured
// on the cells whose target is at least 4 σ inside the range (no clipping) for n = 1 and n = 4.
// Statistical bound: with M cells the sample variance has relative standard deviation √(2/M); the
// test allows 6 of those.
TEST(ProgrammedArrayTest, DevicesPerCellAverageProgrammingNoise) {
  DeviceParams dp;
  dp.g_min = 10;
  dp.g_max = 90;
  dp.programming.kind = ProgrammingNoiseKind::kConstant;
  dp.programming.sigma = 1.0;
  const DeviceModel device(dp);
  const int64_t N = 40, K = 128;
  Rng wrng(11);
  std::vector<int16_t> w(static_cast<size_t>(N * K));
  for (int16_t& v : w) v = static_cast<int16_t>(static_cast<int>(wrng.NextU64() % 255) - 127);
  for (int n : {1, 4}) {
    SCOPED_TRACE(n);
    CrossbarParams p;
    p.slice_bits = 4;
    p.devices_per_cell = n;
    p.cols_max = 256;
    const CrossbarLayout layout(N, K, 8, 0, 255, p);
    Rng rng(5);
    const ProgrammedArray array(layout, w, device, 0, false, rng, "test");
    const double dg = array.DeltaG(0) / n, g0 = array.GMin() / n;   // one device's
    const ReferenceCells cells = array.Cells();
    double sum = 0, sum2 = 0;
    int64_t m = 0;
    for (int64_t tc = 0; tc < layout.TileCols(); ++tc) {
      const TileSpan sp = layout.Tile(0, tc);
      const Eigen::ArrayXXd& g = cells.g[static_cast<size_t>(tc)];
      for (int s = 0; s < layout.WeightSlices(); ++s)
        for (int64_t c = 0; c < sp.outs; ++c)
          for (int64_t k = 0; k < sp.rows; ++k) {
            const int64_t d = layout.Digit(w[static_cast<size_t>((sp.out0 + c) * K + k)], s);
            const double target = g0 + static_cast<double>(d) * dg;
            if (d <= 0 || target < dp.g_min + 4 || target > dp.g_max - 4) continue;
            const double err = (g(k, layout.PlusColumn(s, c, sp.outs)) - n * target) / n;
            sum += err;
            sum2 += err * err;
            ++m;
          }
    }
    ASSERT_GT(m, 2000);
    const double mean = sum / static_cast<double>(m);
    const double var = sum2 / static_cast<double>(m) - mean * mean;
    const double expected = 1.0 / n;   // σ²/n, µS²
    EXPECT_NEAR(var / expected, 1.0, 6 * std::sqrt(2.0 / static_cast<double>(m))) << m << " cells";
    EXPECT_NEAR(mean, 0.0, 6 * std::sqrt(expected / static_cast<double>(m)));
  }
}

// AtReadTime: the programmed cells (g as programmed, ν) are shared, not drawn again, and the twin's
// cells and tile matrices are those of an array programmed from the same stream with that read time.
TEST(ProgrammedArrayTest, AtReadTimeSharesTheProgrammedCellsAndEqualsAFreshArray) {
  CrossbarParams p;
  p.rows_max = 16;
  p.cols_max = 12;
  p.slice_bits = 2;
  p.input.mode = InputMode::kDac;   // the double GEMM path keeps ΔG | S2 to compare
  const int64_t N = 5, K = 37;
  const CrossbarLayout layout(N, K, 6, 0, 255, p);
  const std::vector<int16_t> w = Codes(N * K, 31);
  const DeviceModel pcm(DevicePreset("pcm"));
  Rng rng(4);
  const ProgrammedArray array(layout, w, pcm, 1.0, true, rng, "test");
  const ProgrammedCells& programmed = array.programmed();
  ASSERT_EQ(programmed.g.size(), static_cast<size_t>(layout.Tiles()));
  ASSERT_EQ(programmed.nu.size(), programmed.g.size());
  EXPECT_GT(programmed.nu[0].maxCoeff(), 0.0f);   // pcm drifts
  for (double t : {0.0, 60.0, 3.1536e8}) {
    SCOPED_TRACE(t);
    const std::shared_ptr<const ProgrammedArray> twin = array.AtReadTime(t);
    EXPECT_EQ(&twin->programmed(), &programmed);   // shared, not copied or redrawn
    EXPECT_EQ(twin->ReadTime(), t);
    Rng fresh_rng(4);
    const ProgrammedArray fresh(layout, w, pcm, t, true, fresh_rng, "test");
    EXPECT_EQ(twin->ConductanceGridExponent(), fresh.ConductanceGridExponent());
    EXPECT_EQ(twin->VarianceGridExponent(), fresh.VarianceGridExponent());
    ASSERT_EQ(twin->tiles().size(), fresh.tiles().size());
    for (size_t i = 0; i < fresh.tiles().size(); ++i) {
      EXPECT_TRUE((twin->tiles()[i].gs.array() == fresh.tiles()[i].gs.array()).all());
      EXPECT_TRUE((twin->tiles()[i].digits.array() == fresh.tiles()[i].digits.array()).all());
    }
    const ReferenceCells a = twin->Cells(), b = fresh.Cells();
    for (size_t i = 0; i < b.g.size(); ++i) {
      EXPECT_TRUE((a.g[i] == b.g[i]).all());
      EXPECT_TRUE((a.var[i] == b.var[i]).all());
    }
  }
  // A year of drift lowers the programmed conductances (ν > 0, g_min = 0 so nothing rises).
  const ReferenceCells early = array.Cells(), late = array.AtReadTime(3.1536e7)->Cells();
  EXPECT_LT(late.g[0].sum(), 0.9 * early.g[0].sum());
  EXPECT_THROW(array.AtReadTime(-1), std::invalid_argument);
  EXPECT_THROW(array.AtReadTime(std::nan("")), std::invalid_argument);
}

TEST(ReadColumnTest, PeripheryBeforeTheAdcCorrectionAfterByHand) {
  // v = 10 / 2 = 5; v' = 1.5·5 − 0.25 = 7.25; 7.25 / 2 = 3.625 → code 4; corrected = 0.5·8 + 1 = 5.
  const ColumnPeriphery col{1.5, -0.25, 2.0, 0.5, 1.0};
  ColumnRead r = ReadColumn(10.0, 0.0, 0.0, false, 2.0, col, -8, 7);
  EXPECT_EQ(r.analog, 7.25);
  EXPECT_EQ(r.code, 4.0);
  EXPECT_EQ(r.corrected, 5.0);
  // With noise: v = fma(2, 1.5, 10) / 2 = 6.5; v' = 9.5; 9.5 / 2 = 4.75 → 5.
  r = ReadColumn(10.0, 2.0, 1.5, true, 2.0, col, -8, 7);
  EXPECT_EQ(r.analog, 9.5);
  EXPECT_EQ(r.code, 5.0);
  // Half away from zero, then the clamp.
  EXPECT_EQ(ReadColumn(-5.0, 0, 0, false, 1.0, ColumnPeriphery{1, 0, 2.0, 1, 0}, -8, 7).code, -3.0);
  EXPECT_EQ(ReadColumn(5.0, 0, 0, false, 1.0, ColumnPeriphery{1, 0, 2.0, 1, 0}, -8, 7).code, 3.0);
  EXPECT_EQ(ReadColumn(100.0, 0, 0, false, 1.0, ColumnPeriphery{}, -8, 7).code, 7.0);
  EXPECT_EQ(ReadColumn(-100.0, 0, 0, false, 1.0, ColumnPeriphery{}, -8, 7).code, -8.0);
  EXPECT_EQ(RoundSaturate(3e10), 2147483647);
  EXPECT_EQ(RoundSaturate(-2.5), -3);
}

TEST(CrossbarReadoutTest, WithSettingsKeepsThePeripheryAndSetsCorrectionsAndRanges) {
  CrossbarParams p;
  p.adc.range = AdcRange::kCalibrated;
  p.periphery.gain_sigma = 0.1;
  p.periphery.offset_sigma = 0.01;
  const CrossbarLayout layout(3, 4, 8, 0, 255, p);
  Rng rng(9);
  const CrossbarReadout readout(layout, p.adc, p.periphery, rng);
  const size_t columns = static_cast<size_t>(layout.ReadoutColumns());
  ReadoutSettings settings;
  settings.corrections.assign(columns, ColumnCorrection{2, 3});
  settings.adc_ranges.assign(columns, 64.0);
  const CrossbarReadout twin = readout.WithSettings(settings, "test");
  EXPECT_EQ(twin.analog(), readout.analog());
  EXPECT_EQ(twin.corrections(), settings.corrections);
  EXPECT_EQ(twin.lsb(), std::vector<double>(columns, 64.0 / 128));
  EXPECT_EQ(readout.corrections(), std::vector<ColumnCorrection>(columns));   // the original is unchanged
  const ColumnPeriphery col = twin.Column(1);
  EXPECT_EQ(col.a, readout.analog()[1].gain);
  EXPECT_EQ(col.b, readout.analog()[1].offset);
  EXPECT_EQ(col.gain, 2);
  EXPECT_EQ(col.offset, 3);
  EXPECT_EQ(col.lsb, 0.5);
}

}  // namespace
}  // namespace cimsim
