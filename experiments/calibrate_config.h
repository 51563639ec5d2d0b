// calibrate_config.h — the JSON config of `cimsim calibrate --config cal.json --out CAL.h5`.
//
//   {"model": {"qmodel": "out/resnet20_w8a8.h5"},  the quantized model (required), as in an experiment
//    "xbar": {...} or "xbar.json",          the chip: as `infer --crossbar` (experiments/xbar_config.h)
//    "layers": ["conv1", "layer1.0.conv1"], conv/linear node names; default: all of them
//    "fit_vectors": 512, "holdout_vectors": 512, "seed": 1,    input vectors per layer
//    "inputs": "random",                    "random": uniform codes; "activations": im2col patches of the
//                                           layer's real inputs (calib/activation_inputs.h); "traces"
//    "data": {"train": "../shared/data/cifar10"},  activations: training data (a directory or one .bin
//                                           file); default the CIMSIM_DATA environment variable
//    "images": 100,                         activations: class-balanced seeded subset (a multiple of 10),
//                                           half for the fits, half held out
//    "traces": {"file": "results.h5",       inputs "traces" (only here, not in an experiment): recorded
//               "point": 0, "instance": 0},  column reads of the chip (calib/trace_calibration.h),
//                                           /points/NNNN/traces/<layer> of a results.h5; layers default
//                                           to the traced ones; the xbar must be the chip that was traced
//    "adc_percentile": 99.99,               calibrated ADC ranges (crossbar.adc.range = "calibrated")
//    "mode": "column"}                      "column": gain and offset per column; "global": one gain
// The calibration keys come from one field table (experiments/calibration_fields.h). The older
// spellings — a top-level "qmodel": "Q.h5" and "data": "PATH" — are still read; each adds a note to
// CalibrateConfig::notes (a deprecation warning for the command to print). Unknown keys, wrong types
// and out-of-range values are InputErrors naming the key path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "calib/chip_calibration.h"
#include "experiments/json_reader.h"
#include "experiments/xbar_config.h"

namespace cimsim {

enum class CalibrationInputKind { kRandom, kActivations, kTraces };
std::string_view ToString(CalibrationInputKind kind);   // "random", "activations", "traces"

// The calibration keys that cal.json and an experiment's "calibration": {"auto": {...}} share.
struct CalibrationSettings {
  ChipCalibrationParams params;
  CalibrationInputKind inputs = CalibrationInputKind::kRandom;
  std::string data;      // activations: empty = CIMSIM_DATA
  int64_t images = 100;  // activations
  std::string trace_file;                      // traces
  int64_t trace_point = 0, trace_instance = 0;  // traces
};

// Reads those keys of object j at `path` ("" for the top level) into s, leaving absent ones as they
// are: fit_vectors, holdout_vectors, seed, adc_percentile, mode, inputs, data, images, and traces
// when `allow_traces` (otherwise "inputs": "traces" is an error). The caller checks for unknown keys.
// InputError via r, naming the path.
void ReadCalibrationKeys(const JsonReader& r, const nlohmann::json& j, const std::string& path, CalibrationSettings& s,
                         bool allow_traces);
// The same keys as JSON (data and images only with "activations", traces only with "traces").
// CalibrateConfigToJson keeps the shape it always wrote (a top-level "qmodel"): CAL.h5 files store it.
nlohmann::json CalibrationKeysToJson(const CalibrationSettings& s);

struct CalibrateConfig : CalibrationSettings {
  std::string qmodel;
  XbarConfig xbar;
  std::vector<std::string> layers;
  std::string source;
  std::vector<std::string> notes;   // older spellings that were read: "cal.json: qmodel: ... older spelling; ..."
};

CalibrateConfig LoadCalibrateConfig(const std::string& path);
CalibrateConfig ParseCalibrateConfig(const nlohmann::json& j, const std::string& source);
nlohmann::json CalibrateConfigToJson(const CalibrateConfig& config);

}  // namespace cimsim
