// lifetime_runner.h — one sweep point of a lifetime experiment: every chip instance programmed once and
// read at every time of lifetime.times under every drift-compensation policy (docs/lifetime.md).
//
// Results. A lifetime run's points are (sweep point g, time i, policy p), the lifetime axes varying
// fastest, policy last: index (g·T + i)·P + p with T times and P policies; their params are the sweep
// point's plus "lifetime.time" (seconds) and "lifetime.policy" (name), so results.h5 holds them like
// any sweep axis (docs/results_format.md).
//
// Per instance k (chip seed xbar.seed + k, root R_k = ExperimentInstanceRoot(ExperimentPointRoot(
// noise_seed, g), k)), before the first time: every CIM layer l (node index n) is programmed once
// (ChipCoreFactory with crossbar.read_time = calibrate_at: programming and drift draws from
// ChipProgramStream(seed + k, n)), auto-calibrated at calibrate_at (CalibrateLayer, ApplyCalibration:
// cal0), and — for global / reprogram — its drift reference is read: the layer's held-out calibration
// vectors x_c (activations or random codes, as the calibration's) through cal0,
//     y_ref = cal0(x_c) with read noise DriftReadStream(LifetimeReferenceReadSeed(R_k, 0), n).
// At time t_i (T_i = LifetimeTimeRoot(R_k, i); every read of x_c at t_i draws DriftReadStream(
// LifetimeDriftReadSeed(T_i), n), restarted for each read) each policy's core of layer l is
//   none        cal0 at t_i                  (AgingArray::AtReadTime: the same cells, the same readout)
//   global      c = cal0 at t_i; α = Σ|y_ref| / Σ|c(x_c)|; ScaleReadout(c, α)   (calib/drift_compensation.h)
//   per_column  the programmed core at t_i, auto-calibrated again (the same calibration inputs and seed)
//   reprogram   as global on the layer's current programming (generation m, programmed at time s_m,
//               read at age a(t) = calibrate_at + t − s_m; s_0 = calibrate_at, so a(t) = t); if its
//               metric ("error": RelativeError of the compensated read of x_c against the exact products;
//               "alpha": |α − 1|) is > threshold, the layer is programmed afresh (generation m + 1, from
//               ChipReprogramStream(seed + k, n, m + 1), s_{m+1} = t_i), calibrated at age calibrate_at,
//               its reference read (LifetimeReferenceReadSeed(R_k, m + 1)), and used at age calibrate_at
//               (α = 1). Each such event counts one reprogramming of the instance.
// and the test images are classified with every CIM layer in a ProbeCore (dot-product errors, traces),
// read noise from ImageNoiseStream(InstanceNetworkNoiseSeed(T_i), m, n), trace positions from
// InstanceTracePositionSeed(R_k) (the same vectors at every time), trace reads from
// InstanceTraceReadSeed(T_i). Streams depend on the time index, never on the policy or on which
// policies run, so every policy at a time sees the same read noise and results do not depend on threads.
// Per (time, policy, instance) the layer's α, the relative error of the policy's core on x_c against the
// exact products (RelativeError; the per-layer error vs time on a fixed input) and the reprogram events
// are kept too.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include "calib/chip_calibration.h"
#include "calib/output_statistics.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "data/cifar10.h"
#include "experiments/experiment_config.h"
#include "experiments/placement.h"
#include "experiments/results_file.h"
#include "nets/quantized_model.h"

namespace cimsim {

// Everything of the run a lifetime point reads.
struct LifetimeRun {
  const ExperimentConfig& config;                          // config.lifetime is set
  const QuantizedModel& model;
  const Cifar10Set& test;
  const std::map<int, CalibrationInputs>& activations;      // by node (activation inputs); empty for random
  const OutputStatisticsInputs& statistics;                // "output_statistics" (count 0: none)
  ThreadPool& pool;
  Progress* progress;                                       // may be null
  const std::atomic<bool>* stop;                            // may be null
};

// The number of result points: chip points × times × policies.
int64_t LifetimePointCount(const LifetimeParams& lifetime, int64_t chip_points);
// The result point of (chip point g, time i, policy p).
int64_t LifetimePointIndex(const LifetimeParams& lifetime, int64_t g, int64_t time, int64_t policy);
// Its params: the chip point's plus "lifetime.time" and "lifetime.policy".
nlohmann::json LifetimePointParams(const LifetimeParams& lifetime, const ExperimentPoint& point, int64_t time,
                                   int64_t policy);

// Runs chip point `point` (its placement `plan`). finished[o] (o a result point index; the vector covers
// all of them) skips the test images of a finished result point; its state (reference reads, reprogram
// decisions) is still replayed, so the others come out as in an uninterrupted run. After each time,
// `done` receives that time's unfinished result points in policy order (index, data). Throws
// Interrupted(0) when the stop flag is set (between image batches).
void RunLifetimePoint(const LifetimeRun& run, const ExperimentPoint& point, const PlacementPlan& plan,
                      const std::vector<bool>& finished,
                      const std::function<void(std::vector<std::pair<int64_t, PointData>>&)>& done);

}  // namespace cimsim
