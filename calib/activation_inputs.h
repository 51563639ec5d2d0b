// activation_inputs.h — chip calibration inputs from real activations: the input vectors a layer
// actually receives when the exact integer engine runs on images (docs/glossary.md).
//
// A conv layer's input vectors are its im2col patches ([C_in·k_h·k_w] codes, one per output
// position); a linear layer's is its input vector. SampleActivationInputs runs IntegerNetwork (every
// layer on the exact IdealCore) over the images one at a time, in order, and from image m (its
// 0-based place in the list) and each selected node takes per_image = ⌈vectors / n_images⌉ patches
// at positions drawn uniformly with replacement by ActivationSampleStream(seed, m, node); the patches are
// concatenated in image order and the list is cut to `vectors`. A pure function of its arguments.
//
// ActivationCalibrationInputs splits the images into disjoint halves: the first ⌈n/2⌉ give the
// params.fit_vectors fit vectors, the others the params.holdout_vectors held-out vectors (seeds
// ActivationFitSeed / ActivationHoldoutSeed(params.seed), common/streams.h), so a calibration is
// checked on images it never saw.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "calib/chip_calibration.h"
#include "nets/quantized_model.h"

namespace cimsim {

// images: n_images × (C·H·W) uint8 as IntegerNetwork::Forward takes them. nodes: conv/linear node
// indices of `model`. Throws std::invalid_argument for another node kind, n_images < 1 or vectors < 1.
std::map<int, LayerInputs> SampleActivationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                  const uint8_t* images, int64_t n_images, int64_t vectors,
                                                  uint64_t seed);

// n_images >= 2 (std::invalid_argument otherwise).
std::map<int, CalibrationInputs> ActivationCalibrationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                             const uint8_t* images, int64_t n_images,
                                                             const ChipCalibrationParams& params);

// The pixels (images × (C·H·W) uint8) of a class-balanced subset of `images` training images from
// `train_path` (a CIFAR-10 directory or one .bin file; or an image folder's train/ — class folders —
// read as evaluation views at the model's input side, Resize side·256/224), drawn by CalibrationSubset
// with `seed`. InputError for unreadable data or an impossible subset.
std::vector<uint8_t> TrainingSubsetPixels(const QuantizedModel& model, const std::string& train_path, int64_t images,
                                          uint64_t seed);

// ActivationCalibrationInputs on TrainingSubsetPixels(model, train_path, images, params.seed).
// InputError for unreadable data or an impossible subset.
std::map<int, CalibrationInputs> TrainingActivationInputs(const QuantizedModel& model, const std::vector<int>& nodes,
                                                          const std::string& train_path, int64_t images,
                                                          const ChipCalibrationParams& params);

}  // namespace cimsim
