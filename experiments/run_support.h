// run_support.h — what the three ways of running an experiment share (experiments/experiment_runner.h:
// RunExperiment in experiment_runner.cc; RunExperimentShard and MergeExperiment in
// experiment_shard_runner.cc): loading and checking the run, running one chip instance of a point,
// the run's files and tables, unit costs. Internal to the experiments library.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "calib/activation_inputs.h"
#include "calib/output_statistics.h"
#include "common/h5_file.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/provenance.h"
#include "data/cifar10.h"
#include "experiments/calibration_file.h"
#include "experiments/experiment_runner.h"
#include "experiments/placement.h"
#include "experiments/results_file.h"
#include "nets/quantized_model.h"

namespace cimsim::run_support {

using nlohmann::json;

// What every point of a run shares.
struct RunContext {
  const ExperimentConfig& config;
  const QuantizedModel& model;
  const Cifar10Set& test;
  std::map<int, CalibrationInputs> activations;   // auto calibration on activations, by node
  ChipCalibrationFile file;                      // calibration from a file
  OutputStatisticsInputs statistics;             // "output_statistics" (count 0: none)
  ThreadPool& pool;
  Progress* progress;
  const std::atomic<bool>* stop;
};

// Instance k of a point (one unit, experiments/point_units.h): accuracy, dot-product errors and traces.
PointData RunInstance(RunContext& rc, const ExperimentPoint& point, const PlacementPlan& plan, int64_t k);

// Everything checked and loaded before anything is written.
struct Prepared {
  QuantizedModel model;
  Cifar10Set test;
  std::vector<ExperimentPoint> points;
  std::vector<PlacementPlan> plans;
};

// Loads the model and the test data and checks the whole config against them (layer names, every
// point's chip on every CIM layer): InputError before anything is written.
Prepared Prepare(const ExperimentConfig& c);

// A run's files: where they go and what identifies and describes the run in them.
struct RunFiles {
  std::string dir;
  json config;               // ExperimentConfigToJson without "threads" (it changes no result)
  std::string key;           // config.dump(): recognises the run's files on --resume and merge
  int64_t total = 0;         // result points
  int64_t instances = 1;
  json swept = json::array();
  std::string lifetime_json;
  const Provenance* provenance = nullptr;   // of this process, recorded in every file it writes
};

RunFiles MakeRunFiles(const ExperimentConfig& c, const std::string& dir, int64_t sweep_points,
                      const Provenance* provenance);
// Writes the run's provenance into a point file (WritePointFile's extra attributes), if it has one.
std::function<void(H5File&)> ProvenanceWriter(const RunFiles& f);
// InputError naming the directory when it cannot be created.
void MakeDirectory(const std::string& dir);
// results.h5, summary.json and table.csv from the finished points.
void WriteTables(const RunFiles& f, const std::vector<PointSummary>& done, const std::vector<bool>& finished);
// The estimated cost of one unit of a point: the multiply-adds per image of its CIM layers plus 1/32 of
// its digital ones (the integer engine runs a MAC far faster than a simulated crossbar).
double UnitCost(const QuantizedModel& model, const PlacementPlan& plan);
// The activations the auto calibration reads, for the layers that run on CIM at any point.
std::map<int, CalibrationInputs> CalibrationActivations(const ExperimentConfig& c, const Prepared& r);
// The "output_statistics" images and the exact engine's moments on them at every node that is on CIM at
// some point; empty (count 0) without the key.
OutputStatisticsInputs StatisticsInputs(const ExperimentConfig& c, const Prepared& r, ThreadPool& pool);
// --threads, else the config's threads, else the CPUs this process may use.
int ThreadCount(const ExperimentConfig& c, const ExperimentOptions& o);
// "point i/N {params}: accuracy …" on stderr.
void PrintPoint(const PointSummary& s, int64_t total);

}  // namespace cimsim::run_support
