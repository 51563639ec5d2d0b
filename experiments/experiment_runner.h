// experiment_runner.h — runs every sweep point × chip instance of an experiment (`cimsim experiment`).
//
// Per point p and instance k: the chip is point p's xbar config with seed + k (InstanceChipSeed); every CIM layer
// (PlacementPlan) is programmed (ChipCoreFactory), calibrated (auto: CalibrateLayer on inputs
// shared by every chip — real activations of training images or random codes; or a calibration file),
// with "output_statistics" corrected per output channel on the whole chip network
// (CorrectOutputStatistics, calib/output_statistics.h; read noise from OutputStatisticsNoiseSeed(root))
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
// results.h5 and summary.json are rewritten atomically from the finished points — after a point unless
// the last rewrite was less than 10 of its own durations ago (so that the rewrites of a long sweep stay
// linear in its points, not quadratic), and always at the end or on interruption. The run checks the
// whole config against the model (layer names, every point's chip on every CIM layer) before it
// writes anything. --resume reuses finished point files written by the same config, and the unit
// files a sharded run left (InputError when DIR holds another config's results, or results without
// --resume). A set stop flag makes the run throw Interrupted between image batches; finished points stay.
// The stored config (results.h5's `config`, summary.json's "config", every point's key) leaves out
// "threads", which changes no result.
//
// Sharded runs (docs/experiments.md): RunExperimentShard runs one shard's units (point, instance)
// (experiments/experiment_shard.h, experiments/point_units.h) and writes only their unit files,
// units/NNNN-KKKK.h5, skipping units (and points) already in DIR; several shards may share DIR and run
// at once. In a lifetime run a unit is a sweep point (its chips are read at every time in one process)
// and its files are that point's (time, policy) point files, which only its shard writes. MergeExperiment(DIR) then joins every point whose units are all there into points/NNNN.h5 and
// rewrites results.h5 and summary.json from all finished points: the same files as one unsharded run.
// It reads the config from DIR's files, needs neither the model nor the data, and is idempotent.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/provenance.h"
#include "experiments/experiment_config.h"
#include "experiments/experiment_shard.h"

namespace cimsim {

struct ExperimentOptions {
  std::string out_dir;
  bool resume = false;
  int threads = 0;                           // > 0: overrides the config's "threads"
  const std::atomic<bool>* stop = nullptr;   // set by a signal handler: stop between batches
  bool progress = true;                      // progress lines on stderr
  const Provenance* provenance = nullptr;    // recorded in every file the run writes (common/provenance.h)
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

struct ShardOutcome {
  int64_t assigned = 0;   // units of this shard
  int64_t reused = 0;     // of them, already in DIR (as a unit or a finished point)
  int64_t ran = 0;        // run and written now
};
// One shard of the run (options.resume is implied: existing units of the same config are kept).
// InputError for bad input; Interrupted(units written) on the stop flag.
ShardOutcome RunExperimentShard(const ExperimentConfig& config, const ExperimentOptions& options,
                                const ShardSpec& shard);

struct MergeOutcome {
  std::vector<PointSummary> points;   // by point index; finished ones filled
  int64_t finished_points = 0;        // in results.h5 now
  int64_t merged_points = 0;          // joined from units by this call
  int64_t missing_points = 0;         // not finished: some unit is missing
  int64_t missing_units = 0;
};
MergeOutcome MergeExperiment(const std::string& dir, const Provenance* provenance = nullptr);

}  // namespace cimsim
