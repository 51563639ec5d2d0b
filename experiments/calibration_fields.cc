#include "experiments/calibration_fields.h"

#include "common/field_builders.h"

namespace cimsim {

std::vector<Field<CalibrationSettings>> CalibrationFields() {
  using S = CalibrationSettings;
  const std::string inputs = "inputs";
  Field<S> fit = IntField<S>("fit_vectors", [](auto& s) -> auto& { return s.params.fit_vectors; }, IntRange(1, 1000000),
                             "vectors", "input vectors per layer for the fits");
  Field<S> holdout = IntField<S>("holdout_vectors", [](auto& s) -> auto& { return s.params.holdout_vectors; },
                                 IntRange(1, 1000000), "vectors", "new input vectors per layer for the before/after check");
  Field<S> percentile = NumberField<S>("adc_percentile", [](auto& s) -> auto& { return s.params.adc_percentile; },
                                       WithText(Above(0), "(0, 100]"), "%",
                                       "calibrated ADC ranges: this percentile of each column's |analog values|");
  percentile.range.hi = 100;
  Field<S> data;
  data.key = "data";
  data.type = FieldType::kString;
  data.get = [](const S& s) { return FieldValue(s.data); };
  data.set = [](S& s, const FieldValue& v) { s.data = std::get<std::string>(v); };
  data.doc = "training data (a directory or one .bin file); \"\" = $CIMSIM_DATA";
  Field<S> images = IntField<S>("images", [](auto& s) -> auto& { return s.images; }, IntRange(10, 50000), "images",
                                "class-balanced seeded subset (a multiple of 10), half for the fits, half held out");
  Field<S> file;
  file.key = "traces.file";
  file.type = FieldType::kString;
  file.get = [](const S& s) { return FieldValue(s.trace_file); };
  file.set = [](S& s, const FieldValue& v) { s.trace_file = std::get<std::string>(v); };
  file.doc = "the results.h5 holding the traces (required)";
  for (Field<S>* f : {&fit, &holdout, &images}) f->overflow_names_range = true;
  return {
      fit,
      holdout,
      UnsignedField<S>("seed", [](auto& s) -> auto& { return s.params.seed; }, "input streams and read noise"),
      percentile,
      ChoiceField<S>("mode", [](auto& s) -> auto& { return s.params.mode; }, EnumNames<CorrectionMode>(2),
                     "a correction mode", "column: gain and offset per column; global: one gain per layer"),
      ChoiceField<S>(inputs, [](auto& s) -> auto& { return s.inputs; }, EnumNames<CalibrationInputKind>(3),
                     "an input kind", "random codes, real activations, or recorded traces (calibrate only)"),
      When(data, inputs, {"activations"}),
      When(images, inputs, {"activations"}),
      When(file, inputs, {"traces"}),
      When(IntField<S>("traces.point", [](auto& s) -> auto& { return s.trace_point; }, IntRange(0, 9999), "",
                       "/points/NNNN of the results file"),
           inputs, {"traces"}),
      When(IntField<S>("traces.instance", [](auto& s) -> auto& { return s.trace_instance; }, IntRange(0, 999), "",
                       "chip instance of that point"),
           inputs, {"traces"}),
  };
}

}  // namespace cimsim
