// calibration_fields.h — the field table of CalibrationSettings (common/field_table.h): the calibration
// keys that `cimsim calibrate`'s config and an experiment's "calibration": {"auto": {...}} share, once
// each, with ranges, defaults and when they apply ("data" and "images" with "inputs": "activations",
// "traces.*" with "traces"). ReadCalibrationKeys / CalibrationKeysToJson (experiments/calibrate_config.h)
// and the key table in docs/crossbar.md come from it.
#pragma once

#include <vector>

#include "common/field_table.h"
#include "experiments/calibrate_config.h"

namespace cimsim {

std::vector<Field<CalibrationSettings>> CalibrationFields();

}  // namespace cimsim
