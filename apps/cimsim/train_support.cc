#include "apps/cimsim/train_support.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "apps/cimsim/output_path.h"
#include "apps/cimsim/stop_signal.h"
#include "common/error.h"
#include "common/parallel.h"
#include "data/calibration_subset.h"
#include "data/record_ranges.h"
#include "data/image_folder_views.h"
#include "nets/checkpoint.h"

namespace cimsim::cli {
namespace po = boost::program_options;

void AddTrainFlags(po::options_description& desc, TrainFlagValues& v) {
  desc.add_options()("out", po::value(&v.out)->required(), "output directory: checkpoint.h5, log.jsonl, model.h5")(
      "resume", po::bool_switch(&v.resume), "continue the run in --out from its last checkpoint")(
      "model", po::value(&v.model), "float model to start from (overrides model in the config)")(
      "epochs", po::value(&v.epochs), "number of epochs (overrides the config)")(
      "lr", po::value(&v.lr), "base learning rate (overrides optimizer.lr)")(
      "batch-size", po::value(&v.batch_size), "images per batch (overrides batch_size)")(
      "data", po::value(&v.data), "CIFAR-10 directory (overrides data; default $CIMSIM_DATA)")(
      "test-data", po::value(&v.test_data), "the set evaluated after each epoch (overrides test_data)")(
      "threads", po::value(&v.threads)->default_value(ThreadPool::HardwareThreads()), "worker threads");
}

TrainConfig ResolveTrainConfig(const po::variables_map& vm, const TrainFlagValues& v, TrainConfig c) {
  CheckOutputDirectory("--out", v.out);
  TrainFlags flags;
  if (vm.count("model")) flags.model = v.model;
  if (vm.count("epochs")) flags.epochs = v.epochs;
  if (vm.count("lr")) flags.lr = v.lr;
  if (vm.count("batch-size")) flags.batch_size = v.batch_size;
  ApplyTrainFlags(flags, c);
  if (vm.count("data")) c.data = v.data;
  if (vm.count("test-data")) c.test_data = v.test_data;
  if (c.image_folder && c.data.empty())
    throw InputError((c.source.empty() ? std::string("flags") : c.source) +
                     ": data: image_folder needs the dataset's root (with train/ and val/ class folders) in data or --data");
  c.data = ResolveDataPath(c.data);
  if (c.image_folder && c.test_data.empty()) c.test_data = (std::filesystem::path(c.data) / "val").string();
  if (c.test_data.empty()) {
    c.test_data = std::filesystem::is_directory(c.data) ? (std::filesystem::path(c.data) / "test_batch.bin").string() : c.data;
  }
  if (v.threads < 1 || v.threads > 1024) throw InputError("--threads: " + std::to_string(v.threads) + " is out of range; allowed 1..1024");
  ValidateTrainConfig(c, c.source.empty() ? "flags" : c.source);
  return c;
}

TrainData LoadTrainData(const TrainConfig& c) {
  TrainData d;
  if (c.image_folder) {
    const ImageFolderConfig& f = *c.image_folder;
    d.train_folder = ScanImageFolder((std::filesystem::path(c.data) / "train").string());
    d.train = FolderLabels(*d.train_folder);
    const ImageFolder test = f.val_list.empty() ? ScanImageFolder(c.test_data) : ReadImageList(c.test_data, f.val_list);
    std::vector<int64_t> chosen;  // test_images > 0: a seeded class-balanced subset (a folder is sorted by class)
    if (c.test_images > 0) chosen = CalibrationSubset(FolderLabels(test), c.test_images, c.batches.seed, true);
    int64_t skipped = 0;
    d.test = LoadFolderViews(test, chosen, f.pipeline, f.decode_threads, f.bad_images, &skipped);
    if (skipped > 0) std::cerr << c.test_data << ": " << skipped << " unreadable images skipped (bad_images: skip)\n";
    d.test_count = d.test.size();
    return d;
  }
  d.train = LoadCifar10(c.data, Cifar10Split::kTrain);
  if (!c.train_ranges.empty())
    d.train = SelectRecords(d.train, c.train_ranges, (c.source.empty() ? std::string("flags") : c.source) + ": train_ranges");
  if (!c.bn_recalibration_ranges.empty())
    d.recalibration = SelectRecords(LoadCifar10(c.data, Cifar10Split::kTrain), c.bn_recalibration_ranges,
                                    (c.source.empty() ? std::string("flags") : c.source) + ": bn_recalibration_ranges");
  d.test = LoadCifar10(c.test_data, Cifar10Split::kTest);
  if (c.train_images > 0) {
    d.subset = CalibrationSubset(d.train, c.train_images, c.batches.seed, true);
  } else {
    for (int64_t i = 0; i < d.train.size(); ++i) d.subset.push_back(i);
  }
  if (!c.repeat_ranges.empty())
    d.subset = RepeatRecords(d.subset, c.repeat_ranges, c.repeat_times, d.train.size(),
                             (c.source.empty() ? std::string("flags") : c.source) + ": train_repeat.ranges");
  d.test_count = c.test_images > 0 ? std::min(c.test_images, d.test.size()) : d.test.size();
  return d;
}

std::unique_ptr<BatchSource> TrainingBatches(const TrainData& d, const TrainConfig& c, const Normalizer& input) {
  if (d.train_folder) {
    ImageLoaderParams lp;
    lp.pipeline = c.image_folder->pipeline;
    lp.batch_size = c.batches.batch_size;
    lp.train = true;
    lp.seed = c.batches.seed;
    lp.bad_images = c.image_folder->bad_images;
    lp.decode_threads = c.image_folder->decode_threads;
    return std::make_unique<FolderBatches>(*d.train_folder, lp, input);
  }
  BatcherParams bp = c.batches;
  bp.shuffle = true;
  return std::make_unique<CifarBatches>(d.train, d.subset, input, bp);
}

std::unique_ptr<BatchSource> RecalibrationBatches(const TrainData& d, const TrainConfig& c, const Normalizer& input) {
  if (c.bn_recalibration_ranges.empty()) return nullptr;
  std::vector<int64_t> all(static_cast<size_t>(d.recalibration.size()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  BatcherParams bp = c.batches;
  bp.shuffle = true;
  return std::make_unique<CifarBatches>(d.recalibration, all, input, bp);
}

CalibrationImages LoadCalibrationImages(const TrainData& d, const TrainConfig& c, const std::vector<int64_t>& indices) {
  CalibrationImages out;
  if (!d.train_folder) {
    out.set = &d.train;
    out.indices = indices;
    return out;
  }
  const ImageFolderConfig& f = *c.image_folder;
  out.loaded = LoadFolderViews(*d.train_folder, indices, f.pipeline, f.decode_threads, f.bad_images, nullptr);
  out.set = &out.loaded;
  for (int64_t i = 0; i < out.loaded.size(); ++i) out.indices.push_back(i);
  return out;
}

void CheckLabelsFit(const TrainData& d, int num_classes, const std::string& where) {
  for (const Cifar10Set* set : {&d.train, &d.test}) {
    if (set->labels.empty()) continue;
    const int top = *std::max_element(set->labels.begin(), set->labels.end());
    if (top >= num_classes)
      throw InputError(where + ": the model has " + std::to_string(num_classes) + " classes, but " +
                       (set->sources.empty() ? std::string("the data") : set->sources.front()) + " has label " +
                       std::to_string(top) + " (" + std::to_string(top + 1) + " classes or more)");
  }
}

std::optional<Network> LoadTeacher(const TrainConfig& c, const ModelSpec& student) {
  if (!c.distill_enabled) return std::nullopt;
  LoadedModel teacher = LoadModel(c.distill_teacher);
  const std::string where = (c.source.empty() ? std::string("flags") : c.source) + ": distill.teacher " + c.distill_teacher;
  if (teacher.spec.num_classes != student.num_classes)
    throw InputError(where + ": the teacher has " + std::to_string(teacher.spec.num_classes) + " classes, the student " +
                     std::to_string(student.num_classes) + "; a teacher must classify into the student's classes");
  if (teacher.spec.input_norm.mean != student.input_norm.mean || teacher.spec.input_norm.std != student.input_norm.std)
    throw InputError(where + ": the teacher's input normalisation differs from the student's (both see the same "
                     "input tensor); use a teacher trained with the student's input_mean and input_std");
  return std::move(teacher.net);
}

int FinishTraining(const TrainingOutcome& outcome, const TrainConfig& c, const std::string& out, std::string_view command) {
  if (outcome.stopped) {
    const int sig = StopSignal();
    std::cerr << "cimsim " << command << ": stopped by signal " << sig << " after " << outcome.epochs_done << " of " << c.epochs
              << " epochs; the last checkpoint is " << (std::filesystem::path(out) / "checkpoint.h5").string()
              << "; continue with the same command and --resume\n";
    return 128 + sig;
  }
  for (const EpochRecord& r : outcome.epochs) std::cout << r.ToJson().dump() << '\n';
  if (outcome.recalibration) std::cout << nlohmann::json{{"bn_recalibration", outcome.recalibration->ToJson()}}.dump() << '\n';
  return 0;
}

}  // namespace cimsim::cli
