#include "experiments/calibration_fields.h"

#include "calib/chip_calibration_fields.h"
#include "common/field_builders.h"

namespace cimsim {

std::vector<Field<CalibrationSettings>> CalibrationFields() {
  using S = CalibrationSettings;
  const std::string inputs = "inputs";
  // fit_vectors, holdout_vectors, seed, adc_percentile, mode: ChipCalibrationParams' own table.
  std::vector<Field<S>> chip;
  for (const Field<ChipCalibrationParams>& f : ChipCalibrationFields())
    chip.push_back(Nested<S>(f, [](S& s) -> ChipCalibrationParams& { return s.params; }));
  Field<S> data;
  data.key = "data";
  data.type = FieldType::kString;
  data.get = [](const S& s) { return FieldValue(s.data); };
  data.set = [](S& s, const FieldValue& v) { s.data = std::get<std::string>(v); };
  data.doc = "training data (a CIFAR-10 directory or one .bin file, or an image folder's train/); \"\" = $CIMSIM_DATA";
  Field<S> images = IntField<S>("images", [](auto& s) -> auto& { return s.images; }, IntRange(10, 50000), "images",
                                "class-balanced seeded subset (a multiple of 10), half for the fits, half held out");
  Field<S> file;
  file.key = "traces.file";
  file.type = FieldType::kString;
  file.get = [](const S& s) { return FieldValue(s.trace_file); };
  file.set = [](S& s, const FieldValue& v) { s.trace_file = std::get<std::string>(v); };
  file.doc = "the results.h5 holding the traces (required)";
  images.overflow_names_range = true;
  std::vector<Field<S>> fields = std::move(chip);
  for (Field<S>& f : std::vector<Field<S>>{
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
  }) {
    fields.push_back(std::move(f));
  }
  return fields;
}

}  // namespace cimsim
