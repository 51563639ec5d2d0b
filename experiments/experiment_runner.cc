#include "experiments/experiment_runner.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/h5_file.h"
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
#include "experiments/point_units.h"
#include "experiments/probe_core.h"
#include "experiments/results_file.h"
#include "experiments/results_table.h"
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

// Instance k of a point (one unit, experiments/point_units.h): accuracy, dot-product errors and traces.
PointData RunInstance(RunContext& rc, const ExperimentPoint& point, const PlacementPlan& plan, int64_t k) {
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
  XbarConfig xbar = point.xbar;
  xbar.seed = InstanceChipSeed(xbar.seed, k);
  out.xbar_json = XbarConfigToJson(xbar).dump();
  const Rng root = ExperimentInstanceRoot(ExperimentPointRoot(c.noise_seed, point.index), k);
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
  s.accuracy_mean = s.accuracy[0];
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

// Everything checked and loaded before anything is written.
struct Prepared {
  QuantizedModel model;
  Cifar10Set test;
  std::vector<ExperimentPoint> points;
  std::vector<PlacementPlan> plans;
};

Prepared Prepare(const ExperimentConfig& c) {
  const std::string src = c.source.empty() ? "experiment" : c.source;
  Prepared r;
  r.model = LoadQuantizedModel(c.qmodel);
  r.model.Validate(c.qmodel);
  const std::string test_path = c.test_data.empty() ? ResolveDataPath("") : c.test_data;
  r.test = LoadCifar10(test_path, Cifar10Split::kTest);
  if (c.first + c.count > r.test.size())
    throw InputError(src + ": data: images [" + std::to_string(c.first) + ", " + std::to_string(c.first + c.count) +
                     ") do not exist; " + test_path + " holds " + std::to_string(r.test.size()) + " images");
  const auto& chw = r.model.input_chw;
  if (chw[0] != kCifarChannels || chw[1] != kCifarHeight || chw[2] != kCifarWidth)
    throw InputError(src + ": model.qmodel: the model takes " + std::to_string(chw[0]) + "×" + std::to_string(chw[1]) +
                     "×" + std::to_string(chw[2]) + " inputs, the CIFAR-10 images are 3×32×32");
  r.points = ExpandSweep(c);
  for (const ExperimentPoint& p : r.points) r.plans.push_back(ResolvePlacement(r.model, p.placement, src));
  for (const std::string& layer : c.traces.layers)
    if (std::find(r.plans[0].mvm_layers.begin(), r.plans[0].mvm_layers.end(), layer) == r.plans[0].mvm_layers.end())
      throw InputError(src + ": traces.layers: '" + layer + "' is not a conv/linear layer of the model");
  CheckPoints(c, r.model, r.points, r.plans);
  return r;
}

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
                      const Provenance* provenance) {
  RunFiles f;
  f.dir = dir;
  f.provenance = provenance;
  f.config = ExperimentConfigToJson(c);
  f.config.erase("threads");
  f.key = f.config.dump();
  f.total = c.lifetime ? LifetimePointCount(*c.lifetime, sweep_points) : sweep_points;
  f.instances = c.instances;
  for (const SweepAxis& a : c.sweep) f.swept.push_back(a.param);
  if (c.lifetime) {
    f.swept.push_back("lifetime.time");
    f.swept.push_back("lifetime.policy");
    f.lifetime_json = LifetimeToJson(*c.lifetime).dump();
  }
  return f;
}

// Writes the run's provenance into a point file (WritePointFile's extra attributes), if it has one.
std::function<void(H5File&)> ProvenanceWriter(const RunFiles& f) {
  if (f.provenance == nullptr) return {};
  return [p = f.provenance](H5File& h) { WriteProvenance(h, *p); };
}

void MakeDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create the output directory: " + ec.message());
}

// results.h5 and summary.json from the finished points.
void WriteTables(const RunFiles& f, const std::vector<PointSummary>& done, const std::vector<bool>& finished) {
  std::vector<std::string> files;
  std::vector<PointSummary> summaries;
  for (size_t p = 0; p < finished.size(); ++p)
    if (finished[p]) {
      files.push_back(PointFileName(f.dir, static_cast<int64_t>(p), f.total));
      summaries.push_back(done[p]);
    }
  WriteResultsFile(f.dir + "/results.h5", f.key, f.total, f.instances, f.swept, files, summaries, f.lifetime_json,
                   f.provenance);
  WriteSummaryJson(f.dir + "/summary.json", f.config, summaries, f.total, f.provenance);
  WriteFileAtomically(f.dir + "/table.csv", TableCsv(ResultsTable(f.swept, summaries)));
}

// Rewrites the tables after finished points. A rewrite copies every finished point, so rewriting after
// each of P points would cost O(P²); instead a rewrite is skipped while less than 10× the previous
// rewrite's duration has passed since it ended (the tables then lag by a few points, which points/
// holds), keeping the total at most ~10 % of the run; Finish() always writes.
class TablesWriter {
 public:
  TablesWriter(const RunFiles& f, const std::vector<PointSummary>& done, const std::vector<bool>& finished)
      : f_(f), done_(done), finished_(finished) {}
  void AfterPoint() {
    const auto now = std::chrono::steady_clock::now();
    if (written_ && now - last_end_ < 10 * last_cost_) {
      pending_ = true;
      return;
    }
    Write();
  }
  void Finish() {
    if (pending_ || !written_) Write();
  }

 private:
  void Write() {
    const auto start = std::chrono::steady_clock::now();
    WriteTables(f_, done_, finished_);
    last_end_ = std::chrono::steady_clock::now();
    last_cost_ = last_end_ - start;
    written_ = true;
    pending_ = false;
  }
  const RunFiles& f_;
  const std::vector<PointSummary>& done_;
  const std::vector<bool>& finished_;
  std::chrono::steady_clock::time_point last_end_;
  std::chrono::steady_clock::duration last_cost_{};
  bool written_ = false, pending_ = false;
};

bool AnyUnitFile(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir + "/units", ec))
    if (e.path().extension() == ".h5") return true;
  return false;
}

// The estimated cost of one unit of a point: the multiply-adds per image of its CIM layers plus 1/32 of
// its digital ones (the integer engine runs a MAC far faster than a simulated crossbar).
double UnitCost(const QuantizedModel& model, const PlacementPlan& plan) {
  const auto shapes = model.NodeShapes();
  double cost = 1.0;
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    const QNode& n = model.nodes[i];
    if (n.kind != QNodeKind::kConv && n.kind != QNodeKind::kLinear) continue;
    const double macs = static_cast<double>(n.out_channels * n.Depth() * shapes[i][1] * shapes[i][2]);
    cost += plan.cim[i] ? macs : macs / 32;
  }
  return cost;
}

// The activations the auto calibration reads, for the layers that run on CIM at any point.
std::map<int, CalibrationInputs> CalibrationActivations(const ExperimentConfig& c, const Prepared& r) {
  if (c.calibration.kind != CalibrationKind::kAuto || c.calibration.inputs != CalibrationInputKind::kActivations)
    return {};
  std::vector<int> nodes;
  for (size_t i = 0; i < r.model.nodes.size(); ++i)
    for (const PlacementPlan& plan : r.plans)
      if (plan.cim[i]) {
        nodes.push_back(static_cast<int>(i));
        break;
      }
  return TrainingActivationInputs(r.model, nodes, ResolveDataPath(c.calibration.data), c.calibration.images,
                                  c.calibration.params);
}

int ThreadCount(const ExperimentConfig& c, const ExperimentOptions& o) {
  if (o.threads > 0) return o.threads;
  return c.threads > 0 ? c.threads : ThreadPool::HardwareThreads();
}

void PrintPoint(const PointSummary& s, int64_t total) {
  std::fprintf(stderr, "point %lld/%lld %s: accuracy %.2f ± %.2f %% (%.1f s)\n", static_cast<long long>(s.index + 1),
               static_cast<long long>(total), s.params.dump().c_str(), 100 * s.accuracy_mean, 100 * s.accuracy_std,
               s.seconds);
}

}  // namespace

std::vector<PointSummary> RunExperiment(const ExperimentConfig& c, const ExperimentOptions& o) {
  // ---- everything is checked before anything is written ----
  const Prepared prep = Prepare(c);
  const std::vector<ExperimentPoint>& points = prep.points;
  const std::vector<PlacementPlan>& plans = prep.plans;
  ThreadPool pool(ThreadCount(c, o));
  RunContext ctx{c, prep.model, prep.test, {}, {}, pool, nullptr, o.stop};
  if (c.calibration.kind == CalibrationKind::kFile) ctx.file = LoadChipCalibration(c.calibration.file);

  // ---- the output directory ----
  const RunFiles f = MakeRunFiles(c, o.out_dir, static_cast<int64_t>(points.size()), o.provenance);
  MakeDirectory(o.out_dir + "/points");
  const size_t total = static_cast<size_t>(f.total);
  std::vector<PointSummary> done(total);
  std::vector<bool> finished(total, false);
  bool any_existing = AnyUnitFile(o.out_dir);
  for (size_t p = 0; p < total; ++p) {
    const std::string file = PointFileName(o.out_dir, static_cast<int64_t>(p), f.total);
    if (!fs::exists(file)) continue;
    any_existing = true;
    if (!o.resume) break;
    done[p] = ReadPointSummary(file, f.key);
    finished[p] = true;
  }
  if (any_existing && !o.resume)
    throw InputError(o.out_dir + ": holds the results of an earlier run; pass --resume to continue it, or choose "
                                 "another --out");

  // ---- calibration inputs shared by every chip ----
  if (std::find(finished.begin(), finished.end(), false) != finished.end()) ctx.activations = CalibrationActivations(c, prep);

  // ---- the points ----
  int64_t to_run = 0;
  for (bool fin : finished) to_run += fin ? 0 : 1;
  std::unique_ptr<Progress> progress;
  if (o.progress) progress = std::make_unique<Progress>(Progress::ToStderr("experiment", to_run * c.instances * c.count));
  ctx.progress = progress.get();
  TablesWriter tables(f, done, finished);
  tables.Finish();   // the directory is a readable (possibly empty) result from the start
  int finished_count = 0;
  for (bool fin : finished) finished_count += fin ? 1 : 0;
  if (c.lifetime) {
    const LifetimeRun run{c, prep.model, prep.test, ctx.activations, pool, progress.get(), o.stop};
    const int64_t per_point = LifetimePointCount(*c.lifetime, 1);
    for (size_t g = 0; g < points.size(); ++g) {
      const std::vector<bool> was_finished = finished;
      const auto first = was_finished.begin() + static_cast<int64_t>(g) * per_point;
      if (std::find(first, first + per_point, false) == first + per_point) continue;
      try {
        // Each time's finished (time, policy) points are saved as they come.
        const auto save = [&](std::vector<std::pair<int64_t, PointData>>& time_points) {
          for (auto& [index, data] : time_points) {
            WritePointFile(PointFileName(o.out_dir, index, f.total), data, f.key, f.total, ProvenanceWriter(f));
            done[static_cast<size_t>(index)] = data.summary;
            finished[static_cast<size_t>(index)] = true;
            ++finished_count;
          }
          tables.AfterPoint();
          if (!o.progress) return;
          for (const auto& [index, data] : time_points) PrintPoint(data.summary, f.total);
        };
        RunLifetimePoint(run, points[g], plans[g], was_finished, save);
      } catch (const Interrupted&) {
        tables.Finish();
        throw Interrupted(finished_count);
      }
    }
    tables.Finish();
    if (progress) progress->Finish();
    return done;
  }
  for (size_t p = 0; p < points.size(); ++p) {
    if (finished[p]) continue;
    const auto start = std::chrono::steady_clock::now();
    // Instance by instance; with --resume the units a sharded run left (units/) are read, not rerun.
    std::vector<PointData> units;
    try {
      for (int64_t k = 0; k < c.instances; ++k) {
        const std::string unit = UnitFileName(o.out_dir, static_cast<int64_t>(p), k, f.total, c.instances);
        units.push_back(o.resume && fs::exists(unit) ? ReadUnitFile(unit, f.key, static_cast<int64_t>(p), k, f.total)
                                                     : RunInstance(ctx, points[p], plans[p], k));
      }
    } catch (const Interrupted&) {
      tables.Finish();
      throw Interrupted(finished_count);
    }
    PointData data = MergeInstances(units);
    data.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    WritePointFile(PointFileName(o.out_dir, static_cast<int64_t>(p), f.total), data, f.key, f.total, ProvenanceWriter(f));
    done[p] = data.summary;
    finished[p] = true;
    ++finished_count;
    tables.AfterPoint();
    if (o.progress) PrintPoint(data.summary, f.total);
  }
  tables.Finish();
  if (progress) progress->Finish();
  return done;
}

ShardOutcome RunExperimentShard(const ExperimentConfig& c, const ExperimentOptions& o, const ShardSpec& shard) {
  if (shard.count < 1 || shard.index < 0 || shard.index >= shard.count)
    throw InputError("--shard: " + std::to_string(shard.index) + "/" + std::to_string(shard.count) +
                     "; expected I/N with 0 <= I < N");
  const Prepared prep = Prepare(c);
  ThreadPool pool(ThreadCount(c, o));
  RunContext ctx{c, prep.model, prep.test, {}, {}, pool, nullptr, o.stop};
  if (c.calibration.kind == CalibrationKind::kFile) ctx.file = LoadChipCalibration(c.calibration.file);
  const RunFiles f = MakeRunFiles(c, o.out_dir, static_cast<int64_t>(prep.points.size()), o.provenance);

  // Units: (point, instance), unit u = p·instances + k; in a lifetime run the sweep points (unit u = g,
  // every instance of a chip is read at every time in one process; its result points are its files).
  // Every shard computes the same assignment over all units.
  const bool lifetime = c.lifetime.has_value();
  const int64_t per_point = lifetime ? LifetimePointCount(*c.lifetime, 1) : 1;   // result points per unit
  const int64_t units_per_point = lifetime ? 1 : c.instances;
  std::vector<double> costs;
  for (const PlacementPlan& plan : prep.plans) {
    const double cost = UnitCost(prep.model, plan) * static_cast<double>(lifetime ? c.instances * per_point : 1);
    for (int64_t k = 0; k < units_per_point; ++k) costs.push_back(cost);
  }
  const std::vector<int64_t> owner = AssignUnits(costs, shard.count);
  // Whether unit u is in DIR already (files of another config: InputError).
  const auto done_already = [&](int64_t u) {
    if (lifetime) {
      for (int64_t r = u * per_point; r < (u + 1) * per_point; ++r) {
        const std::string file = PointFileName(o.out_dir, r, f.total);
        if (!fs::exists(file)) return false;
        ReadPointSummary(file, f.key);
      }
      return true;
    }
    const int64_t p = u / c.instances, k = u % c.instances;
    for (const std::string& file : {PointFileName(o.out_dir, p, f.total), UnitFileName(o.out_dir, p, k, f.total, c.instances)})
      if (fs::exists(file)) {
        ReadPointSummary(file, f.key);
        return true;
      }
    return false;
  };
  ShardOutcome out;
  std::vector<int64_t> mine;
  for (size_t u = 0; u < owner.size(); ++u) {
    if (owner[u] != shard.index) continue;
    ++out.assigned;
    if (done_already(static_cast<int64_t>(u))) ++out.reused;
    else mine.push_back(static_cast<int64_t>(u));
  }
  if (mine.empty()) return out;
  MakeDirectory(o.out_dir + (lifetime ? "/points" : "/units"));
  ctx.activations = CalibrationActivations(c, prep);
  std::unique_ptr<Progress> progress;
  if (o.progress)
    progress = std::make_unique<Progress>(
        Progress::ToStderr("shard " + std::to_string(shard.index) + "/" + std::to_string(shard.count),
                           static_cast<int64_t>(mine.size()) * per_point * (lifetime ? c.instances : 1) * c.count));
  ctx.progress = progress.get();
  const LifetimeRun run{c, prep.model, prep.test, ctx.activations, pool, progress.get(), o.stop};
  for (const int64_t u : mine) {
    const auto start = std::chrono::steady_clock::now();
    try {
      if (lifetime) {
        // The chip point's (time, policy) result points, each saved as its time finishes.
        std::vector<bool> finished(static_cast<size_t>(f.total), false);   // this chip point's saved times
        for (int64_t r = u * per_point; r < (u + 1) * per_point; ++r)
          finished[static_cast<size_t>(r)] = fs::exists(PointFileName(o.out_dir, r, f.total));
        const auto save = [&](std::vector<std::pair<int64_t, PointData>>& time_points) {
          for (auto& [index, data] : time_points) {
            WritePointFile(PointFileName(o.out_dir, index, f.total), data, f.key, f.total, ProvenanceWriter(f));
            if (o.progress) PrintPoint(data.summary, f.total);
          }
        };
        RunLifetimePoint(run, prep.points[static_cast<size_t>(u)], prep.plans[static_cast<size_t>(u)], finished, save);
      } else {
        const int64_t p = u / c.instances, k = u % c.instances;
        const PointData unit =
            RunInstance(ctx, prep.points[static_cast<size_t>(p)], prep.plans[static_cast<size_t>(p)], k);
        WriteUnitFile(UnitFileName(o.out_dir, p, k, f.total, c.instances), unit, k, c.instances, f.key, f.total,
                      f.provenance);
        if (o.progress)
          std::fprintf(stderr, "unit point %lld instance %lld %s: accuracy %.2f %% (%.1f s)\n", static_cast<long long>(p),
                       static_cast<long long>(k), unit.summary.params.dump().c_str(), 100 * unit.summary.accuracy[0],
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      }
    } catch (const Interrupted&) {
      throw Interrupted(static_cast<int>(out.ran));
    }
    ++out.ran;
  }
  if (progress) progress->Finish();
  return out;
}

MergeOutcome MergeExperiment(const std::string& dir, const Provenance* provenance) {
  // The run's config, from any of its files.
  std::string stored;
  std::string from;
  for (const char* sub : {"/points", "/units"}) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir + sub, ec))
      if (e.path().extension() == ".h5") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    if (!files.empty() && stored.empty()) {
      from = files.front().string();
      const H5File h = H5File::OpenRead(from);
      if (!h.HasAttribute("/", "config")) throw InputError(from + ": not a cimsim experiment point or unit file");
      stored = h.ReadStringAttribute("/", "config");
    }
  }
  if (stored.empty()) throw InputError(dir + ": no points/ or units/ files to merge (is it an experiment's --out?)");
  json config_json;
  try {
    config_json = json::parse(stored);
  } catch (const json::exception& e) {
    throw InputError(from + ": attribute config is not JSON: " + e.what());
  }
  const ExperimentConfig c = ParseExperimentConfig(config_json, from + " (attribute config)");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  const RunFiles f = MakeRunFiles(c, dir, static_cast<int64_t>(points.size()), provenance);
  if (f.key != stored)
    throw InputError(from + ": its config does not read back to itself; merge it with the cimsim version that wrote it");
  MakeDirectory(dir + "/points");
  MergeOutcome out;
  const size_t total = static_cast<size_t>(f.total);
  out.points.resize(total);
  std::vector<bool> finished(total, false);
  for (size_t p = 0; p < total; ++p) {
    const int64_t pi = static_cast<int64_t>(p);
    const std::string point_file = PointFileName(dir, pi, f.total);
    if (fs::exists(point_file)) {
      out.points[p] = ReadPointSummary(point_file, f.key);
      finished[p] = true;
      continue;
    }
    if (c.lifetime) {
      ++out.missing_points;
      continue;
    }
    std::vector<PointData> units;
    for (int64_t k = 0; k < c.instances; ++k) {
      const std::string unit = UnitFileName(dir, pi, k, f.total, c.instances);
      if (!fs::exists(unit)) {
        ++out.missing_units;
        continue;
      }
      units.push_back(ReadUnitFile(unit, f.key, pi, k, f.total));
    }
    if (static_cast<int64_t>(units.size()) != c.instances) {
      ++out.missing_points;
      continue;
    }
    const PointData data = MergeInstances(units);
    WritePointFile(point_file, data, f.key, f.total, ProvenanceWriter(f));
    out.points[p] = data.summary;
    finished[p] = true;
    ++out.merged_points;
  }
  WriteTables(f, out.points, finished);
  for (size_t p = 0; p < total; ++p) out.finished_points += finished[p] ? 1 : 0;
  return out;
}

}  // namespace cimsim
