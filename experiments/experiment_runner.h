// experiment_runner.h — runs every sweep point × chip instance of an experiment (`cimsim experiment`).
//
// Per point p and instance k: the chip is point p's xbar config with seed + k (InstanceChipSeed); every CIM layer
// (PlacementPlan) is programmed (ChipCoreFactory), calibrated (auto: CalibrateLayer on inputs
// shared by every chip — real activations of training images or random codes; or a calibration file)
// and wrapped in a probe that also computes the exact integer product of every vector it sees, so
// that the layer's dot-product error is measured on every output of every image:
//     dot_rmse = sqrt(Σ (y − exact)² / count),  dot_relative = sqrt(Σ (y − exact)² / Σ exact²)
// (sums in 128-bit integers: exact and independent of the thread count). Digital layers run on
// IdealCore. The integer network then classifies the test images [first, first + count) on the
// thread pool; image m's read noise comes from ImageNoiseStream(InstanceNetworkNoiseSeed(root), m, node)
// with root = ExperimentInstanceRoot(ExperimentPointRoot(noise_seed, p), k) (common/streams.h).
// Traces: for each traced CIM layer and instance, images m = first, first + 1, … give one output
// position each (TracePositionStream(InstanceTracePositionSeed(root), m, node)) until traces.vectors
// vectors are taken; each is read once more through the chip with its own read-noise stream
// (TraceReadStream(InstanceTraceReadSeed(root), m, node)) and every column read is recorded
// (docs/results_format.md).
//
// With "lifetime" (experiments/lifetime_runner.h) each sweep point's chips are programmed once and read at
// every time under every policy; its result points are (sweep point, time, policy).
//
// Results go to DIR (docs/results_format.md): points/NNNN.h5 (atomic) when a point finishes, then
// results.h5 and summary.json are rewritten atomically with every finished point. The run checks the
// whole config against the model (layer names, every point's chip on every CIM layer) before it
// writes anything. --resume reuses finished point files written by the same config (InputError when
// DIR holds another config's results, or results without --resume). A set stop flag makes the run
// throw Interrupted between image batches; finished points stay.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "experiments/experiment_config.h"

namespace cimsim {

struct ExperimentOptions {
  std::string out_dir;
  bool resume = false;
  const std::atomic<bool>* stop = nullptr;   // set by a signal handler: stop between batches
  bool progress = true;                      // progress lines on stderr
};

// One finished point, as summary.json lists it.
struct PointSummary {
  int64_t index = 0;
  nlohmann::json params;
  std::vector<double> accuracy;               // per instance, fraction
  double accuracy_mean = 0, accuracy_std = 0;
  int64_t transmitted_bytes = 0;
  std::string split;
  std::vector<std::string> layers;            // every conv/linear layer
  std::vector<double> dot_relative;           // [instances × layers], 0 for digital layers
  std::optional<std::vector<int64_t>> reprograms;   // lifetime points: reprogram events per instance up
                                                     // to this time (0 unless the policy is reprogram)
  bool resumed = false;                       // read back from its point file
  double seconds = 0;                         // wall time of the point (0 when resumed)
};

class Interrupted : public std::runtime_error {
 public:
  explicit Interrupted(int finished) : std::runtime_error("interrupted"), finished_points(finished) {}
  int finished_points;
};

// Runs the experiment; returns every point's summary in point order. Throws InputError for bad input
// (nothing written), Interrupted when the stop flag is set.
std::vector<PointSummary> RunExperiment(const ExperimentConfig& config, const ExperimentOptions& options);

}  // namespace cimsim
