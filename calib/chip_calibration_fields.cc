#include "calib/chip_calibration_fields.h"

#include "common/field_builders.h"

namespace cimsim {

std::vector<Field<ChipCalibrationParams>> ChipCalibrationFields() {
  using P = ChipCalibrationParams;
  Field<P> fit = IntField<P>("fit_vectors", [](auto& p) -> auto& { return p.fit_vectors; }, IntRange(1, 1000000),
                             "vectors", "input vectors per layer for the fits");
  Field<P> holdout = IntField<P>("holdout_vectors", [](auto& p) -> auto& { return p.holdout_vectors; },
                                 IntRange(1, 1000000), "vectors", "new input vectors per layer for the before/after check");
  Field<P> percentile = NumberField<P>("adc_percentile", [](auto& p) -> auto& { return p.adc_percentile; },
                                       WithText(Above(0), "(0, 100]"), "%",
                                       "calibrated ADC ranges: this percentile of each column's |analog values|");
  percentile.range.hi = 100;
  for (Field<P>* f : {&fit, &holdout}) f->overflow_names_range = true;
  return {
      fit,
      holdout,
      UnsignedField<P>("seed", [](auto& p) -> auto& { return p.seed; }, "input streams and read noise"),
      percentile,
      ChoiceField<P>("mode", [](auto& p) -> auto& { return p.mode; }, EnumNames<CorrectionMode>(2), "a correction mode",
                     "column: gain and offset per column; global: one gain per layer"),
  };
}

}  // namespace cimsim
