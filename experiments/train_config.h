// train_config.h — the JSON config of `cimsim train --config train.json --out DIR [--resume]`
// (docs/training.md). `cimsim qat` reads the same keys plus its own (experiments/qat_config.h).
//
//   {"model": {"init": "resnet20.h5"}          fine-tune: start from this float model, or
//    "model": {"arch": "resnet", "depth": 20,  from scratch: the architecture (ModelSpec fields:
//              "shortcut": "A", "stem": "cifar" | "imagenet" (ResNet-18/34), "num_classes": 10,
//              "vgg_config": "...", "input_mean": [3],
//              "input_std": [3]), initialised Kaiming-normal from "init_seed" (default 1)
//    "data": "../shared/data/cifar10",         directory with data_batch_1..5.bin (training) and
//                                              test_batch.bin; default $CIMSIM_DATA
//    "test_data": "…/test_batch_exact.bin",    the set evaluated after every epoch (default
//                                              <data>/test_batch.bin)
//    "train_images": 0,                        0: all 50,000; else a seeded class-balanced subset
//                                              (a multiple of 10)
//    "train_ranges": [[0, 4000], …],           optional: train on these records only ([begin, end) in
//                                              file order, data_batch_1..5 concatenated; ascending,
//                                              not overlapping; data/record_ranges.h); training, range
//                                              calibration and BatchNorm recalibration all draw from
//                                              them (train_images then subsets them)
//    "train_repeat": {"ranges": [[0, 4000], …], optional: oversample these records (coordinates as
//                     "times": 3},             train_ranges, over all 50,000; not with train_ranges):
//                                              each appears `times` times an epoch, every copy with its
//                                              own augmentation (data/batcher.h); with train_images,
//                                              the subset's records in the ranges; calibration and
//                                              BatchNorm recalibration draw from the records as usual
//    "test_images": 0,                         0: all of test_data; else its first N images
//    "epochs": 200, "batch_size": 128,
//    "seed": 1,                                shuffling and augmentation streams (data/batcher.h)
//    "augment": true,                          random crop 4 + horizontal flip (data/augment.h)
//    "optimizer": {"lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4, "nesterov": false},
//    "schedule": {"kind": "step", "milestones": [100, 150], "gamma": 0.1,   or "cosine" ("min_lr"),
//                 "warmup_epochs": 0, "warmup_start_factor": 0.1}          or "constant"},
//    "distill": {"teacher": "resnet20.h5",     optional: knowledge distillation from this float model
//                "temperature": 1, "weight": 0.9}   (train/distillation_loss.h; default teacher: the
//                                              model being fine-tuned, model.init); absent = labels only
//    "weight_average": {"decay": 0.999,       optional: an exponential moving average of the
//                       "start_epoch": 12},    parameters from the first step of epoch start_epoch
//                                              (0-based, < epochs) on; the run's final model is the
//                                              average (train/weight_average.h); absent = the last step's
//    "image_folder": {"crop": 224,             optional: `data` is an ImageNet-format root with train/ and
//                     "resize": 256,           val/ class folders (test_data: default <data>/val); the
//                     "scale": [0.08, 1],      training views (RandomResizedCrop scale and ratio, flip)
//                     "ratio": [0.75, 1.3333], and the evaluation views (Resize + CenterCrop) of
//                     "flip": true,            data/image_pipeline.h, decode_threads decoding threads,
//                     "decode_threads": 2,     bad_images "error" (stop, naming the file) or "skip"
//                     "bad_images": "error",   (leave it out, count it); train_images must be 0;
//                     "val_list": "FILE"}      optional: test_data holds the images flat and FILE
//                                              labels them ("<path> <class>" lines, data/image_folder.h)
//    "bn_recalibration_images": 0,             after the last epoch, replace every BatchNorm's running
//                                              statistics by the mean over ⌊N/batch_size⌋ batches of
//                                              training images, augmented as in training
//                                              (train/batch_norm_recalibration.h);
//                                              0 (default): keep the moving averages
//    "bn_recalibration_ranges": [[0, 4000], …], optional (CIFAR-10, with bn_recalibration_images > 0):
//                                              draw the recalibration batches from these training
//                                              records only (coordinates as train_ranges, over all
//                                              50,000 records, whatever train_ranges says); e.g. the
//                                              lossless records, when the test images are lossless
// Unknown keys, wrong types and out-of-range values are InputErrors naming the key path. The flags
// --model, --epochs, --lr, --batch-size override the file (ApplyTrainFlags).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "data/batcher.h"
#include "data/image_loader.h"
#include "data/record_ranges.h"
#include "experiments/json_reader.h"
#include "nets/model_spec.h"
#include "train/lr_schedule.h"
#include "train/distillation_loss.h"
#include "train/sgd.h"
#include "train/weight_average.h"

namespace cimsim {

// "image_folder": the data is an ImageNet-format root (docs/data.md): <data>/train/<class>/… for
// training (streamed through the training views), <data>/val/<class>/… (or test_data) for evaluation
// (evaluation views, held in memory).
struct ImageFolderConfig {
  ImagePipelineParams pipeline;   // crop, resize, scale, ratio, flip
  int decode_threads = 2;         // the loader's own threads, 1..256
  BadImagePolicy bad_images = BadImagePolicy::kError;
  std::string val_list;           // non-empty: test_data is a flat folder labelled by this list file
};

struct TrainConfig {
  std::string init_model;   // non-empty: fine-tune this float model
  ModelSpec spec;           // from scratch (ignored when init_model is set)
  uint64_t init_seed = 1;
  std::string data, test_data;
  int64_t train_images = 0, test_images = 0;
  std::vector<RecordRange> train_ranges;  // empty: every training record
  std::vector<RecordRange> repeat_ranges;  // "train_repeat": these records `repeat_times` (1..100) times an epoch
  int repeat_times = 1;
  int epochs = 1;
  BatcherParams batches;    // batch_size, seed, augment (shuffle is always on for training)
  SgdParams sgd;
  LrScheduleParams schedule;
  bool distill_enabled = false;  // "distill" given: distil from distill_teacher with `distill`
  std::string distill_teacher;   // empty in the file = model.init (resolved by ApplyTrainFlags)
  DistillLossParams distill;
  int64_t bn_recalibration_images = 0;  // 0: off
  std::vector<RecordRange> bn_recalibration_ranges;  // empty: the training images
  std::optional<WeightAverageParams> weight_average;  // set: the final model is the average
  std::optional<ImageFolderConfig> image_folder;  // set: `data` is an image-folder root
  std::string source;       // the config file, for messages
};

// The keys of a TrainConfig in object j (top level); `extra_keys` are further allowed keys that the
// caller reads (cimsim qat). InputError via r.
void ReadTrainKeys(const JsonReader& r, const nlohmann::json& j, TrainConfig& c,
                   std::span<const std::string_view> extra_keys = {});
// Checks the combination (from scratch needs an arch; schedule and optimizer valid); `where` names
// the config (file or "flags").
void ValidateTrainConfig(const TrainConfig& c, const std::string& where);
nlohmann::json TrainConfigToJson(const TrainConfig& c);

TrainConfig ParseTrainConfig(const nlohmann::json& j, const std::string& source);
TrainConfig LoadTrainConfig(const std::string& path);

// Command-line overrides (unset optionals leave the config as it is).
struct TrainFlags {
  std::optional<std::string> model;
  std::optional<int> epochs;
  std::optional<double> lr;
  std::optional<int64_t> batch_size;
};
void ApplyTrainFlags(const TrainFlags& flags, TrainConfig& c);

}  // namespace cimsim
