#include "experiments/train_config.h"

#include <cmath>

#include "common/error.h"
#include "experiments/config_file.h"

namespace cimsim {
namespace {

constexpr std::string_view kTrainKeys[] = {"model",        "data",   "test_data", "train_images", "train_ranges", "train_repeat", "test_images",
                                           "epochs",       "batch_size", "seed",  "augment",      "optimizer",
                                           "schedule",     "distill", "bn_recalibration_images", "bn_recalibration_ranges",
                                           "weight_average", "image_folder"};

void ReadModel(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"init",       "arch",       "depth",     "shortcut", "num_classes",
                                               "vgg_config", "input_mean", "input_std", "init_seed", "stem"};
  r.RequireObject(j, "model");
  r.CheckKeys(j, "model", kKeys);
  if (j.contains("init")) {
    for (std::string_view k : {"arch", "depth", "shortcut", "num_classes", "vgg_config", "input_mean", "input_std", "init_seed", "stem"})
      if (j.contains(k)) r.Fail(Child("model", k), "not allowed with model.init (the model file fixes the architecture)");
    c.init_model = r.String(j["init"], "model.init");
    if (c.init_model.empty()) r.Fail("model.init", "must name a float model file");
    return;
  }
  if (!j.contains("arch")) r.Fail("model", "needs \"init\" (a float model file) or \"arch\" (train from scratch)");
  c.spec.arch = r.String(j["arch"], "model.arch");
  if (j.contains("depth")) c.spec.depth = r.Int(j["depth"], "model.depth");
  if (IsFourStageResNetDepth(c.spec.depth)) c.spec.shortcut = 'B';  // their only option, as in model files
  if (j.contains("shortcut")) {
    const std::string s = r.String(j["shortcut"], "model.shortcut");
    if (s != "A" && s != "B") r.Fail("model.shortcut", Show(j["shortcut"]) + " is not a shortcut option; allowed \"A\", \"B\"");
    c.spec.shortcut = s[0];
  }
  if (j.contains("num_classes")) c.spec.num_classes = static_cast<int>(r.Integer(j["num_classes"], "model.num_classes", 2, 100000));
  if (j.contains("vgg_config")) c.spec.vgg_config = r.String(j["vgg_config"], "model.vgg_config");
  if (j.contains("stem")) {
    c.spec.stem = r.String(j["stem"], "model.stem");
    if (c.spec.stem != "cifar" && c.spec.stem != "imagenet")
      r.Fail("model.stem", Show(j["stem"]) + " is not a stem; allowed \"cifar\", \"imagenet\" (ResNet-18/34 only)");
  }
  for (const char* key : {"input_mean", "input_std"}) {
    if (!j.contains(key)) continue;
    const std::string path = Child("model", key);
    if (!j[key].is_array() || j[key].size() != 3) r.Fail(path, "expected an array of 3 numbers");
    auto& target = std::string_view(key) == "input_mean" ? c.spec.input_norm.mean : c.spec.input_norm.std;
    for (size_t i = 0; i < 3; ++i) target[i] = r.Number(j[key][i], Element(path, i));
  }
  if (j.contains("init_seed")) c.init_seed = r.Unsigned64(j["init_seed"], "model.init_seed");
}

void ReadOptimizer(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"lr", "momentum", "weight_decay", "nesterov"};
  r.RequireObject(j, "optimizer");
  r.CheckKeys(j, "optimizer", kKeys);
  if (j.contains("lr")) c.schedule.base_lr = r.Number(j["lr"], "optimizer.lr");
  if (j.contains("momentum")) c.sgd.momentum = r.Number(j["momentum"], "optimizer.momentum");
  if (j.contains("weight_decay")) c.sgd.weight_decay = r.Number(j["weight_decay"], "optimizer.weight_decay");
  if (j.contains("nesterov")) c.sgd.nesterov = r.Bool(j["nesterov"], "optimizer.nesterov");
}

void ReadSchedule(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"kind", "milestones", "gamma", "min_lr", "warmup_epochs",
                                               "warmup_start_factor"};
  r.RequireObject(j, "schedule");
  r.CheckKeys(j, "schedule", kKeys);
  if (j.contains("kind")) c.schedule.kind = r.String(j["kind"], "schedule.kind");
  if (j.contains("milestones")) {
    if (!j["milestones"].is_array()) r.Fail("schedule.milestones", "expected an array of epochs");
    c.schedule.milestones.clear();
    for (size_t i = 0; i < j["milestones"].size(); ++i)
      c.schedule.milestones.push_back(r.Number(j["milestones"][i], Element("schedule.milestones", i)));
  }
  if (j.contains("gamma")) c.schedule.gamma = r.Number(j["gamma"], "schedule.gamma");
  if (j.contains("min_lr")) c.schedule.min_lr = r.Number(j["min_lr"], "schedule.min_lr");
  if (j.contains("warmup_epochs")) c.schedule.warmup_epochs = r.Number(j["warmup_epochs"], "schedule.warmup_epochs");
  if (j.contains("warmup_start_factor"))
    c.schedule.warmup_start_factor = r.Number(j["warmup_start_factor"], "schedule.warmup_start_factor");
}

void ReadDistill(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"teacher", "temperature", "weight"};
  r.RequireObject(j, "distill");
  r.CheckKeys(j, "distill", kKeys);
  c.distill_enabled = true;
  if (j.contains("teacher")) {
    c.distill_teacher = r.String(j["teacher"], "distill.teacher");
    if (c.distill_teacher.empty()) r.Fail("distill.teacher", "must name a float model file");
  }
  if (j.contains("temperature")) c.distill.temperature = r.Number(j["temperature"], "distill.temperature");
  if (j.contains("weight")) c.distill.weight = r.Number(j["weight"], "distill.weight");
}

void ReadWeightAverage(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"decay", "start_epoch"};
  r.RequireObject(j, "weight_average");
  r.CheckKeys(j, "weight_average", kKeys);
  WeightAverageParams w;
  if (j.contains("decay")) w.decay = r.Number(j["decay"], "weight_average.decay");
  if (j.contains("start_epoch"))
    w.start_epoch = static_cast<int>(r.Integer(j["start_epoch"], "weight_average.start_epoch", 0, 100000));
  c.weight_average = w;
}

std::string_view ToString(BadImagePolicy p) { return p == BadImagePolicy::kSkip ? "skip" : "error"; }
constexpr BadImagePolicy kBadImagePolicies[] = {BadImagePolicy::kError, BadImagePolicy::kSkip};

void ReadImageFolder(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"crop", "resize", "scale", "ratio", "flip", "decode_threads", "bad_images", "val_list"};
  r.RequireObject(j, "image_folder");
  r.CheckKeys(j, "image_folder", kKeys);
  ImageFolderConfig f;
  ImagePipelineParams& p = f.pipeline;
  if (j.contains("crop")) p.crop = static_cast<int>(r.Integer(j["crop"], "image_folder.crop", 8, 4096));
  p.resize = j.contains("resize") ? static_cast<int>(r.Integer(j["resize"], "image_folder.resize", p.crop, 8192))
                                  : DefaultResize(p.crop);
  for (const char* key : {"scale", "ratio"}) {
    if (!j.contains(key)) continue;
    const std::string path = Child("image_folder", key);
    if (!j[key].is_array() || j[key].size() != 2) r.Fail(path, "expected [min, max]");
    double& lo = std::string_view(key) == "scale" ? p.scale_min : p.ratio_min;
    double& hi = std::string_view(key) == "scale" ? p.scale_max : p.ratio_max;
    lo = r.Number(j[key][0], Element(path, 0));
    hi = r.Number(j[key][1], Element(path, 1));
  }
  if (j.contains("flip")) p.flip = r.Bool(j["flip"], "image_folder.flip");
  if (j.contains("decode_threads"))
    f.decode_threads = static_cast<int>(r.Integer(j["decode_threads"], "image_folder.decode_threads", 1, 256));
  if (j.contains("bad_images"))
    f.bad_images = r.Choice(j["bad_images"], "image_folder.bad_images", kBadImagePolicies, ToString, "a bad-image policy");
  if (j.contains("val_list")) {
    f.val_list = r.String(j["val_list"], "image_folder.val_list");
    if (f.val_list.empty()) r.Fail("image_folder.val_list", "must name a labels file (or leave the key out)");
  }
  p.Validate(r.Where("image_folder"));
  c.image_folder = f;
}

// A non-empty [[begin, end], …] of record indices under `key`.
std::vector<RecordRange> ReadRecordRanges(const JsonReader& r, const nlohmann::json& a, const std::string& key) {
  if (!a.is_array() || a.empty()) r.Fail(key, Show(a) + " is not a non-empty array of [begin, end] pairs");
  std::vector<RecordRange> out;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::string at = Element(key, i);
    if (!a[i].is_array() || a[i].size() != 2) r.Fail(at, Show(a[i]) + " is not a [begin, end] pair of record indices");
    out.push_back({r.Integer(a[i][0], Element(at, 0), 0, int64_t{1} << 40), r.Integer(a[i][1], Element(at, 1), 0, int64_t{1} << 40)});
  }
  return out;
}

nlohmann::json RecordRangesJson(const std::vector<RecordRange>& ranges) {
  nlohmann::json out = nlohmann::json::array();
  for (const RecordRange& r : ranges) out.push_back({r.begin, r.end});
  return out;
}

// "train_repeat": {"ranges": [[begin, end], …], "times": k}, both required.
void ReadTrainRepeat(const JsonReader& r, const nlohmann::json& j, TrainConfig& c) {
  static constexpr std::string_view kKeys[] = {"ranges", "times"};
  r.RequireObject(j, "train_repeat");
  r.CheckKeys(j, "train_repeat", kKeys);
  for (std::string_view k : kKeys)
    if (!j.contains(k)) r.Fail(Child("train_repeat", k), "required (the records to repeat, and how many times an epoch)");
  c.repeat_ranges = ReadRecordRanges(r, j["ranges"], "train_repeat.ranges");
  c.repeat_times = static_cast<int>(r.Integer(j["times"], "train_repeat.times", 1, 100));
}

}  // namespace

void ReadTrainKeys(const JsonReader& r, const nlohmann::json& j, TrainConfig& c,
                   std::span<const std::string_view> extra_keys) {
  r.RequireObject(j, "");
  std::vector<std::string_view> allowed(std::begin(kTrainKeys), std::end(kTrainKeys));
  allowed.insert(allowed.end(), extra_keys.begin(), extra_keys.end());
  r.CheckKeys(j, "", allowed);
  if (j.contains("model")) ReadModel(r, j["model"], c);
  if (j.contains("data")) c.data = r.String(j["data"], "data");
  if (j.contains("test_data")) c.test_data = r.String(j["test_data"], "test_data");
  if (j.contains("train_images")) c.train_images = r.Integer(j["train_images"], "train_images", 0, 50000);
  if (j.contains("train_ranges")) c.train_ranges = ReadRecordRanges(r, j["train_ranges"], "train_ranges");
  if (j.contains("train_repeat")) ReadTrainRepeat(r, j["train_repeat"], c);
  if (j.contains("test_images")) c.test_images = r.Integer(j["test_images"], "test_images", 0, 10000000);
  if (j.contains("epochs")) c.epochs = static_cast<int>(r.Integer(j["epochs"], "epochs", 1, 100000));
  if (j.contains("batch_size")) c.batches.batch_size = r.Integer(j["batch_size"], "batch_size", 1, 65536);
  if (j.contains("seed")) c.batches.seed = r.Unsigned64(j["seed"], "seed");
  if (j.contains("augment")) c.batches.augment = r.Bool(j["augment"], "augment");
  if (j.contains("optimizer")) ReadOptimizer(r, j["optimizer"], c);
  if (j.contains("schedule")) ReadSchedule(r, j["schedule"], c);
  if (j.contains("distill")) ReadDistill(r, j["distill"], c);
  if (j.contains("bn_recalibration_images"))
    c.bn_recalibration_images = r.Integer(j["bn_recalibration_images"], "bn_recalibration_images", 0, 50000);
  if (j.contains("bn_recalibration_ranges"))
    c.bn_recalibration_ranges = ReadRecordRanges(r, j["bn_recalibration_ranges"], "bn_recalibration_ranges");
  if (j.contains("weight_average")) ReadWeightAverage(r, j["weight_average"], c);
  if (j.contains("image_folder")) ReadImageFolder(r, j["image_folder"], c);
}

void ValidateTrainConfig(const TrainConfig& c, const std::string& where) {
  const std::string p = where.empty() ? "" : where + ": ";
  if (c.init_model.empty()) c.spec.Validate(where + " (model)");
  if (c.image_folder && c.train_images != 0)
    throw InputError(p + "train_images: " + std::to_string(c.train_images) +
                     " — a training subset is drawn from CIFAR-10 only; with image_folder train on the whole "
                     "train/ folder (0), or make a smaller folder");
  if (c.image_folder && !c.train_ranges.empty())
    throw InputError(p + "train_ranges: a record selection applies to CIFAR-10 files only; with image_folder make a "
                     "folder of the images to train on");
  ValidateRecordRanges(c.train_ranges, p + "train_ranges");
  if (c.train_images > RecordCount(c.train_ranges) && !c.train_ranges.empty())
    throw InputError(p + "train_images: " + std::to_string(c.train_images) + " exceeds the " +
                     std::to_string(RecordCount(c.train_ranges)) + " records of train_ranges");
  if (!c.repeat_ranges.empty()) {
    if (c.image_folder)
      throw InputError(p + "train_repeat: a record selection applies to CIFAR-10 files only, not with image_folder");
    if (!c.train_ranges.empty())
      throw InputError(p + "train_repeat: not with train_ranges (its ranges count records of the whole training "
                       "split); give one of the two");
    ValidateRecordRanges(c.repeat_ranges, p + "train_repeat.ranges");
    if (c.repeat_times < 1 || c.repeat_times > 100)
      throw InputError(p + "train_repeat.times: " + std::to_string(c.repeat_times) + " is out of range; allowed 1..100");
  }
  if (c.image_folder && !c.batches.augment)
    throw InputError(p + "augment: false — with image_folder the training views are the augmentation; to train "
                     "without it set image_folder.scale [1, 1], image_folder.ratio to the images' aspect and "
                     "image_folder.flip false");
  if (c.train_images % 10 != 0)
    throw InputError(p + "train_images: " + std::to_string(c.train_images) +
                     " is not a multiple of 10 (a class-balanced subset takes train_images / 10 per class)");
  if (c.batches.batch_size < 1 || c.batches.batch_size > 65536)
    throw InputError(p + "batch_size: " + std::to_string(c.batches.batch_size) + " is out of range; allowed 1..65536");
  if (c.epochs < 1) throw InputError(p + "epochs: " + std::to_string(c.epochs) + " is out of range; allowed >= 1");
  if (!(c.schedule.base_lr > 0) || !std::isfinite(c.schedule.base_lr))
    throw InputError(p + "optimizer.lr: " + std::to_string(c.schedule.base_lr) + " is out of range; allowed > 0 (finite)");
  c.sgd.Validate(p + "optimizer");
  LrScheduleParams s = c.schedule;
  s.epochs = c.epochs;
  s.Validate(p + "schedule");
  if (c.bn_recalibration_images != 0 && c.bn_recalibration_images < c.batches.batch_size)
    throw InputError(p + "bn_recalibration_images: " + std::to_string(c.bn_recalibration_images) +
                     " is fewer than one batch (batch_size " + std::to_string(c.batches.batch_size) +
                     "); allowed 0 (off) or batch_size..50000");
  if (!c.bn_recalibration_ranges.empty()) {
    if (c.bn_recalibration_images == 0)
      throw InputError(p + "bn_recalibration_ranges: set, but bn_recalibration_images is 0 (no recalibration); give both or neither");
    if (c.image_folder)
      throw InputError(p + "bn_recalibration_ranges: a record selection applies to CIFAR-10 files only, not with image_folder");
    ValidateRecordRanges(c.bn_recalibration_ranges, p + "bn_recalibration_ranges");
  }
  if (c.weight_average) {
    const WeightAverageParams& w = *c.weight_average;
    if (!(w.decay > 0.0 && w.decay < 1.0))
      throw InputError(p + "weight_average.decay: " + std::to_string(w.decay) + " is out of range; allowed (0, 1), e.g. 0.999");
    if (w.start_epoch < 0 || w.start_epoch >= c.epochs)
      throw InputError(p + "weight_average.start_epoch: " + std::to_string(w.start_epoch) + " is out of range; allowed 0.." +
                       std::to_string(c.epochs - 1) + " (an epoch of the run, 0-based)");
  }
  if (c.distill_enabled) {
    if (c.distill_teacher.empty())
      throw InputError(p + "distill.teacher: required when training from scratch (there is no model.init to distil from)");
    c.distill.Validate(p + "distill");
  }
}

nlohmann::json TrainConfigToJson(const TrainConfig& c) {
  nlohmann::json model;
  if (!c.init_model.empty()) {
    model["init"] = c.init_model;
  } else {
    model["arch"] = c.spec.arch;
    model["depth"] = c.spec.depth;
    model["shortcut"] = std::string(1, c.spec.shortcut);
    model["num_classes"] = c.spec.num_classes;
    if (!c.spec.vgg_config.empty()) model["vgg_config"] = c.spec.vgg_config;
    if (c.spec.stem != "cifar") model["stem"] = c.spec.stem;  // absent for CIFAR: old checkpoints' configs still match
    model["input_mean"] = c.spec.input_norm.mean;
    model["input_std"] = c.spec.input_norm.std;
    model["init_seed"] = c.init_seed;
  }
  nlohmann::json j;
  j["model"] = model;
  j["data"] = c.data;
  j["test_data"] = c.test_data;
  j["train_images"] = c.train_images;
  // absent when unset: checkpoints written before the key still match
  if (!c.train_ranges.empty()) j["train_ranges"] = RecordRangesJson(c.train_ranges);
  if (!c.repeat_ranges.empty())  // absent when unset, as train_ranges
    j["train_repeat"] = {{"ranges", RecordRangesJson(c.repeat_ranges)}, {"times", c.repeat_times}};
  j["test_images"] = c.test_images;
  j["epochs"] = c.epochs;
  j["batch_size"] = c.batches.batch_size;
  j["seed"] = c.batches.seed;
  j["augment"] = c.batches.augment;
  j["optimizer"] = {{"lr", c.schedule.base_lr},
                    {"momentum", c.sgd.momentum},
                    {"weight_decay", c.sgd.weight_decay},
                    {"nesterov", c.sgd.nesterov}};
  j["schedule"] = {{"kind", c.schedule.kind},
                   {"milestones", c.schedule.milestones},
                   {"gamma", c.schedule.gamma},
                   {"min_lr", c.schedule.min_lr},
                   {"warmup_epochs", c.schedule.warmup_epochs},
                   {"warmup_start_factor", c.schedule.warmup_start_factor}};
  // Only when set, so that checkpoints of runs without distillation still resume.
  if (c.distill_enabled)
    j["distill"] = {{"teacher", c.distill_teacher}, {"temperature", c.distill.temperature}, {"weight", c.distill.weight}};
  // Only when set: a post-training step (it changes no trained weight), checkpoints resume without it.
  if (c.bn_recalibration_images > 0) j["bn_recalibration_images"] = c.bn_recalibration_images;
  if (!c.bn_recalibration_ranges.empty()) j["bn_recalibration_ranges"] = RecordRangesJson(c.bn_recalibration_ranges);
  // Only when set: checkpoints of runs without it still resume.
  if (c.weight_average) j["weight_average"] = {{"decay", c.weight_average->decay}, {"start_epoch", c.weight_average->start_epoch}};
  if (c.image_folder) {
    const ImagePipelineParams& p = c.image_folder->pipeline;
    j["image_folder"] = {{"crop", p.crop},
                         {"resize", p.resize},
                         {"scale", {p.scale_min, p.scale_max}},
                         {"ratio", {p.ratio_min, p.ratio_max}},
                         {"flip", p.flip},
                         {"decode_threads", c.image_folder->decode_threads},
                         {"bad_images", ToString(c.image_folder->bad_images)}};
    if (!c.image_folder->val_list.empty()) j["image_folder"]["val_list"] = c.image_folder->val_list;
  }
  return j;
}

TrainConfig ParseTrainConfig(const nlohmann::json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  TrainConfig c;
  c.batches.augment = true;
  c.source = source;
  ReadTrainKeys(r, j, c);
  return c;
}

TrainConfig LoadTrainConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kTrain);
  return AnnotatingErrors(doc, [&] { return ParseTrainConfig(doc.json, path); });
}

void ApplyTrainFlags(const TrainFlags& flags, TrainConfig& c) {
  if (flags.model) {
    if (flags.model->empty()) throw InputError("--model: must name a float model file");
    c.init_model = *flags.model;
  }
  // The default teacher is the model being fine-tuned (after --model).
  if (c.distill_enabled && c.distill_teacher.empty()) c.distill_teacher = c.init_model;
  if (flags.epochs) {
    if (*flags.epochs < 1) throw InputError("--epochs: " + std::to_string(*flags.epochs) + " is out of range; allowed >= 1");
    c.epochs = *flags.epochs;
  }
  if (flags.lr) c.schedule.base_lr = *flags.lr;  // range checked with the schedule (ValidateTrainConfig)
  if (flags.batch_size) {
    if (*flags.batch_size < 1 || *flags.batch_size > 65536)
      throw InputError("--batch-size: " + std::to_string(*flags.batch_size) + " is out of range; allowed 1..65536");
    c.batches.batch_size = *flags.batch_size;
  }
}

}  // namespace cimsim
