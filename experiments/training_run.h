// training_run.h — the epoch loop of `cimsim train` and `cimsim qat` (docs/training.md).
//
// Per epoch e = start..epochs−1:
//   1. the BatchSource fixes epoch e's order and augmentation (a pure function of seed and e;
//      data/batch_source.h: CIFAR-10 in memory, or an image folder decoded one batch ahead);
//   2. per batch b: ForwardTrain → softmax cross-entropy (or, with a teacher, the distillation loss
//      against the teacher's inference-mode logits on the same images) → Backward → SGD step with the schedule's
//      learning rate for (e, b) → Layer::ParamsChanged; a stop request (SIGINT/SIGTERM) is honoured
//      between batches — the epoch is abandoned and nothing is written;
//   3. the network (inference mode) is evaluated on the test images;
//   4. DIR/checkpoint.h5 is replaced atomically: the model (write_model), /optimizer/momentum/<name>
//      (the SGD buffers), root attributes train_epochs_done, optimizer_steps and train_config (the
//      config as JSON text, checked on resume);
//   5. one JSON line is appended to DIR/log.jsonl: {"epoch", "loss", "train_accuracy",
//      "test_accuracy", "lr", "seconds", "images_per_s"} (lr: the rate of the epoch's last batch), and
//      "skipped_images" when an image folder's bad_images "skip" left some out this epoch.
// With config.weight_average (train/weight_average.h): after every step of epoch start_epoch on, the
// average is updated; each such epoch's log line adds "test_accuracy_averaged" (the averaged network
// on the test images), the checkpoint keeps the averages under /weight_average/<name> next to the
// last step's weights, and after the last epoch the network's parameters become the averages — the
// model the caller writes.
// After the last epoch, with config.bn_recalibration_images = N > 0: every BatchNorm's running
// statistics become the mean over ⌊N/B⌋ batches of training images (the training source's epoch
// `epochs`, augmented as in training)
// (train/batch_norm_recalibration.h); the checkpoint keeps the moving averages, so a finished run
// resumed with another N recalibrates the same weights.
// Resume: the checkpoint's config must equal the current one except for test_data and test_images
// (else an InputError names the first key that differs); the model, buffers and step count are restored, log.jsonl is cut to the completed
// epochs, and training continues at epoch train_epochs_done. Every random draw depends only on the
// seed and the epoch, and every step is bit-identical for any thread count, so a resumed run ends
// with exactly the weights of an uninterrupted one.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/h5_file.h"
#include "data/batch_source.h"
#include "data/cifar10.h"
#include "data/normalize.h"
#include "experiments/train_config.h"
#include "nets/network.h"

namespace cimsim {

struct TrainingJob {
  Network* net = nullptr;
  const Normalizer* input = nullptr;        // pixel → network input (float or quantized)
  BatchSource* train = nullptr;             // the training epochs (shuffled, augmented)
  BatchSource* recalibration = nullptr;     // the BatchNorm recalibration's batches (null: `train`)
  const Cifar10Set* test = nullptr;         // in memory, any image size (the network's input)
  int64_t test_count = 0;                   // first test_count images of `test`
  TrainConfig config;
  nlohmann::json config_json;               // what a resumed run must match
  std::function<void(H5File&)> write_model; // the model part of a checkpoint (and of the final file)
  std::function<void(const H5File&)> read_model;  // restores it from a checkpoint (strict)
  // Parameters excluded from weight decay (e.g. quantizer step sizes), by state_dict name.
  std::function<bool(const std::string&)> no_weight_decay;
  int threads = 1;
  std::string out_dir;
  bool resume = false;
  const std::atomic<bool>* stop = nullptr;  // set by a signal handler
  // Optional: knowledge distillation from this network (inference mode, never changed) with
  // config.distill (train/distillation_loss.h); it sees the same input tensor as `net`.
  Network* teacher = nullptr;
  // Called before each epoch's first step with its 0-based index (also for the first epoch of a resumed
  // run), e.g. to set a hardware-noise schedule's factor; optional.
  std::function<void(int)> before_epoch;
  // Called before every training step with the run's progress p = (e·N + b) / (epochs·N) in [0, 1)
  // (epoch e, batch b of N), e.g. to set a regulariser's weight on a schedule; optional.
  std::function<void(double)> before_step;
  // Called after each epoch's last step: further fields of that epoch's log line (a JSON object whose
  // keys differ from EpochRecord's), e.g. a regulariser's state; optional.
  std::function<nlohmann::json()> epoch_extras;
};

struct EpochRecord {
  int epoch = 0;
  double loss = 0, train_accuracy = 0, test_accuracy = 0, lr = 0, seconds = 0, images_per_s = 0;
  int64_t skipped_images = 0;  // unreadable images left out this epoch (written only when > 0)
  nlohmann::json extras = nlohmann::json::object();  // TrainingJob::epoch_extras' fields
  nlohmann::json ToJson() const;
};

// The BatchNorm recalibration after the last epoch (config.bn_recalibration_images > 0).
struct BnRecalibration {
  int64_t images = 0;
  double test_accuracy_before = 0, test_accuracy_after = 0;  // % on the test images
  nlohmann::json ToJson() const;
};

struct TrainingOutcome {
  std::vector<EpochRecord> epochs;  // this invocation's epochs
  int epochs_done = 0;              // in total, including resumed ones
  bool stopped = false;             // a stop request ended the run early
  std::optional<BnRecalibration> recalibration;  // done after the last epoch
};

// Runs the loop. Throws InputError for a bad resume (no checkpoint, other config or architecture).
TrainingOutcome RunTraining(TrainingJob& job);

// Top-1 accuracy (%) of `net` in inference mode over the first `count` images of `data`.
double TestAccuracy(Network& net, const Normalizer& input, const Cifar10Set& data, int64_t count, ThreadPool& pool);

}  // namespace cimsim
