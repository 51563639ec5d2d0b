// crossbar_readout.h — the readout of a crossbar core's columns: ADC, analog periphery, digital corrections.
//
// Part of CrossbarCore (sim/crossbar_core.h, the overview); exactly what calibration sets
// (sim/column_readout.h). One entry per readout column (tile_row, s, o), at
// CrossbarLayout::PeripheryIndex(tile_row, s, o); how a read uses them: sim/read_column.h.
//
// ADC. B = adc.bits, codes in [−2^(B−1), 2^(B−1) − 1]. lsb per (tile_row, s, o): adc.range max: with the
// nominal full scale R = rows_in_tile·X_max·d_max(s) (CrossbarLayout::NominalFullScale, at least 1),
// lsb = the smallest power of two with R <= lsb·max(2^(B−1) − 1, 1), so an integer v within R comes back
// exactly whenever lsb <= 1 (the range recorded is R); fixed: lsb = fixed_range / 2^(B−1); calibrated:
// lsb = range / 2^(B−1) with the ranges of WithSettings (before that, range R).
//
// Analog periphery (a, b) per column, params.periphery: a = max(0, 1 + gain_sigma·z_a),
// b = offset_sigma·R·z_b, drawn at construction unless the periphery is ideal (a = 1, b = 0), per
// (tile_row, s, o) in PeripheryIndex order: z_a (if gain_sigma > 0), then z_b (if offset_sigma > 0),
// rng.Normal() each. CrossbarCore draws them right after programming, from the same rng.
//
// Digital correction (gain, offset) per column: corrected = fma(gain, code·lsb, offset); defaults 1, 0.
//
// Immutable: WithSettings returns a new readout with the same analog periphery (no new draws), new
// corrections and, for adc.range "calibrated", new ranges.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/rng.h"
#include "sim/column_readout.h"
#include "sim/crossbar_layout.h"
#include "sim/crossbar_params.h"
#include "sim/read_column.h"

namespace cimsim {

class CrossbarReadout {
 public:
  // The ADC of `adc` and the identity corrections on layout's readout columns; the analog periphery
  // drawn from `rng` (see above).
  CrossbarReadout(const CrossbarLayout& layout, const AdcParams& adc, const PeripheryParams& periphery, Rng& rng);

  int AdcBits() const { return adc_.bits; }
  double CodeMin() const { return code_min_; }   // −2^(B−1)
  double CodeMax() const { return code_max_; }   // 2^(B−1) − 1
  bool RangesSettable() const { return adc_.range == AdcRange::kCalibrated; }
  std::string RangesFixedReason() const;          // empty when settable

  const std::vector<double>& ranges() const { return range_; }   // full scale, integer units
  const std::vector<double>& lsb() const { return lsb_; }
  const std::vector<ColumnCorrection>& corrections() const { return corrections_; }
  const std::vector<ColumnCorrection>& analog() const { return analog_; }   // (a, b) as (gain, offset)
  // Everything a read of column `index` (PeripheryIndex) applies.
  ColumnPeriphery Column(int64_t index) const {
    const size_t i = static_cast<size_t>(index);
    return {analog_[i].gain, analog_[i].offset, lsb_[i], corrections_[i].gain, corrections_[i].offset};
  }

  // The calibrated twin. settings.corrections: one per column, finite (std::invalid_argument otherwise);
  // settings.adc_ranges: empty (keep the ADC) or, for adc.range calibrated only (std::logic_error
  // otherwise), one per column, each finite and > 0 (std::invalid_argument otherwise). Messages start
  // with `where`.
  CrossbarReadout WithSettings(const ReadoutSettings& settings, const std::string& where) const;

 private:
  void SetCorrections(std::span<const ColumnCorrection> corrections, const std::string& where);
  void SetAdcRanges(std::span<const double> ranges, const std::string& where);

  AdcParams adc_;
  double code_min_, code_max_;
  std::vector<double> range_, lsb_;
  std::vector<ColumnCorrection> corrections_;
  std::vector<ColumnCorrection> analog_;
};

}  // namespace cimsim
