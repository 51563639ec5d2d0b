#include "experiments/training_run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>

#include "common/directory_lock.h"
#include "common/error.h"
#include "experiments/json_reader.h"
#include "experiments/training_log.h"
#include "common/progress.h"
#include "data/batcher.h"
#include "train/batch_norm_recalibration.h"
#include "train/distillation_loss.h"
#include "train/lr_schedule.h"
#include "train/sgd.h"
#include "train/softmax_cross_entropy.h"
#include "train/train_graph.h"
#include "train/weight_average.h"

namespace cimsim {
namespace {

constexpr const char* kCheckpoint = "checkpoint.h5";
constexpr const char* kMomentum = "/optimizer/momentum";
constexpr const char* kAverage = "/weight_average";

// The first key path where a and b differ ("" when equal).
std::string FirstDifference(const nlohmann::json& a, const nlohmann::json& b, const std::string& path) {
  if (a.type() != b.type() || !a.is_object()) return a == b ? "" : (path.empty() ? "(top level)" : path);
  for (auto it = a.begin(); it != a.end(); ++it) {
    const std::string child = path.empty() ? it.key() : path + "." + it.key();
    if (!b.contains(it.key())) return child;
    const std::string d = FirstDifference(it.value(), b[it.key()], child);
    if (!d.empty()) return d;
  }
  for (auto it = b.begin(); it != b.end(); ++it)
    if (!a.contains(it.key())) return path.empty() ? it.key() : path + "." + it.key();
  return "";
}

// The value at a dotted key path, or null when absent.
nlohmann::json AtPath(const nlohmann::json& j, const std::string& dotted) {
  const nlohmann::json* cur = &j;
  size_t start = 0;
  while (start <= dotted.size()) {
    const size_t dot = dotted.find('.', start);
    const std::string key = dotted.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return *cur;
}

// "<group>/<name>": appended, not `+` (GCC 12 warns falsely on the temporaries, -Warray-bounds).
std::string DatasetPath(const char* group, const std::string& name) {
  std::string dataset = group;
  dataset += '/';
  dataset += name;
  return dataset;
}

void ParamsChanged(Network& net) {
  for (NetworkNode& node : net.nodes()) node.layer->ParamsChanged();
}

void WriteCheckpoint(TrainingJob& job, const Sgd& sgd, const WeightAverage* average, int epochs_done) {
  const std::string path = (std::filesystem::path(job.out_dir) / kCheckpoint).string();
  H5File file = H5File::CreateAtomic(path);
  job.write_model(file);
  file.WriteIntAttribute("/", "train_epochs_done", epochs_done);
  file.WriteIntAttribute("/", "optimizer_steps", sgd.steps());
  file.WriteStringAttribute("/", "train_config", job.config_json.dump());
  for (size_t i = 0; i < sgd.buffers().size(); ++i) {
    const Tensor& b = sgd.buffers()[i];
    file.WriteFloatArray(DatasetPath(kMomentum, sgd.entries()[i].name), b.shape(), b.data());
  }
  if (average != nullptr && average->started())
    for (size_t i = 0; i < average->params().size(); ++i) {
      const Tensor& a = average->averages()[i];
      file.WriteFloatArray(DatasetPath(kAverage, average->params()[i].name), a.shape(), a.data());
    }
  file.Commit();
}

// Restores model, optimizer and epoch count; returns the epochs done.
int ReadCheckpoint(TrainingJob& job, Sgd& sgd, WeightAverage* average) {
  const std::string path = (std::filesystem::path(job.out_dir) / kCheckpoint).string();
  if (!std::filesystem::exists(path))
    throw InputError("--resume: no checkpoint " + path + " to resume from (run without --resume to start)");
  const H5File file = H5File::OpenRead(path);
  if (!file.HasAttribute("/", "train_config") || !file.HasAttribute("/", "train_epochs_done"))
    throw InputError(path + ": not a cimsim training checkpoint (no train_config / train_epochs_done attribute)");
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(file.ReadStringAttribute("/", "train_config"));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(path + ": train_config attribute is not valid JSON: " + e.what());
  }
  // The evaluation set and the BatchNorm recalibration after the last epoch do not change the
  // checkpointed weights: a resumed (or finished) run may be evaluated on another set, or recalibrated
  // with another image count.
  nlohmann::json now = job.config_json, then = saved;
  for (const char* key : {"test_data", "test_images", "bn_recalibration_images", "bn_recalibration_ranges"}) {
    now.erase(key);
    then.erase(key);
  }
  const std::string diff = FirstDifference(now, then, "");
  if (!diff.empty()) {
    throw InputError("--resume: " + path + " was written by a run with another config: key '" + diff +
                     "' differs (checkpoint: " + Show(AtPath(saved, diff)) + ", now: " + Show(AtPath(job.config_json, diff)) +
                     "); resume with the same config, or start a new --out directory");
  }
  job.read_model(file);
  const int64_t done = file.ReadIntAttribute("/", "train_epochs_done");
  if (done < 0 || done > job.config.epochs)
    throw InputError(path + ": train_epochs_done = " + std::to_string(done) + " is outside 0.." + std::to_string(job.config.epochs));
  for (size_t i = 0; i < sgd.buffers().size(); ++i) {
    Tensor& b = sgd.buffers()[i];
    const std::vector<double> v = file.ReadFiniteArray(DatasetPath(kMomentum, sgd.entries()[i].name), b.shape());
    for (size_t k = 0; k < v.size(); ++k) b[static_cast<int64_t>(k)] = static_cast<float>(v[k]);
  }
  // The average exists once an epoch of it has been completed (the config matched, so start_epoch did).
  if (average != nullptr && done > job.config.weight_average->start_epoch) {
    for (size_t i = 0; i < average->params().size(); ++i) {
      Tensor& a = average->averages()[i];
      const std::vector<double> v = file.ReadFiniteArray(DatasetPath(kAverage, average->params()[i].name), a.shape());
      for (size_t k = 0; k < v.size(); ++k) a[static_cast<int64_t>(k)] = static_cast<float>(v[k]);
    }
    average->Restore();
  }
  sgd.set_steps(file.ReadIntAttribute("/", "optimizer_steps"));
  ParamsChanged(*job.net);
  return static_cast<int>(done);
}

}  // namespace

nlohmann::json BnRecalibration::ToJson() const {
  return {{"images", images}, {"test_accuracy_before", test_accuracy_before}, {"test_accuracy_after", test_accuracy_after}};
}

namespace {

// After the last epoch: BatchNorm running statistics from ⌊N/B⌋ batches of training images as
// training sees them (its augmentation), in a seeded order (the shuffle and augmentation of "epoch"
// config.epochs, which no training epoch used).
BnRecalibration Recalibrate(const TrainingJob& job, ThreadPool& pool) {
  const TrainConfig& c = job.config;
  BatchSource& source = job.recalibration ? *job.recalibration : *job.train;
  source.StartEpoch(c.epochs);
  // At least one batch: ValidateTrainConfig requires bn_recalibration_images >= batch_size.
  const int64_t batches = std::min(c.bn_recalibration_images / source.BatchSize(), source.NumBatches());
  BnRecalibration r;
  r.test_accuracy_before = job.test_count > 0 ? TestAccuracy(*job.net, *job.input, *job.test, job.test_count, pool) : 0.0;
  r.images = RecalibrateBatchNorm(*job.net, source, batches, pool);
  r.test_accuracy_after = job.test_count > 0 ? TestAccuracy(*job.net, *job.input, *job.test, job.test_count, pool) : 0.0;
  std::cerr << "BatchNorm recalibrated on " << r.images << " training images: test accuracy " << r.test_accuracy_before
            << " % -> " << r.test_accuracy_after << " %\n";
  return r;
}

}  // namespace

nlohmann::json EpochRecord::ToJson() const {
  nlohmann::json j = {{"epoch", epoch}, {"loss", loss},       {"train_accuracy", train_accuracy}, {"test_accuracy", test_accuracy},
                      {"lr", lr},       {"seconds", seconds}, {"images_per_s", images_per_s}};
  if (skipped_images > 0) j["skipped_images"] = skipped_images;  // only image folders with bad_images: skip
  for (const auto& [key, value] : extras.items()) j[key] = value;
  return j;
}

double TestAccuracy(Network& net, const Normalizer& input, const Cifar10Set& data, int64_t count, ThreadPool& pool) {
  std::vector<int64_t> first(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) first[static_cast<size_t>(i)] = i;
  BatcherParams p;
  p.batch_size = 200;
  p.shuffle = false;
  Batcher batcher(data, std::move(first), input, p);
  batcher.StartEpoch(0);
  const int64_t H = data.height, W = data.width;
  Tensor images({p.batch_size, kCifarChannels, H, W}), logits;
  std::vector<int32_t> labels(static_cast<size_t>(p.batch_size));
  int64_t correct = 0;
  for (int64_t b = 0; b < batcher.NumBatches(); ++b) {
    const int64_t n = batcher.Fill(b, images.data(), labels.data(), &pool);
    images.Resize({n, kCifarChannels, H, W});
    net.Forward(images, logits, pool);
    const int64_t k = logits.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      const float* row = logits.data() + i * k;
      correct += (std::max_element(row, row + k) - row) == labels[static_cast<size_t>(i)];
    }
    images.Resize({p.batch_size, kCifarChannels, H, W});
  }
  return count > 0 ? 100.0 * static_cast<double>(correct) / static_cast<double>(count) : 0.0;
}

TrainingOutcome RunTraining(TrainingJob& job) {
  const TrainConfig& c = job.config;
  ThreadPool pool(job.threads);
  TrainGraph graph(*job.net);
  std::vector<SgdEntry> entries;
  for (const ParamRef& p : graph.Params()) {
    SgdEntry e{p.name, p.param, p.grad};
    if (job.no_weight_decay && job.no_weight_decay(p.name)) e.weight_decay = false;
    entries.push_back(e);
  }
  Sgd sgd(std::move(entries), c.sgd);
  std::optional<WeightAverage> average;
  if (c.weight_average) average.emplace(graph.Params(), c.weight_average->decay);
  LrScheduleParams sp = c.schedule;
  sp.epochs = c.epochs;
  const LrSchedule schedule(sp, (c.source.empty() ? std::string("config") : c.source) + ": schedule");
  std::filesystem::create_directories(job.out_dir);
  const DirectoryLock lock(job.out_dir, "--out");

  if (c.bn_recalibration_images > 0 && BatchNormsOf(*job.net).empty())
    throw InputError((c.source.empty() ? std::string("flags") : c.source) +
                     ": bn_recalibration_images: the network has no BatchNorm to recalibrate (in cimsim qat, "
                     "\"batch_norm\": \"folded\" folds it into the weights); set it to 0 or use \"batch_norm\": \"train\"");
  TrainingOutcome outcome;
  int start = 0;
  if (job.resume) {
    start = ReadCheckpoint(job, sgd, average ? &*average : nullptr);
    TruncateTrainingLog(job.out_dir, start);
  } else {
    const std::string checkpoint = (std::filesystem::path(job.out_dir) / kCheckpoint).string();
    if (std::filesystem::exists(checkpoint))
      throw InputError("--out " + job.out_dir + " already holds a training checkpoint (" + checkpoint +
                       "); continue it with --resume, or choose another --out");
    StartTrainingLog(job.out_dir);
  }
  outcome.epochs_done = start;

  BatchSource& source = *job.train;
  const int64_t B = source.BatchSize();
  const auto [C, H, W] = source.ImageShape();
  Tensor images({B, C, H, W}), grad, teacher_logits;
  std::vector<int32_t> labels(static_cast<size_t>(B));
  int64_t skipped_before = source.Skipped();
  for (int epoch = start; epoch < c.epochs; ++epoch) {
    source.StartEpoch(epoch);
    if (job.before_epoch) job.before_epoch(epoch);
    const auto t0 = std::chrono::steady_clock::now();
    Progress progress = Progress::ToStderr("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(c.epochs),
                                           source.NumImages());
    double loss_sum = 0, lr = 0;
    int64_t correct = 0, seen = 0;
    int64_t n = 0;
    for (int64_t b = 0; source.Next(images.data(), labels.data(), &n, &pool); ++b) {
      if (job.stop && job.stop->load()) {
        outcome.stopped = true;
        return outcome;
      }
      if (n == 0) continue;  // every image of the batch skipped (BadImagePolicy::kSkip); b still counts for the schedule
      images.Resize({n, C, H, W});
      const std::span<const int32_t> batch_labels(labels.data(), static_cast<size_t>(n));
      if (job.before_step)
        job.before_step(static_cast<double>(epoch * source.NumBatches() + b) /
                        static_cast<double>(static_cast<int64_t>(c.epochs) * source.NumBatches()));
      if (job.teacher != nullptr) job.teacher->Forward(images, teacher_logits, pool);
      const Tensor& logits = graph.ForwardTrain(images, pool);
      const LossResult r = job.teacher != nullptr ? DistillationLoss(logits, teacher_logits, batch_labels, c.distill, &grad)
                                                  : SoftmaxCrossEntropy(logits, batch_labels, &grad);
      graph.Backward(grad, pool);
      lr = schedule.LearningRate(epoch, b, source.NumBatches());
      sgd.Step(lr);
      ParamsChanged(*job.net);
      if (average && epoch >= c.weight_average->start_epoch) average->Update();
      loss_sum += r.loss * static_cast<double>(n);
      correct += r.correct;
      seen += n;
      images.Resize({B, C, H, W});
      progress.Add(n);
    }
    progress.Finish();
    const int64_t skipped = source.Skipped() - skipped_before;
    skipped_before = source.Skipped();
    if (skipped > 0)
      std::cerr << "epoch " << epoch + 1 << ": " << skipped << " unreadable training images skipped (bad_images: skip)\n";
    if (seen == 0)
      throw InputError("every training image of epoch " + std::to_string(epoch + 1) +
                       " was unreadable and skipped (bad_images: skip); nothing to train on");
    const double train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EpochRecord rec;
    rec.epoch = epoch + 1;
    rec.loss = loss_sum / static_cast<double>(seen);
    rec.train_accuracy = 100.0 * static_cast<double>(correct) / static_cast<double>(seen);
    rec.test_accuracy = job.test_count > 0 ? TestAccuracy(*job.net, *job.input, *job.test, job.test_count, pool) : 0.0;
    rec.lr = lr;
    rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rec.images_per_s = static_cast<double>(seen) / train_seconds;
    rec.skipped_images = skipped;
    if (job.epoch_extras) rec.extras = job.epoch_extras();
    if (average && average->started() && job.test_count > 0) {  // the averaged network on the test images
      average->Swap();
      ParamsChanged(*job.net);
      rec.extras["test_accuracy_averaged"] = TestAccuracy(*job.net, *job.input, *job.test, job.test_count, pool);
      average->Swap();
      ParamsChanged(*job.net);
    }
    WriteCheckpoint(job, sgd, average ? &*average : nullptr, epoch + 1);
    AppendTrainingLog(job.out_dir, rec.ToJson());
    outcome.epochs.push_back(rec);
    outcome.epochs_done = epoch + 1;
  }
  if (average && average->started()) {  // the final model is the average (the checkpoint keeps the last step's weights)
    average->Swap();
    ParamsChanged(*job.net);
    std::cerr << "final model: the weight average (decay " << c.weight_average->decay << ") of the steps of epochs "
              << c.weight_average->start_epoch + 1 << ".." << c.epochs << "\n";
  }
  if (c.bn_recalibration_images > 0) outcome.recalibration = Recalibrate(job, pool);
  return outcome;
}

}  // namespace cimsim
