// calibrate_config.h — the JSON config of `cimsim calibrate --config cal.json --out CAL.h5`.
//
//   {"qmodel": "out/resnet20_w8a8.h5",      the quantized model whose layers are programmed (required)
//    "xbar": {...} or "xbar.json",          the chip: as `infer --crossbar` (experiments/xbar_config.h)
//    "layers": ["conv1", "layer1.0.conv1"], conv/linear node names; default: all of them
//    "fit_vectors": 512, "holdout_vectors": 512, "seed": 1,    random input vectors per layer
//    "adc_percentile": 99.99,               calibrated ADC ranges (crossbar.adc.range = "calibrated")
//    "mode": "column"}                      "column": gain and offset per column; "global": one gain
// Unknown keys, wrong types and out-of-range values are InputErrors naming the key path.
#pragma once

#include <string>
#include <vector>

#include "experiments/chip_calibration.h"
#include "experiments/xbar_config.h"

namespace cimsim {

struct CalibrateConfig {
  std::string qmodel;
  XbarConfig xbar;
  std::vector<std::string> layers;
  ChipCalibrationParams params;
  std::string source;
};

CalibrateConfig LoadCalibrateConfig(const std::string& path);
CalibrateConfig ParseCalibrateConfig(const nlohmann::json& j, const std::string& source);
nlohmann::json CalibrateConfigToJson(const CalibrateConfig& config);

}  // namespace cimsim
