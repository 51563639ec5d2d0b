// train_support.h — what `cimsim train` and `cimsim qat` share: the common flags, the resolved
// config, the data they load and how a run ends (docs/training.md).
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <memory>

#include "data/batch_source.h"
#include "data/cifar10.h"
#include "data/image_folder.h"
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

// CIFAR-10 (c.image_folder unset): train = the training images, subset = those used, test = the test
// images. An image folder: train = the labels of <data>/train (no pixels; calibration subsets are drawn
// from them and then loaded by CalibrationImages), train_folder = its scan, test = the evaluation views
// of test_data (<data>/val) in memory.
struct TrainData {
  Cifar10Set train, test;
  Cifar10Set recalibration;     // bn_recalibration_ranges' records (empty when unset)
  std::vector<int64_t> subset;  // CIFAR-10: training images used (train_repeat: copies appended)
  std::optional<ImageFolder> train_folder;
  int64_t test_count = 0;
};

// --out, --resume, --model, --epochs, --lr, --batch-size, --data, --test-data, --threads.
void AddTrainFlags(boost::program_options::options_description& desc, TrainFlagValues& v);
// The flags applied to the config, the data path resolved, everything validated.
TrainConfig ResolveTrainConfig(const boost::program_options::variables_map& vm, const TrainFlagValues& v, TrainConfig c);
TrainData LoadTrainData(const TrainConfig& c);
// The training epochs: a Batcher over the CIFAR-10 images, or the image folder's loader.
std::unique_ptr<BatchSource> TrainingBatches(const TrainData& d, const TrainConfig& c, const Normalizer& input);
// The BatchNorm recalibration's batches over d.recalibration (augmented and shuffled as training);
// null without bn_recalibration_ranges (the recalibration then draws from the training batches).
std::unique_ptr<BatchSource> RecalibrationBatches(const TrainData& d, const TrainConfig& c, const Normalizer& input);
// Calibration images for QuantizeNetwork: CIFAR-10 → the training set itself and `indices` into it;
// an image folder → the evaluation views of items `indices` of train/, loaded now, and 0..n−1.
struct CalibrationImages {
  Cifar10Set loaded;                 // the folder's views (empty for CIFAR-10)
  const Cifar10Set* set = nullptr;   // what QuantizeNetwork reads
  std::vector<int64_t> indices;
};
CalibrationImages LoadCalibrationImages(const TrainData& d, const TrainConfig& c, const std::vector<int64_t>& indices);
// InputError naming `where` when a label of the data is >= the model's num_classes.
void CheckLabelsFit(const TrainData& d, int num_classes, const std::string& where);
// The teacher of config.distill (an empty optional without one): its float model loaded, checked to
// classify into the student's classes from the same input normalisation (else an InputError naming
// the teacher file and what differs).
std::optional<Network> LoadTeacher(const TrainConfig& c, const ModelSpec& student);
// Prints the epochs (or, after a stop, how to resume `cimsim <command>`); returns the exit code.
int FinishTraining(const TrainingOutcome& outcome, const TrainConfig& c, const std::string& out, std::string_view command);

}  // namespace cimsim::cli
