// cimsim train — float training from scratch or fine-tuning (docs/training.md).
//
// SIGINT / SIGTERM stop the run between batches; the last completed epoch's checkpoint stays in --out
// and the command exits 130 / 143 after saying how to resume (apps/cimsim/stop_signal.h).
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "apps/cimsim/commands.h"
#include "apps/cimsim/output_path.h"
#include "apps/cimsim/stop_signal.h"
#include "apps/cimsim/train_support.h"
#include "common/error.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/init.h"

namespace cimsim::cli {
namespace po = boost::program_options;

int TrainCommand(const std::vector<std::string>& args) {
  std::string config_path;
  TrainFlagValues v;
  po::options_description desc(
      "cimsim train: float training from scratch or fine-tuning (docs/training.md)\n"
      "usage: cimsim train --config train.json --out DIR [--resume] [--model M.h5] [--epochs N] [--lr X] "
      "[--batch-size B]\noptions");
  desc.add_options()("help,h", "show this help")("config", po::value(&config_path),
                                                 "training config, JSON (docs/training.md)");
  AddTrainFlags(desc, v);
  po::variables_map vm;
  if (!ParseOrHelp(args, desc, vm)) return 0;
  if (config_path.empty() && !vm.count("model"))
    throw InputError("give --config train.json, or at least --model M.h5 to fine-tune with the default settings");
  TrainConfig base;
  base.batches.augment = true;
  if (!config_path.empty()) base = LoadTrainConfig(config_path);
  const TrainConfig c = ResolveTrainConfig(vm, v, base);

  ModelSpec spec = c.spec;
  Network net;
  if (!c.init_model.empty()) {
    LoadedModel m = LoadModel(c.init_model);
    spec = m.spec;
    net = std::move(m.net);
  } else {
    net = BuildNetwork(spec);
    InitializeKaiming(net, c.init_seed);
  }
  std::optional<Network> teacher = LoadTeacher(c, spec);
  TrainData data = LoadTrainData(c);
  CheckLabelsFit(data, spec.num_classes, c.source.empty() ? "flags" : c.source);
  const Normalizer input(spec.input_norm, "model input normalization");
  const std::unique_ptr<BatchSource> batches = TrainingBatches(data, c, input);
  const std::unique_ptr<BatchSource> recalibration = RecalibrationBatches(data, c, input);

  TrainingJob job;
  job.net = &net;
  job.input = &input;
  job.train = batches.get();
  job.recalibration = recalibration.get();
  job.test = &data.test;
  job.test_count = data.test_count;
  job.config = c;
  job.config_json = TrainConfigToJson(c);
  const Provenance provenance = CommandProvenance("train", args);
  job.write_model = [&](H5File& f) {
    WriteProvenance(f, provenance);
    WriteModel(f, spec, net);
  };
  job.read_model = [&](const H5File& f) {
    const ModelSpec saved = ReadModelSpec(f);
    if (saved.Describe() != spec.Describe())
      throw InputError(f.Path() + ": the checkpoint holds a " + saved.Describe() + ", this run trains a " + spec.Describe());
    ReadStateDict(f, net, spec.Describe());
  };
  if (teacher) job.teacher = &*teacher;
  job.threads = v.threads;
  job.out_dir = v.out;
  job.resume = v.resume;
  job.stop = InstallStopHandlers();
  const auto [C, H, W] = batches->ImageShape();
  std::cerr << "cimsim train: " << spec.Describe() << ", " << batches->NumImages() << " training images of " << C << "x" << H
            << "x" << W << ", " << c.epochs << " epochs, batch " << c.batches.batch_size << ", " << v.threads << " threads\n";
  const TrainingOutcome outcome = RunTraining(job);
  if (!outcome.stopped) SaveModel((std::filesystem::path(v.out) / "model.h5").string(), spec, net, &provenance);
  return FinishTraining(outcome, c, v.out, "train");
}

}  // namespace cimsim::cli
