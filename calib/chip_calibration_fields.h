// chip_calibration_fields.h — the field table of ChipCalibrationParams (common/field_table.h): the
// keys fit_vectors, holdout_vectors, seed, adc_percentile and mode, once each. It drives
// ChipCalibrationParams::Validate, and experiments/calibration_fields.h embeds it (Nested) in the
// calibrate / auto-calibration keys, whose JSON and docs come from there.
#pragma once

#include <vector>

#include "calib/chip_calibration.h"
#include "common/field_table.h"

namespace cimsim {

std::vector<Field<ChipCalibrationParams>> ChipCalibrationFields();

}  // namespace cimsim
