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
