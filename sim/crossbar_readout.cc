// CrossbarReadout: ADC ranges, the analog periphery draws, corrections (sim/crossbar_readout.h).
#include "sim/crossbar_readout.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace cimsim {

CrossbarReadout::CrossbarReadout(const CrossbarLayout& layout, const AdcParams& adc, const PeripheryParams& periphery,
                                 Rng& rng)
    : adc_(adc), code_min_(-std::ldexp(1.0, adc.bits - 1)), code_max_(std::ldexp(1.0, adc.bits - 1) - 1) {
  const size_t count = static_cast<size_t>(layout.ReadoutColumns());
  range_.assign(count, 0.0);
  lsb_.assign(count, 0.0);
  corrections_.assign(count, ColumnCorrection{});
  analog_.assign(count, ColumnCorrection{});

  // The ADC.
  const double half = std::ldexp(1.0, adc.bits - 1);
  const double positive_codes = std::max(half - 1, 1.0);
  for (int64_t tr = 0; tr < layout.TileRows(); ++tr) {
    for (int s = 0; s < layout.WeightSlices(); ++s) {
      const double full_scale = layout.NominalFullScale(tr, s);
      double range = full_scale, lsb = full_scale / half;
      if (adc.range == AdcRange::kMax) {
        int k = std::ilogb(full_scale / positive_codes);
        while (std::ldexp(positive_codes, k) < full_scale) ++k;
        while (std::ldexp(positive_codes, k - 1) >= full_scale) --k;
        lsb = std::ldexp(1.0, k);
      } else if (adc.range == AdcRange::kFixed) {
        range = adc.fixed_range;
        lsb = range / half;
      }
      for (int64_t o = 0; o < layout.N(); ++o) {
        const size_t i = static_cast<size_t>(layout.PeripheryIndex(tr, s, o));
        range_[i] = range;
        lsb_[i] = lsb;
      }
    }
  }

  // The analog periphery.
  if (periphery.Ideal()) return;
  for (int64_t tr = 0; tr < layout.TileRows(); ++tr) {
    for (int s = 0; s < layout.WeightSlices(); ++s) {
      const double offset_scale = periphery.offset_sigma * layout.NominalFullScale(tr, s);
      for (int64_t o = 0; o < layout.N(); ++o) {
        ColumnCorrection& a = analog_[static_cast<size_t>(layout.PeripheryIndex(tr, s, o))];
        if (periphery.gain_sigma > 0) a.gain = std::max(0.0, 1.0 + periphery.gain_sigma * rng.Normal());
        if (periphery.offset_sigma > 0) a.offset = offset_scale * rng.Normal();
      }
    }
  }
}

std::string CrossbarReadout::RangesFixedReason() const {
  if (adc_.range == AdcRange::kCalibrated) return "";
  return "the ADC range is \"" + std::string(ToString(adc_.range)) +
         "\"; per-column ranges need adc.range = \"calibrated\"";
}

CrossbarReadout CrossbarReadout::WithSettings(const ReadoutSettings& settings, const std::string& where) const {
  CrossbarReadout twin(*this);
  if (!settings.adc_ranges.empty()) twin.SetAdcRanges(settings.adc_ranges, where);
  twin.SetCorrections(settings.corrections, where);
  return twin;
}

void CrossbarReadout::SetCorrections(std::span<const ColumnCorrection> corrections, const std::string& where) {
  const std::string fn = where + (where.empty() ? "" : ": ") + "CrossbarCore::SetCorrections: ";
  if (corrections.size() != corrections_.size()) {
    throw std::invalid_argument(fn + std::to_string(corrections.size()) +
                                " corrections; the core has TileRows()·S·N = " + std::to_string(corrections_.size()));
  }
  for (size_t i = 0; i < corrections.size(); ++i) {
    if (!std::isfinite(corrections[i].gain) || !std::isfinite(corrections[i].offset)) {
      throw std::invalid_argument(fn + "correction " + std::to_string(i) + " is not finite (gain " +
                                  std::to_string(corrections[i].gain) + ", offset " +
                                  std::to_string(corrections[i].offset) + ")");
    }
  }
  corrections_.assign(corrections.begin(), corrections.end());
}

void CrossbarReadout::SetAdcRanges(std::span<const double> ranges, const std::string& where) {
  const std::string fn = where + (where.empty() ? "" : ": ") + "CrossbarCore::SetAdcRanges: ";
  if (adc_.range != AdcRange::kCalibrated) throw std::logic_error(fn + RangesFixedReason());
  if (ranges.size() != range_.size()) {
    throw std::invalid_argument(fn + std::to_string(ranges.size()) + " ranges; the core has TileRows()·S·N = " +
                                std::to_string(range_.size()));
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!(ranges[i] > 0) || !std::isfinite(ranges[i])) {
      throw std::invalid_argument(fn + "range " + std::to_string(i) + " = " + std::to_string(ranges[i]) +
                                  "; must be finite and > 0");
    }
  }
  const double half = std::ldexp(1.0, adc_.bits - 1);
  for (size_t i = 0; i < ranges.size(); ++i) {
    range_[i] = ranges[i];
    lsb_[i] = ranges[i] / half;
  }
}

}  // namespace cimsim
