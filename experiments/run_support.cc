#include "experiments/run_support.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "data/image_folder_views.h"
#include "experiments/lifetime_runner.h"
#include "experiments/point_evaluation.h"
#include "experiments/probe_core.h"
#include "experiments/results_table.h"
#include "experiments/xbar_fields.h"
#include "nets/integer_network.h"
#include "nets/quantized_checkpoint.h"

namespace cimsim::run_support {
namespace {

namespace fs = std::filesystem;

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
      points[p].xbar.crossbar.ValidateLayer(where + " (layer " + n.name + ")", n.CoreWeightBits(), n.InputMin(), n.InputMax());
    }
  }
}

// The nodes on CIM at one point or more, in node order.
std::vector<int> CimAtAnyPoint(const Prepared& r) {
  std::vector<int> nodes;
  for (size_t i = 0; i < r.model.nodes.size(); ++i)
    for (const PlacementPlan& plan : r.plans)
      if (plan.cim[i]) {
        nodes.push_back(static_cast<int>(i));
        break;
      }
  return nodes;
}

}  // namespace

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
                                  ? CalibratedChipCoreFactory(xbar, rc.file, rc.model, c.calibration.file)
                                  : ChipCoreFactory(xbar);
  std::vector<std::unique_ptr<MvmCore>> cores(rc.model.nodes.size());
  for (size_t i = 0; i < cores.size(); ++i) {
    if (!plan.cim[i]) continue;
    const QNode& node = rc.model.nodes[i];
    const int index = static_cast<int>(i);
    cores[i] = chip(node, index);
    if (c.calibration.kind == CalibrationKind::kAuto) {
      const LayerCalibration cal = c.calibration.inputs == CalibrationInputKind::kActivations
                                       ? CalibrateLayer(node, *cores[i], rc.activations.at(index), c.calibration.params)
                                       : CalibrateLayer(node, *cores[i], c.calibration.params);
      cores[i] = ApplyCalibration(cal, *cores[i], "auto calibration");
    }
  }
  if (rc.statistics.count > 0) CorrectOutputStatistics(rc.model, cores, rc.statistics, OutputStatisticsNoiseSeed(root));
  std::vector<const ProbeCore*> probes(rc.model.nodes.size(), nullptr);
  const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    if (!plan.cim[static_cast<size_t>(index)]) return MakeIdealCore(node, index);
    TraceSpec spec;
    if (std::find(c.traces.layers.begin(), c.traces.layers.end(), node.name) != c.traces.layers.end()) {
      spec.vectors = c.traces.vectors;
      spec.first_image = c.first;
      spec.position_seed = InstanceTracePositionSeed(root);
      spec.read_seed = InstanceTraceReadSeed(root);
    }
    auto probe = std::make_unique<ProbeCore>(std::move(cores[static_cast<size_t>(index)]), node, index, spec);
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


Prepared Prepare(const ExperimentConfig& c) {
  const std::string src = c.source.empty() ? "experiment" : c.source;
  Prepared r;
  r.model = LoadQuantizedModel(c.qmodel);
  r.model.Validate(c.qmodel);
  const std::string test_path = c.test_data.empty() ? ResolveDataPath("") : c.test_data;
  const auto& chw = r.model.input_chw;
  if (IsImageFolder(test_path)) {
    if (chw[1] != chw[2])
      throw InputError(src + ": model.qmodel: the model takes " + std::to_string(chw[1]) + "×" + std::to_string(chw[2]) +
                       " inputs; an image folder's evaluation views are square");
    // The whole range [first, first + count) loaded; the runs read from `first` on (below).
    r.test = LoadFolderTestImages(test_path, 0, c.first + c.count, chw[1], c.resize, 2);
  } else {
    if (c.resize > 0) throw InputError(src + ": data.resize: only for an image folder; " + test_path + " is CIFAR-10");
    r.test = LoadCifar10(test_path, Cifar10Split::kTest, c.first + c.count);
  }
  if (c.first + c.count > r.test.size())
    throw InputError(src + ": data: images [" + std::to_string(c.first) + ", " + std::to_string(c.first + c.count) +
                     ") do not exist; " + test_path + " holds " + std::to_string(r.test.available) + " images");
  if (chw[0] != kCifarChannels || chw[1] != r.test.height || chw[2] != r.test.width)
    throw InputError(src + ": model.qmodel: the model takes " + std::to_string(chw[0]) + "×" + std::to_string(chw[1]) +
                     "×" + std::to_string(chw[2]) + " inputs, the images of " + test_path + " are 3×" +
                     std::to_string(r.test.height) + "×" + std::to_string(r.test.width));
  r.points = ExpandSweep(c);
  for (const ExperimentPoint& p : r.points) r.plans.push_back(ResolvePlacement(r.model, p.placement, src));
  for (const std::string& layer : c.traces.layers)
    if (std::find(r.plans[0].mvm_layers.begin(), r.plans[0].mvm_layers.end(), layer) == r.plans[0].mvm_layers.end())
      throw InputError(src + ": traces.layers: '" + layer + "' is not a conv/linear layer of the model");
  CheckPoints(c, r.model, r.points, r.plans);
  return r;
}

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

std::function<void(H5File&)> ProvenanceWriter(const RunFiles& f) {
  if (f.provenance == nullptr) return {};
  return [p = f.provenance](H5File& h) { WriteProvenance(h, *p); };
}

void MakeDirectory(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw InputError(dir + ": cannot create the output directory: " + ec.message());
}

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

std::map<int, CalibrationInputs> CalibrationActivations(const ExperimentConfig& c, const Prepared& r) {
  if (c.calibration.kind != CalibrationKind::kAuto || c.calibration.inputs != CalibrationInputKind::kActivations)
    return {};
  const std::vector<int> nodes = CimAtAnyPoint(r);
  return TrainingActivationInputs(r.model, nodes, ResolveDataPath(c.calibration.data), c.calibration.images,
                                  c.calibration.params);
}

OutputStatisticsInputs StatisticsInputs(const ExperimentConfig& c, const Prepared& r, ThreadPool& pool) {
  OutputStatisticsInputs in;
  if (!c.output_statistics) return in;
  const std::vector<int> nodes = CimAtAnyPoint(r);
  const OutputStatisticsParams& s = *c.output_statistics;
  in.images = TrainingSubsetPixels(r.model, ResolveDataPath(s.data), s.images, s.seed);
  in.count = s.images;
  in.reference = ReferenceMoments(r.model, nodes, in.images.data(), in.count, pool);
  return in;
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

}  // namespace cimsim::run_support
