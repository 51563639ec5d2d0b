#include "apps/cimsim/train_support.h"

#include <filesystem>
#include <iostream>

#include "apps/cimsim/output_path.h"
#include "apps/cimsim/stop_signal.h"
#include "common/error.h"
#include "common/parallel.h"
#include "data/calibration_subset.h"
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
  c.data = ResolveDataPath(c.data);
  if (c.test_data.empty()) {
    c.test_data = std::filesystem::is_directory(c.data) ? (std::filesystem::path(c.data) / "test_batch.bin").string() : c.data;
  }
  if (v.threads < 1 || v.threads > 1024) throw InputError("--threads: " + std::to_string(v.threads) + " is out of range; allowed 1..1024");
  ValidateTrainConfig(c, c.source.empty() ? "flags" : c.source);
  return c;
}

TrainData LoadTrainData(const TrainConfig& c) {
  TrainData d;
  d.train = LoadCifar10(c.data, Cifar10Split::kTrain);
  d.test = LoadCifar10(c.test_data, Cifar10Split::kTest);
  if (c.train_images > 0) {
    d.subset = CalibrationSubset(d.train, c.train_images, c.batches.seed, true);
  } else {
    for (int64_t i = 0; i < d.train.size(); ++i) d.subset.push_back(i);
  }
  d.test_count = c.test_images > 0 ? std::min(c.test_images, d.test.size()) : d.test.size();
  return d;
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

int FinishTraining(const TrainingOutcome& outcome, const TrainConfig& c, const std::string& out) {
  if (outcome.stopped) {
    const int sig = StopSignal();
    std::cerr << "cimsim train: stopped by signal " << sig << " after " << outcome.epochs_done << " of " << c.epochs
              << " epochs; the last checkpoint is " << (std::filesystem::path(out) / "checkpoint.h5").string()
              << "; continue with the same command and --resume\n";
    return 128 + sig;
  }
  for (const EpochRecord& r : outcome.epochs) std::cout << r.ToJson().dump() << '\n';
  if (outcome.recalibration) std::cout << nlohmann::json{{"bn_recalibration", outcome.recalibration->ToJson()}}.dump() << '\n';
  return 0;
}

}  // namespace cimsim::cli
