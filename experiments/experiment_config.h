// experiment_config.h — the JSON config of `cimsim experiment --config run.json` (docs/experiments.md).
//
//   {"model": {"qmodel": "out/resnet20_w8a8.h5"},           a quantized model (cimsim quantize)
//    "data": {"test": "PATH", "count": 1000, "first": 0},   test images: a .bin file or a directory
//                                                           (test_batch.bin); default $CIMSIM_DATA;
//                                                           images [first, first + count); or an
//                                                           image folder (class subfolders, sorted
//                                                           by class: let count cover it), read as
//                                                           evaluation views: Resize("resize",
//                                                           default side·256/224) + CenterCrop(the
//                                                           model's input side)
//    "xbar": {...} or "xbar.json",                          the chip, as `infer --crossbar`
//    "calibration": "none" | "auto" | "CAL.h5" | {"auto": {...}},
//                          auto: `cimsim calibrate` of every CIM layer of every chip instance, before it
//                          runs; the object takes the calibrate keys fit_vectors, holdout_vectors, seed,
//                          adc_percentile, mode, inputs, data, images (defaults: inputs "activations",
//                          images 100, fit/holdout 512). A file: only without sweeps of the chip and
//                          with one instance (it belongs to one chip).
//    "placement": {"cim": "all" | ["conv1", ...]} or {"split": "layer2.0.add"},
//                          which conv/linear layers run on CIM; a split runs every node up to and
//                          including the named node (any node) on the device and the rest digitally
//                          (the cloud)
//    "instances": 1,                                        chip instances (seeds xbar.seed + k), 1..1000
//    "sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 8]}, ...],
//                          a cartesian product; param is a path inside the xbar config
//                          ("device.preset", "crossbar.read_time", ...), "split" (values: node
//                          names) or "cim" (values: "all" or arrays of layer names, e.g. [["conv1"],
//                          ["linear"], "all"]: which layers run on CIM, per point; the swept placement
//                          replaces the config's own; not together with a swept split)
//    "traces": {"layers": ["conv1", ...], "vectors": 64},   sampled vectors per traced CIM layer and instance
//    "threads": 0,                                          0 = all cores
//    "noise_seed": 1,                                       read-noise streams
//    "lifetime": {"times": [...], "policies": [...], ...},  optional: the same programmed chip read at
//                          several times after programming, under drift-compensation policies
//                          (experiments/lifetime_config.h, docs/lifetime.md); needs auto calibration, a
//                          simulated chip, no crossbar.read_time (in the chip or swept)
//    "output_statistics": {"images": 200, "seed": 1, "data": ""}}
//                          optional: after its calibration (and in a lifetime run at every time, after
//                          the policy's compensation) every chip's network re-measures the per-channel
//                          mean and spread of each CIM layer's outputs on a class-balanced subset of
//                          `images` training images (`seed`; `data` default $CIMSIM_DATA) and matches
//                          them to the exact engine's (calib/output_statistics.h); images 10..50000
// Every error is an InputError "<file>: <path>: <problem>", e.g. "run.json: sweep[2].values[0]: ...".
// "model" and "xbar" are read as `cimsim calibrate` reads them (experiments/config_shapes.h).
// Sweeps are typed: the base chip is read once into typed values (XbarInputs), each swept path is
// resolved once to a setter on them and each value converted once (experiments/xbar_fields.h). Values
// are checked at load: each sweep value is applied alone to the base chip, and every point (each
// combination) is built too, so a run never starts with a bad point; ExpandSweep builds the points'
// chips from the typed values, without JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calib/chip_calibration.h"
#include "experiments/calibrate_config.h"
#include "experiments/lifetime_config.h"
#include "experiments/xbar_config.h"
#include "experiments/xbar_fields.h"

namespace cimsim {

enum class CalibrationKind { kNone, kAuto, kFile };

// kAuto uses the CalibrationSettings (inputs default to activations here).
struct ExperimentCalibration : CalibrationSettings {
  ExperimentCalibration() { inputs = CalibrationInputKind::kActivations; }
  CalibrationKind kind = CalibrationKind::kNone;
  std::string file;                      // kFile
};

struct Placement {
  bool all = true;                       // every conv/linear layer on CIM
  std::vector<std::string> cim;          // !all and split empty: these layers
  std::string split;                     // non-empty: device/cloud split after this node
  std::string path = "placement.cim";    // where the list or split was written ("placement.split", a swept one:
                                         // "sweep[a].values[k]"), for messages
};

struct SweepAxis {
  std::string param;                     // "crossbar.adc.bits", "device.preset", "split", "cim", ...
  std::vector<nlohmann::json> values;    // as written (results files and messages show these)
  std::vector<Placement> placements;     // "split" and "cim" axes: values[k] read at load
  XbarSetter setter;                     // chip axes ("seed", "device.…", "crossbar.…"): resolved at load
  std::vector<XbarValue> typed;          // chip axes: values[k] converted at load

  // "split" and "cim" set the placement of a point; every other axis sets a value of the chip.
  bool SetsPlacement() const { return param == "split" || param == "cim"; }
};

struct TraceParams {
  std::vector<std::string> layers;
  int64_t vectors = 64;
};

// "output_statistics" (calib/output_statistics.h).
struct OutputStatisticsParams {
  int64_t images = 200;   // class-balanced training subset (a multiple of the class count)
  uint64_t seed = 1;      // the subset
  std::string data;       // training data; empty = CIMSIM_DATA
};

struct ExperimentConfig {
  std::string source;                    // the config file, for messages
  std::string qmodel;
  std::string test_data;                 // empty = CIMSIM_DATA
  int64_t count = 1000, first = 0;
  int resize = 0;                        // image folder: the evaluation views' Resize; 0 = side·256/224
  nlohmann::json xbar;                   // the base chip, as JSON (resolved from a file if given)
  XbarInputs chip;                       // the same, read into typed values
  std::string chip_source;               // the name the base chip's messages use
  ExperimentCalibration calibration;
  Placement placement;
  int64_t instances = 1;
  std::vector<SweepAxis> sweep;
  TraceParams traces;
  int threads = 0;
  uint64_t noise_seed = 1;
  std::optional<LifetimeParams> lifetime;   // set: a lifetime run (ExperimentConfigToJson writes it only then)
  std::optional<OutputStatisticsParams> output_statistics;   // set: fitted on every chip (written only then)
};

// One point of the sweep: its index, the swept values, the chip and placement it runs with.
struct ExperimentPoint {
  int64_t index = 0;
  nlohmann::json params = nlohmann::json::object();   // path → value
  XbarConfig xbar;                                    // instance k uses seed xbar.seed + k
  Placement placement;
};

ExperimentConfig LoadExperimentConfig(const std::string& path);
// Whether the files a config names (model.qmodel, a calibration file) must exist now: they must for a
// run; `experiment merge` reads a run's stored config and needs none of them.
enum class ConfigFiles { kMustExist, kMayBeAbsent };
ExperimentConfig ParseExperimentConfig(const nlohmann::json& j, const std::string& source,
                                       ConfigFiles files = ConfigFiles::kMustExist);
nlohmann::json ExperimentConfigToJson(const ExperimentConfig& config);
// The cartesian product of the sweep (the last axis varies fastest); one point without sweeps.
std::vector<ExperimentPoint> ExpandSweep(const ExperimentConfig& config);

}  // namespace cimsim
