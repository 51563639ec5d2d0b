// train_support.h — what `cimsim train` and `cimsim qat` share: the common flags, the resolved
// config, the data they load and how a run ends (docs/training.md).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/cifar10.h"
#include "experiments/train_config.h"
#include "experiments/training_run.h"
#include "nets/model_spec.h"
#include "nets/network.h"

namespace cimsim::cli {

struct TrainFlagValues {
  std::string out, model, data, test_data;
  int epochs = 0;
  double lr = 0;
  int64_t batch_size = 0;
  int threads = 1;
  bool resume = false;
};

struct TrainData {
  Cifar10Set train, test;
  std::vector<int64_t> subset;  // training images used
  int64_t test_count = 0;
};

// --out, --resume, --model, --epochs, --lr, --batch-size, --data, --test-data, --threads.
void AddTrainFlags(boost::program_options::options_description& desc, TrainFlagValues& v);
// The flags applied to the config, the data path resolved, everything validated.
TrainConfig ResolveTrainConfig(const boost::program_options::variables_map& vm, const TrainFlagValues& v, TrainConfig c);
TrainData LoadTrainData(const TrainConfig& c);
// The teacher of config.distill (an empty optional without one): its float model loaded, checked to
// classify into the student's classes from the same input normalisation (else an InputError naming
// the teacher file and what differs).
std::optional<Network> LoadTeacher(const TrainConfig& c, const ModelSpec& student);
// Prints the epochs (or how to resume after a stop); returns the exit code.
int FinishTraining(const TrainingOutcome& outcome, const TrainConfig& c, const std::string& out);

}  // namespace cimsim::cli
