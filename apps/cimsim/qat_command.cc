// cimsim qat — quantization-aware fine-tuning of a float model into an integer model (docs/training.md).
//
// 1. The plan (quant config or --w-bits/--a-bits) is resolved with QAT allowed; a post-training
//    quantization of the float model with every layer PTQ (calibration images of the plan) fixes the
//    integer graph and initial scales.
// 2. The QAT network (train/qat_network.h) trains with the loop of cimsim train (checkpoints, log,
//    --resume, SIGINT/SIGTERM).
// 3. Export: DIR/model_q.h5 in the quantized model format (cimsim infer / calibrate / experiment run
//    it unchanged), DIR/model_float.h5 the latent float network (train/qat_network.h: the trained
//    weights without their quantizers — the --model of a further QAT run at fewer bits), and a check on the test images: the integer engine's predictions against the QAT
//    network's own (fake-quantized) predictions, mismatches counted and printed (DIR/qat_summary.json).
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "apps/cimsim/stop_signal.h"
#include "apps/cimsim/train_support.h"
#include "common/error.h"
#include "common/progress.h"
#include "experiments/eval_report.h"
#include "experiments/qat_config.h"
#include "experiments/quant_config_json.h"
#include "nets/checkpoint.h"
#include "nets/integer_network.h"
#include "nets/quantize_network.h"
#include "nets/quantized_checkpoint.h"
#include "train/qat_network.h"

namespace cimsim::cli {
namespace po = boost::program_options;
namespace {

bool IsQuantizerParam(const std::string& name) {
  for (const char* suffix : {"_step", "_clip", "_alpha"}) {
    const std::string s(suffix);
    if (name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) return true;
  }
  return false;
}

// Predictions of the QAT network and of the integer engine of its export on the test images.
struct ExportCheck {
  int64_t images = 0, mismatches = 0, qat_correct = 0, integer_correct = 0;
};

ExportCheck CheckExport(Network& qat_net, const Normalizer& input, const QuantizedModel& model, const Cifar10Set& test,
                        int64_t count, int threads) {
  ThreadPool pool(threads);
  IntegerNetwork engine(model);
  ExportCheck c;
  c.images = count;
  const int64_t batch = 200, classes = model.num_classes;
  const int64_t H = test.height, W = test.width, image_values = test.image_bytes();
  Tensor images({batch, kCifarChannels, H, W}), logits;
  std::vector<int32_t> int_logits(static_cast<size_t>(batch * classes));
  Progress progress = Progress::ToStderr("export check", count);
  for (int64_t first = 0; first < count; first += batch) {
    const int64_t n = std::min(batch, count - first);
    images.Resize({n, kCifarChannels, H, W});
    for (int64_t i = 0; i < n; ++i) input.Apply(test.image(first + i), H * W, images.data() + i * image_values);
    qat_net.Forward(images, logits, pool);
    engine.Forward(test.image(first), n, int_logits.data(), pool, first);
    for (int64_t i = 0; i < n; ++i) {
      const float* f = logits.data() + i * classes;
      const int32_t* q = int_logits.data() + i * classes;
      const int64_t pf = std::max_element(f, f + classes) - f, pq = std::max_element(q, q + classes) - q;
      const int label = test.labels[static_cast<size_t>(first + i)];
      c.mismatches += pf != pq;
      c.qat_correct += pf == label;
      c.integer_correct += pq == label;
    }
    progress.Add(n);
  }
  progress.Finish();
  return c;
}

// The first conv and the last linear of the uniform (flag) plan stay at 8 bits, post-training.
void KeepEndsAt8Bits(QuantPlan& plan, const std::vector<std::string>& names) {
  for (const std::string& name : {names.front(), names.back()}) {
    LayerRule rule;
    rule.pattern = name;
    rule.set.weight_bits = 8;
    rule.set.activation_bits = 8;
    rule.set.mode = QuantMode::kPtq;
    rule.where = "flags (first/last layer at 8 bits)";
    plan.rules.push_back(rule);
  }
}

}  // namespace

int QatCommand(const std::vector<std::string>& args) {
  std::string config_path, method, batch_norm;
  int w_bits = 0, a_bits = 0;
  TrainFlagValues v;
  po::options_description desc(
      "cimsim qat: quantization-aware fine-tuning into an integer model (docs/training.md)\n"
      "usage: cimsim qat --config qat.json --out DIR [--resume]\n"
      "       cimsim qat --model M.h5 --w-bits B --a-bits B [--method lsq|dsq|auto] --out DIR [...]\noptions");
  desc.add_options()("help,h", "show this help")("config", po::value(&config_path), "QAT config, JSON (docs/training.md)")(
      "w-bits", po::value(&w_bits), "weight bits of every layer but the first and last (8 bits)")(
      "a-bits", po::value(&a_bits), "activation bits likewise")(
      "method", po::value(&method), "lsq, dsq (QAT for every such layer) or auto (the hybrid rule); default auto")(
      "batch-norm", po::value(&batch_norm), "folded (into the weights before QAT; default) or train (batch statistics, folded at export)");
  AddTrainFlags(desc, v);
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  if (config_path.empty() && !vm.count("model"))
    throw InputError("give --config qat.json, or --model M.h5 with --w-bits and --a-bits");
  QatConfig qc = config_path.empty() ? DefaultQatConfig() : LoadQatConfig(config_path);
  QatFlags qf;
  if (vm.count("w-bits")) qf.weight_bits = w_bits;
  if (vm.count("a-bits")) qf.activation_bits = a_bits;
  if (vm.count("method")) qf.method = method;
  if (vm.count("batch-norm")) qf.batch_norm = batch_norm;
  ApplyQatFlags(qf, qc);
  if (!qc.plan_given) throw InputError("no quantization plan: give \"quant\" in the config, or --w-bits and --a-bits");
  qc.train = ResolveTrainConfig(vm, v, qc.train);
  if (qc.train.init_model.empty())
    throw InputError((config_path.empty() ? std::string("flags") : config_path) +
                     ": model: cimsim qat fine-tunes a float model; give model.init or --model");
  const TrainConfig& c = qc.train;
  if (qc.batch_norm_freeze_after && *qc.batch_norm_freeze_after >= c.epochs)
    throw InputError((c.source.empty() ? std::string("flags") : c.source) + ": batch_norm_freeze_after = " +
                     std::to_string(*qc.batch_norm_freeze_after) + " is out of range; allowed 0.." +
                     std::to_string(c.epochs - 1) + " (fewer than the " + std::to_string(c.epochs) + " epochs)");

  LoadedModel float_model = LoadModel(c.init_model);
  const std::vector<std::string> names = MvmLayerNames(float_model.net);
  if (qc.plan.source == "flags") KeepEndsAt8Bits(qc.plan, names);
  const std::vector<ResolvedLayer> layers = qc.plan.Resolve(names, true);
  if (qc.oscillation_dampening)
    for (const ResolvedLayer& l : layers)
      if (l.params.weight_grid == WeightGrid::kFull)
        throw InputError((c.source.empty() ? std::string("flags") : c.source) +
                         ": oscillation_dampening: the dampening term is defined on the symmetric weight grid, but layer " +
                         l.name + " has \"weight_grid\": \"full\"; drop one of the two");
  std::optional<HardwareAwareParams> hardware_aware;  // checked before any work
  if (qc.hardware_aware) hardware_aware = qc.hardware_aware->Resolve(names);
  std::optional<Network> teacher = LoadTeacher(c, float_model.spec);
  TrainData data = LoadTrainData(c);
  CheckLabelsFit(data, float_model.spec.num_classes, c.source.empty() ? "flags" : c.source);

  // 1. The integer graph and initial scales: every layer post-training.
  std::vector<ResolvedLayer> ptq = layers;
  for (ResolvedLayer& l : ptq) l.mode = QuantMode::kPtq;
  const PlannedCalibration cal = PlanCalibration(data.train, qc.plan.calibration);
  const CalibrationImages cal_images = LoadCalibrationImages(data, c, cal.indices);
  Progress cal_progress = Progress::ToStderr("calibrate", static_cast<int64_t>(cal_images.indices.size()));
  QuantizedModel base = QuantizeNetwork(float_model.net, float_model.spec, ptq, *cal_images.set, cal_images.indices,
                                        cal.options, &cal_progress);
  cal_progress.Finish();
  // The post-training codes are symmetric, so they lie on a full grid as well; the LSQ layers that
  // asked for it train on it from here on (quant/weight_grid.h).
  for (const ResolvedLayer& l : layers)
    for (QNode& n : base.nodes)
      if (n.name == l.name && (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear)) n.weight_grid = l.params.weight_grid;
  std::map<std::string, QatMethod> methods;
  for (const ResolvedLayer& l : layers)
    methods[l.name] = l.mode == QuantMode::kPtq ? QatMethod::kFixed
                      : l.params.qat_method == QatAlgorithm::kLsq ? QatMethod::kLsq
                                                                 : QatMethod::kDsq;
  std::unique_ptr<QatNetwork> qat = BuildQatNetwork(base, float_model.net, methods, qc.batch_norm);
  if (hardware_aware) EnableHardwareAwareTraining(*qat, *hardware_aware, qc.hardware_aware->where);
  const Normalizer input = Normalizer::QuantizedInput(float_model.spec.input_norm, base.input_scale, base.input_lut);

  std::printf("%-22s %4s %4s %s\n", "layer", "W", "A_in", "method");
  for (const QNode& n : base.nodes)
    if (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear)
      std::printf("%-22s %4d %4d %s%s\n", n.name.c_str(), n.weight_bits, n.input_bits, std::string(ToString(methods[n.name])).c_str(),
                  n.weight_grid == WeightGrid::kFull ? " (full weight grid)" : "");

  const std::unique_ptr<BatchSource> batches = TrainingBatches(data, c, input);
  const std::unique_ptr<BatchSource> recalibration = RecalibrationBatches(data, c, input);
  TrainingJob job;
  job.net = &qat->net;
  job.input = &input;
  job.train = batches.get();
  job.recalibration = recalibration.get();
  job.test = &data.test;
  job.test_count = data.test_count;
  job.config = c;
  job.config_json = QatConfigToJson(qc);
  const std::string what = "QAT network of " + float_model.spec.Describe();
  const Provenance provenance = CommandProvenance("qat", args);
  job.write_model = [&](H5File& f) {
    WriteProvenance(f, provenance);
    f.WriteStringAttribute("/", "qat_of", c.init_model);
    WriteStateDict(f, qat->net);
  };
  job.read_model = [&](const H5File& f) { ReadStateDict(f, qat->net, what); };
  job.no_weight_decay = IsQuantizerParam;
  if (teacher) job.teacher = &*teacher;
  job.threads = v.threads;
  job.out_dir = v.out;
  job.resume = v.resume;
  job.stop = InstallStopHandlers();
  job.before_epoch = [&](int epoch) {
    if (hardware_aware) SetHardwareNoiseFactor(*qat, hardware_aware->EpochFactor(epoch));
    if (qc.batch_norm_freeze_after) FreezeBatchNormStatistics(*qat, epoch >= *qc.batch_norm_freeze_after);
  };
  if (qc.weight_freezing) EnableWeightFreezing(*qat);
  if (qc.oscillation_dampening || qc.weight_freezing)
    job.before_step = [&](double progress) {
      if (qc.oscillation_dampening) SetOscillationDampening(*qat, DampeningWeightAt(*qc.oscillation_dampening, progress));
      if (qc.weight_freezing)
        (void)TrackWeightOscillations(*qat, qc.weight_freezing->momentum, FreezingThresholdAt(*qc.weight_freezing, progress));
    };
  if (qc.weight_freezing)
    job.epoch_extras = [&] {
      const WeightFreezingCount n = CountFrozenWeights(*qat);
      return nlohmann::json{{"frozen_weights", n.frozen}, {"tracked_weights", n.tracked}};
    };
  if (!v.resume) {
    ThreadPool pool(v.threads);
    std::cerr << "cimsim qat: start (post-training scales): test accuracy "
              << TestAccuracy(qat->net, input, data.test, data.test_count, pool) << " % on " << data.test_count
              << " images\n";
  }
  const TrainingOutcome outcome = RunTraining(job);
  if (outcome.stopped) return FinishTraining(outcome, c, v.out, "qat");

  // 3. Export and check.
  const std::string out_model = (std::filesystem::path(v.out) / "model_q.h5").string();
  const QuantizedModel exported = ExportQuantizedModel(
      *qat, float_model.spec.Describe() + " QAT from " + c.init_model, out_model);
  SaveQuantizedModel(exported, out_model,
                     {{"source_model", c.init_model}, {"calibration_data", c.data}, {"quant_config", QatConfigToJson(qc).dump()}},
                     &provenance);
  // The latent float network: the start of another QAT run (e.g. W3A3 → W2A2), or a float model.
  WriteLatentFloatNetwork(*qat, float_model.net);
  SaveModel((std::filesystem::path(v.out) / "model_float.h5").string(), float_model.spec, float_model.net, &provenance);
  const ExportCheck check = CheckExport(qat->net, input, exported, data.test, data.test_count, v.threads);
  nlohmann::json summary = {{"test_data", c.test_data},
                            {"images", check.images},
                            {"qat_top1", 100.0 * static_cast<double>(check.qat_correct) / static_cast<double>(check.images)},
                            {"integer_top1", 100.0 * static_cast<double>(check.integer_correct) / static_cast<double>(check.images)},
                            {"prediction_mismatches", check.mismatches},
                            {"model", out_model},
                            {"bn_recalibration", outcome.recalibration ? outcome.recalibration->ToJson() : nlohmann::json()},
                            {"provenance", ProvenanceJson(provenance)}};
  WriteJsonAtomically((std::filesystem::path(v.out) / "qat_summary.json").string(), summary);
  const int code = FinishTraining(outcome, c, v.out, "qat");
  std::printf("wrote %s; on %lld test images: QAT network %.2f %%, integer engine %.2f %%, %lld prediction mismatches\n",
              out_model.c_str(), static_cast<long long>(check.images), summary["qat_top1"].get<double>(),
              summary["integer_top1"].get<double>(), static_cast<long long>(check.mismatches));
  return code;
}

}  // namespace cimsim::cli
