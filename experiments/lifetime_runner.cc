// The lifetime state machine of one sweep point (experiments/lifetime_runner.h has the maths and streams).
#include "experiments/lifetime_runner.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>

#include "calib/drift_compensation.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "experiments/point_evaluation.h"
#include "experiments/probe_core.h"
#include "nets/integer_network.h"
#include "sim/aging_array.h"

namespace cimsim {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// The drift-reference input of a layer (its held-out calibration vectors) and its exact products.
struct Reference {
  LayerInputs input;
  std::vector<int32_t> exact;   // [N, n]
};

// One CIM layer of one instance.
struct LayerState {
  int node = 0;
  std::shared_ptr<const MvmCore> programmed;   // as first programmed, uncalibrated, read at calibrate_at
  std::shared_ptr<const MvmCore> calibrated;   // cal0: calibrated at calibrate_at
  std::vector<int32_t> reference;              // y_ref of cal0 (global)
  // The policy "reprogram": the layer's current programming m, calibrated at age calibrate_at.
  std::shared_ptr<const MvmCore> current;
  std::vector<int32_t> current_reference;
  double programmed_at = 0;                    // s_m
  int64_t generation = 0;                      // m
};

struct Instance {
  XbarConfig xbar;                             // seed + k, read_time = calibrate_at
  Rng root{0};                                 // R_k
  std::vector<LayerState> layers;              // CIM layers in node order
  int64_t reprograms = 0;                      // reprogram events so far (all layers)
};

// One layer under one policy at one time.
struct PolicyLayer {
  std::unique_ptr<MvmCore> core;
  double alpha = 1;
  double relative = 0;        // RelativeError of the core's read of the reference input
  bool reprogrammed = false;
};

class PointRunner {
 public:
  PointRunner(const LifetimeRun& run, const ExperimentPoint& point, const PlacementPlan& plan)
      : run_(run), c_(run.config), life_(*run.config.lifetime), point_(point), plan_(plan) {
    for (size_t i = 0; i < plan.cim.size(); ++i)
      if (plan.cim[i]) cim_nodes_.push_back(static_cast<int>(i));
  }

  void Run(const std::vector<bool>& finished,
           const std::function<void(std::vector<std::pair<int64_t, PointData>>&)>& done) {
    std::vector<Instance> instances;
    for (int64_t k = 0; k < c_.instances; ++k) instances.push_back(Setup(k));
    const int64_t T = static_cast<int64_t>(life_.times.size()), P = static_cast<int64_t>(life_.policies.size());
    for (int64_t i = 0; i < T; ++i) {
      std::vector<PointData> data(static_cast<size_t>(P));
      for (int64_t p = 0; p < P; ++p) Start(data[static_cast<size_t>(p)], i, p, instances[0].xbar);
      for (int64_t k = 0; k < c_.instances; ++k) {
        Instance& in = instances[static_cast<size_t>(k)];
        const Rng time_root = LifetimeTimeRoot(in.root, i);
        for (int64_t p = 0; p < P; ++p) {
          const LifetimePolicy policy = life_.policies[static_cast<size_t>(p)];
          const bool skip = finished[static_cast<size_t>(LifetimePointIndex(life_, point_.index, i, p))];
          if (skip && policy != LifetimePolicy::kReprogram) continue;   // reprogram: replay its decisions
          const auto start = Clock::now();
          RunPolicy(in, policy, i, time_root, skip ? nullptr : &data[static_cast<size_t>(p)]);
          data[static_cast<size_t>(p)].summary.seconds += std::chrono::duration<double>(Clock::now() - start).count();
        }
      }
      std::vector<std::pair<int64_t, PointData>> out;
      for (int64_t p = 0; p < P; ++p) {
        const int64_t index = LifetimePointIndex(life_, point_.index, i, p);
        if (finished[static_cast<size_t>(index)]) continue;
        PointData& d = data[static_cast<size_t>(p)];
        const AccuracyStats stats = Stats(d.summary.accuracy);
        d.summary.accuracy_mean = stats.mean;
        d.summary.accuracy_std = stats.std;
        out.emplace_back(index, std::move(d));
      }
      if (!out.empty()) done(out);
    }
  }

 private:
  const QNode& Node(int index) const { return run_.model.nodes[static_cast<size_t>(index)]; }

  std::unique_ptr<MvmCore> Calibrate(int node, const MvmCore& core) const {
    const ExperimentCalibration& cal = c_.calibration;
    const LayerCalibration fit = cal.inputs == CalibrationInputKind::kActivations
                                     ? CalibrateLayer(Node(node), core, run_.activations.at(node), cal.params)
                                     : CalibrateLayer(Node(node), core, cal.params);
    return ApplyCalibration(fit, core, "auto calibration");
  }

  std::unique_ptr<MvmCore> At(const MvmCore& core, int node, double t) const {
    const AgingArray* aging = core.Aging();
    if (aging == nullptr)
      throw InputError("layer " + Node(node).name + ": its core (\"" + std::string(core.Name()) +
                       "\") cannot be read at another time; \"lifetime\" needs a simulated chip");
    return aging->AtReadTime(t, "layer " + Node(node).name);
  }

  std::vector<int32_t> Read(const MvmCore& core, int node, uint64_t seed) const {
    Rng rng = DriftReadStream(seed, node);
    return ReadLayer(core, references_.at(node).input, &rng);
  }

  bool NeedsReference() const { return life_.Has(LifetimePolicy::kGlobal) || life_.Has(LifetimePolicy::kReprogram); }
  bool NeedsCalibrated() const { return NeedsReference() || life_.Has(LifetimePolicy::kNone); }

  // Instance k: programmed once, calibrated at calibrate_at, its drift reference read.
  Instance Setup(int64_t k) {
    Instance in;
    in.xbar = point_.xbar;
    in.xbar.seed = InstanceChipSeed(point_.xbar.seed, k);
    in.xbar.crossbar.read_time = life_.calibrate_at;
    in.root = ExperimentInstanceRoot(ExperimentPointRoot(c_.noise_seed, point_.index), k);
    const MvmCoreFactory chip = ChipCoreFactory(in.xbar);
    for (int node : cim_nodes_) {
      LayerState l;
      l.node = node;
      l.programmed = chip(Node(node), node);
      if (!references_.contains(node)) {
        Reference ref;
        ref.input = c_.calibration.inputs == CalibrationInputKind::kActivations
                        ? run_.activations.at(node).holdout
                        : RandomCalibrationInputs(*l.programmed, c_.calibration.params).holdout;
        ref.exact = ReadLayer(*MakeIdealCore(Node(node), node), ref.input, nullptr);
        references_.emplace(node, std::move(ref));
      }
      if (NeedsCalibrated()) l.calibrated = Calibrate(node, *l.programmed);
      if (NeedsReference()) l.reference = Read(*l.calibrated, node, LifetimeReferenceReadSeed(in.root, 0));
      l.current = l.calibrated;
      l.current_reference = l.reference;
      l.programmed_at = life_.calibrate_at;
      in.layers.push_back(std::move(l));
    }
    return in;
  }

  // The policy's core of layer l at time i (advancing the reprogram state), with α and its reference error.
  PolicyLayer Build(Instance& in, LayerState& l, LifetimePolicy policy, int64_t i, uint64_t read_seed) {
    const double t = life_.times[static_cast<size_t>(i)];
    const std::string& name = Node(l.node).name;
    PolicyLayer out;
    switch (policy) {
      case LifetimePolicy::kNone:
        out.core = At(*l.calibrated, l.node, t);
        break;
      case LifetimePolicy::kPerColumn:
        out.core = Calibrate(l.node, *At(*l.programmed, l.node, t));
        break;
      case LifetimePolicy::kGlobal: {
        const std::unique_ptr<MvmCore> aged = At(*l.calibrated, l.node, t);
        out.alpha = GlobalDriftFactor(l.reference, Read(*aged, l.node, read_seed));
        out.core = ScaleReadout(*aged, out.alpha, name);
        break;
      }
      case LifetimePolicy::kReprogram: {
        const double age = l.generation == 0 ? t : life_.calibrate_at + (t - l.programmed_at);
        const std::unique_ptr<MvmCore> aged = At(*l.current, l.node, age);
        out.alpha = GlobalDriftFactor(l.current_reference, Read(*aged, l.node, read_seed));
        out.core = ScaleReadout(*aged, out.alpha, name);
        const double metric = life_.reprogram->metric == ReprogramMetric::kError
                                  ? RelativeError(Read(*out.core, l.node, read_seed), references_.at(l.node).exact)
                                  : std::abs(out.alpha - 1);
        if (metric > life_.reprogram->threshold) {
          const int64_t generation = ++l.generation;
          ++in.reprograms;
          const uint64_t seed = in.xbar.seed;
          const MvmCoreFactory fresh =
              ChipCoreFactory(in.xbar, [seed, generation](int node) { return ChipReprogramStream(seed, node, generation); });
          const std::unique_ptr<MvmCore> programmed = fresh(Node(l.node), l.node);
          l.current = Calibrate(l.node, *programmed);
          l.current_reference = Read(*l.current, l.node, LifetimeReferenceReadSeed(in.root, generation));
          l.programmed_at = t;
          out.alpha = 1;
          out.core = At(*l.current, l.node, life_.calibrate_at);
          out.reprogrammed = true;
        }
        break;
      }
    }
    out.relative = RelativeError(Read(*out.core, l.node, read_seed), references_.at(l.node).exact);
    return out;
  }

  // One policy at time i for one instance: its layers, then (data non-null) the test images.
  void RunPolicy(Instance& in, LifetimePolicy policy, int64_t i, const Rng& time_root, PointData* data) {
    const uint64_t read_seed = LifetimeDriftReadSeed(time_root);
    const size_t nodes = run_.model.nodes.size();
    std::vector<std::unique_ptr<MvmCore>> cores(nodes);
    std::vector<double> alpha(nodes, 0.0), relative(nodes, 0.0);
    std::vector<int32_t> reprogrammed(nodes, 0);
    for (LayerState& l : in.layers) {
      PolicyLayer pl = Build(in, l, policy, i, read_seed);
      const size_t n = static_cast<size_t>(l.node);
      cores[n] = std::move(pl.core);
      alpha[n] = pl.alpha;
      relative[n] = pl.relative;
      reprogrammed[n] = pl.reprogrammed ? 1 : 0;
    }
    if (data == nullptr) return;
    if (run_.statistics.count > 0)
      CorrectOutputStatistics(run_.model, cores, run_.statistics, OutputStatisticsNoiseSeed(time_root));

    std::vector<const ProbeCore*> probes(nodes, nullptr);
    const auto traced = [&](const std::string& name) {
      return std::find(c_.traces.layers.begin(), c_.traces.layers.end(), name) != c_.traces.layers.end();
    };
    const auto factory = [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
      if (!plan_.cim[static_cast<size_t>(index)]) return MakeIdealCore(node, index);
      TraceSpec spec;
      if (traced(node.name)) {
        spec.vectors = c_.traces.vectors;
        spec.first_image = c_.first;
        spec.position_seed = InstanceTracePositionSeed(in.root);
        spec.read_seed = InstanceTraceReadSeed(time_root);
      }
      auto probe = std::make_unique<ProbeCore>(std::move(cores[static_cast<size_t>(index)]), node, index, spec);
      probes[static_cast<size_t>(index)] = probe.get();
      return probe;
    };
    IntegerNetwork net(run_.model, factory, c_.qmodel, InstanceNetworkNoiseSeed(time_root));
    const int64_t correct = CountCorrect(net, run_.test, c_.first, c_.count, run_.pool, run_.progress, run_.stop);

    PointData& d = *data;
    const int instance = static_cast<int>(d.correct.size());
    d.correct.push_back(correct);
    d.summary.accuracy.push_back(static_cast<double>(correct) / static_cast<double>(c_.count));
    d.summary.reprograms->push_back(policy == LifetimePolicy::kReprogram ? in.reprograms : 0);
    for (size_t n = 0; n < nodes; ++n) {
      const QNode& node = run_.model.nodes[n];
      if (node.kind != QNodeKind::kConv && node.kind != QNodeKind::kLinear) continue;
      const ProbeCore* probe = probes[n];
      d.dot_rmse.push_back(probe != nullptr ? probe->Rmse() : 0.0);
      d.summary.dot_relative.push_back(probe != nullptr ? probe->Relative() : 0.0);
      d.lifetime->drift_alpha.push_back(alpha[n]);
      d.lifetime->reference_relative.push_back(relative[n]);
      d.lifetime->reprogrammed.push_back(reprogrammed[n]);
      if (probe != nullptr && traced(node.name)) d.traces[node.name].Append(probe->Trace(instance));
    }
  }

  // The fixed parts of result point (time i, policy p).
  void Start(PointData& d, int64_t i, int64_t p, const XbarConfig& instance0) const {
    const double t = life_.times[static_cast<size_t>(i)];
    PointSummary& s = d.summary;
    s.index = LifetimePointIndex(life_, point_.index, i, p);
    s.params = LifetimePointParams(life_, point_, i, p);
    s.split = point_.placement.split;
    s.transmitted_bytes = plan_.transmitted_bytes;
    s.layers = plan_.mvm_layers;
    s.reprograms.emplace();
    d.cim_layers = plan_.cim_layers;
    d.images = c_.count;
    XbarConfig xbar = instance0;
    xbar.crossbar.read_time = t;
    d.xbar_json = XbarConfigToJson(xbar).dump();
    d.lifetime = PointData::Lifetime{};
    d.lifetime->chip_point = point_.index;
    d.lifetime->time_index = i;
    d.lifetime->time = t;
    d.lifetime->policy = std::string(ToString(life_.policies[static_cast<size_t>(p)]));
  }

  const LifetimeRun& run_;
  const ExperimentConfig& c_;
  const LifetimeParams& life_;
  const ExperimentPoint& point_;
  const PlacementPlan& plan_;
  std::vector<int> cim_nodes_;
  std::map<int, Reference> references_;   // by node, shared by the instances
};

}  // namespace

int64_t LifetimePointCount(const LifetimeParams& lifetime, int64_t chip_points) {
  return chip_points * static_cast<int64_t>(lifetime.times.size() * lifetime.policies.size());
}

int64_t LifetimePointIndex(const LifetimeParams& lifetime, int64_t g, int64_t time, int64_t policy) {
  const int64_t T = static_cast<int64_t>(lifetime.times.size()), P = static_cast<int64_t>(lifetime.policies.size());
  return (g * T + time) * P + policy;
}

json LifetimePointParams(const LifetimeParams& lifetime, const ExperimentPoint& point, int64_t time, int64_t policy) {
  json params = point.params;
  params["lifetime.time"] = SecondsToJson(lifetime.times[static_cast<size_t>(time)]);
  params["lifetime.policy"] = std::string(ToString(lifetime.policies[static_cast<size_t>(policy)]));
  return params;
}

void RunLifetimePoint(const LifetimeRun& run, const ExperimentPoint& point, const PlacementPlan& plan,
                      const std::vector<bool>& finished,
                      const std::function<void(std::vector<std::pair<int64_t, PointData>>&)>& done) {
  PointRunner(run, point, plan).Run(finished, done);
}

}  // namespace cimsim
