#include "experiments/experiment_runner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/parallel.h"
#include "common/progress.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/cifar10.h"
#include "calib/activation_inputs.h"
#include "experiments/calibration_file.h"
#include "experiments/lifetime_runner.h"
#include "experiments/placement.h"
#include "experiments/point_evaluation.h"
#include "experiments/probe_core.h"
#include "experiments/results_file.h"
#include "experiments/xbar_fields.h"
#include "nets/integer_network.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// What every point of a run shares.
struct RunContext {
  const ExperimentConfig& config;
  const QuantizedModel& model;
  const Cifar10Set& test;
  std::map<int, CalibrationInputs> activations;   // auto calibration on activations, by node
  ChipCalibrationFile file;                      // calibration from a file
  ThreadPool& pool;
  Progress* progress;
  const std::atomic<bool>* stop;
};

// One point: every instance, accuracy, dot-product errors and traces.
PointData RunPoint(RunContext& rc, const ExperimentPoint& point, const PlacementPlan& plan) {
  const ExperimentConfig& c = rc.config;
  PointData out;
  PointSummary& s = out.summary;
  s.index = point.index;
  s.params = point.params;
  s.split = point.placement.split;
  s.transmitted_bytes = plan.transmitted_bytes;
  s.layers = plan.mvm_layers;
  out.cim_layers = plan.cim_layers;
  out.images = c.count;
  const Rng point_root = ExperimentPointRoot(c.noise_seed, point.index);
  for (int64_t k = 0; k < c.instances; ++k) {
    XbarConfig xbar = point.xbar;
    xbar.seed = InstanceChipSeed(xbar.seed, k);
    if (k == 0) out.xbar_json = XbarConfigToJson(xbar).dump();
    const Rng root = ExperimentInstanceRoot(point_root, k);
    const MvmCoreFactory chip = c.calibration.kind == CalibrationKind::kFile
                                    ? CalibratedChipCoreFactory(xbar, rc.file, c.calibration.file)
                                    : ChipCoreFactory(xbar);
    std::vector<const ProbeCore*> probes(rc.model.nodes.size(), nullptr);
    const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
      if (!plan.cim[static_cast<size_t>(index)]) return MakeIdealCore(node, index);
      std::unique_ptr<MvmCore> core = chip(node, index);
      if (c.calibration.kind == CalibrationKind::kAuto) {
        const LayerCalibration cal = c.calibration.inputs == CalibrationInputKind::kActivations
                                         ? CalibrateLayer(node, *core, rc.activations.at(index), c.calibration.params)
                                         : CalibrateLayer(node, *core, c.calibration.params);
        core = ApplyCalibration(cal, *core, "auto calibration");
      }
      TraceSpec spec;
      if (std::find(c.traces.layers.begin(), c.traces.layers.end(), node.name) != c.traces.layers.end()) {
        spec.vectors = c.traces.vectors;
        spec.first_image = c.first;
        spec.position_seed = InstanceTracePositionSeed(root);
        spec.read_seed = InstanceTraceReadSeed(root);
      }
      auto probe = std::make_unique<ProbeCore>(std::move(core), node, index, spec);
      probes[static_cast<size_t>(index)] = probe.get();
      return probe;
    };
    IntegerNetwork net(rc.model, factory, c.qmodel, InstanceNetworkNoiseSeed(root));

    const int64_t correct = CountCorrect(net, rc.test, c.first, c.count, rc.pool, rc.progress, rc.stop);
    out.correct.push_back(correct);
    s.accuracy.push_back(static_cast<double>(correct) / static_cast<double>(c.count));
    for (size_t i = 0; i < rc.model.nodes.size(); ++i) {
      const QNode& node = rc.model.nodes[i];
      if (node.kind != QNodeKind::kConv && node.kind != QNodeKind::kLinear) continue;
      const ProbeCore* p = probes[i];
      out.dot_rmse.push_back(p != nullptr ? p->Rmse() : 0.0);
      s.dot_relative.push_back(p != nullptr ? p->Relative() : 0.0);
      if (p != nullptr && std::find(c.traces.layers.begin(), c.traces.layers.end(), node.name) != c.traces.layers.end())
        out.traces[node.name].Append(p->Trace(static_cast<int>(k)));
    }
  }
  const AccuracyStats stats = Stats(s.accuracy);
  s.accuracy_mean = stats.mean;
  s.accuracy_std = stats.std;
  return out;
}

// Every point's chip on every CIM layer, before anything is written.
void CheckPoints(const ExperimentConfig& c, const QuantizedModel& model, const std::vector<ExperimentPoint>& points,
                 const std::vector<PlacementPlan>& plans) {
  std::vector<uint64_t> chips;
  for (const ExperimentPoint& point : points) chips.push_back(ChipId(point.xbar));
  for (size_t p = 0; p < points.size(); ++p) {
    const std::string where = (c.source.empty() ? "" : c.source + ": ") +
                              (points.size() > 1 ? "sweep point " + std::to_string(p) + " " + points[p].params.dump() + ": "
                                                 : std::string()) + "xbar: crossbar";
    // A chip (by ChipId) on the same layers as an earlier point's is checked once, at its first point.
    bool seen = false;
    for (size_t q = 0; q < p && !seen; ++q) seen = chips[q] == chips[p] && plans[q].cim == plans[p].cim;
    if (seen) continue;
    DeviceModel device(points[p].xbar.device, "device");   // validates the device
    for (size_t i = 0; i < model.nodes.size(); ++i) {
      if (!plans[p].cim[i]) continue;
      const QNode& n = model.nodes[i];
      points[p].xbar.crossbar.ValidateLayer(where + " (layer " + n.name + ")", n.weight_bits, n.InputMin(), n.InputMax());
    }
  }
}

}  // namespace

std::vector<PointSummary> RunExperiment(const ExperimentConfig& c, const ExperimentOptions& o) {
  const std::string src = c.source.empty() ? "experiment" : c.source;
  // ---- everything is checked before anything is written ----
  const QuantizedModel model = LoadQuantizedModel(c.qmodel);
  model.Validate(c.qmodel);
  const std::string test_path = c.test_data.empty() ? ResolveDataPath("") : c.test_data;
  const Cifar10Set test = LoadCifar10(test_path, Cifar10Split::kTest);
  if (c.first + c.count > test.size())
    throw InputError(src + ": data: images [" + std::to_string(c.first) + ", " + std::to_string(c.first + c.count) +
                     ") do not exist; " + test_path + " holds " + std::to_string(test.size()) + " images");
  const auto& chw = model.input_chw;
  if (chw[0] != kCifarChannels || chw[1] != kCifarHeight || chw[2] != kCifarWidth)
    throw InputError(src + ": model.qmodel: the model takes " + std::to_string(chw[0]) + "×" + std::to_string(chw[1]) +
                     "×" + std::to_string(chw[2]) + " inputs, the CIFAR-10 images are 3×32×32");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  std::vector<PlacementPlan> plans;
  for (const ExperimentPoint& p : points) plans.push_back(ResolvePlacement(model, p.placement, src));
  for (const std::string& layer : c.traces.layers)
    if (std::find(plans[0].mvm_layers.begin(), plans[0].mvm_layers.end(), layer) == plans[0].mvm_layers.end())
      throw InputError(src + ": traces.layers: '" + layer + "' is not a conv/linear layer of the model");
  CheckPoints(c, model, points, plans);

  ThreadPool pool(c.threads > 0 ? c.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  RunContext ctx{c, model, test, {}, {}, pool, nullptr, o.stop};
  if (c.calibration.kind == CalibrationKind::kFile) ctx.file = LoadChipCalibration(c.calibration.file);

  // ---- the output directory ----
  const json config_json = ExperimentConfigToJson(c);
  json key_json = config_json;
  key_json.erase("threads");
  const std::string key = key_json.dump();
  const std::string results = o.out_dir + "/results.h5";
  std::error_code ec;
  fs::create_directories(o.out_dir + "/points", ec);
  if (ec) throw InputError(o.out_dir + ": cannot create the output directory: " + ec.message());
  // The result points: the sweep points, or with "lifetime" (sweep point, time, policy).
  const size_t total = c.lifetime ? static_cast<size_t>(LifetimePointCount(*c.lifetime, static_cast<int64_t>(points.size())))
                                  : points.size();
  std::vector<PointSummary> done(total);
  std::vector<bool> finished(total, false);
  bool any_existing = false;
  for (size_t p = 0; p < total; ++p) {
    const std::string file = PointFileName(o.out_dir, static_cast<int64_t>(p));
    if (!fs::exists(file)) continue;
    any_existing = true;
    if (!o.resume) break;
    done[p] = ReadPointSummary(file, key);
    finished[p] = true;
  }
  if (any_existing && !o.resume)
    throw InputError(o.out_dir + ": holds the results of an earlier run; pass --resume to continue it, or choose "
                                 "another --out");

  // ---- calibration inputs shared by every chip ----
  if (c.calibration.kind == CalibrationKind::kAuto && c.calibration.inputs == CalibrationInputKind::kActivations) {
    const bool needed = std::find(finished.begin(), finished.end(), false) != finished.end();
    if (needed) {
      std::vector<int> nodes;
      for (size_t i = 0; i < model.nodes.size(); ++i)
        for (const PlacementPlan& plan : plans)
          if (plan.cim[i]) {
            nodes.push_back(static_cast<int>(i));
            break;
          }
      ctx.activations = TrainingActivationInputs(model, nodes, ResolveDataPath(c.calibration.data), c.calibration.images,
                                                 c.calibration.params);
    }
  }

  // ---- the points ----
  json swept = json::array();
  for (const SweepAxis& a : c.sweep) swept.push_back(a.param);
  if (c.lifetime) {
    swept.push_back("lifetime.time");
    swept.push_back("lifetime.policy");
  }
  const std::string lifetime_json = c.lifetime ? LifetimeToJson(*c.lifetime).dump() : std::string();
  int64_t to_run = 0;
  for (bool f : finished) to_run += f ? 0 : 1;
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>(Progress::ToStderr("experiment", to_run * c.instances * c.count));
  ctx.progress = progress.get();
  auto write_tables = [&] {
    std::vector<std::string> files;
    std::vector<PointSummary> summaries;
    for (size_t p = 0; p < total; ++p)
      if (finished[p]) {
        files.push_back(PointFileName(o.out_dir, static_cast<int64_t>(p)));
        summaries.push_back(done[p]);
      }
    WriteResultsFile(results, config_json.dump(), static_cast<int64_t>(total), c.instances, swept, files,
                     lifetime_json);
    WriteSummaryJson(o.out_dir + "/summary.json", config_json, summaries, static_cast<int64_t>(total));
  };
  write_tables();
  int finished_count = 0;
  for (bool f : finished) finished_count += f ? 1 : 0;
  if (c.lifetime) {
    const LifetimeRun run{c, model, test, ctx.activations, pool, progress.get(), o.stop};
    const int64_t per_point = LifetimePointCount(*c.lifetime, 1);
    for (size_t g = 0; g < points.size(); ++g) {
      const std::vector<bool> was_finished = finished;
      const auto first = was_finished.begin() + static_cast<int64_t>(g) * per_point;
      if (std::find(first, first + per_point, false) == first + per_point) continue;
      try {
        // Each time's finished (time, policy) points are saved as they come.
        const auto save = [&](std::vector<std::pair<int64_t, PointData>>& time_points) {
          for (auto& [index, data] : time_points) {
            WritePointFile(PointFileName(o.out_dir, index), data, key);
            done[static_cast<size_t>(index)] = data.summary;
            finished[static_cast<size_t>(index)] = true;
            ++finished_count;
          }
          write_tables();
          if (!o.progress) return;
          for (const auto& [index, data] : time_points)
            std::fprintf(stderr, "point %lld/%zu %s: accuracy %.2f ± %.2f %% (%.1f s)\n",
                         static_cast<long long>(index + 1), total, data.summary.params.dump().c_str(),
                         100 * data.summary.accuracy_mean, 100 * data.summary.accuracy_std, data.summary.seconds);
        };
        RunLifetimePoint(run, points[g], plans[g], was_finished, save);
      } catch (const Interrupted&) {
        throw Interrupted(finished_count);
      }
    }
    if (progress) progress->Finish();
    return done;
  }
  for (size_t p = 0; p < points.size(); ++p) {
    if (finished[p]) continue;
    const auto start = std::chrono::steady_clock::now();
    PointData data;
    try {
      data = RunPoint(ctx, points[p], plans[p]);
    } catch (const Interrupted&) {
      throw Interrupted(finished_count);
    }
    data.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WritePointFile(PointFileName(o.out_dir, static_cast<int64_t>(p)), data, key);
    done[p] = data.summary;
    finished[p] = true;
    ++finished_count;
    write_tables();
    if (o.progress) {
      std::fprintf(stderr, "point %zu/%zu %s: accuracy %.2f ± %.2f %% (%.1f s)\n", p + 1, points.size(),
                   points[p].params.dump().c_str(), 100 * data.summary.accuracy_mean, 100 * data.summary.accuracy_std,
                   data.summary.seconds);
    }
  }
  if (progress) progress->Finish();
  return done;
}

}  // namespace cimsim
