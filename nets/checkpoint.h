// checkpoint.h — float models in HDF5, tensors named as PyTorch's state_dict.
//
// Layout (docs/model_format.md): root attributes arch, depth, shortcut,
// num_classes, input_mean[3], input_std[3] (and vgg_config for VGG: a comma list or a preset name such
// as "tiny", written back as given); datasets /params/<state_dict key>, e.g.
// /params/layer1.0.conv1.weight [16, 16, 3, 3], any numeric type (stored float32). ResNet-18/34 have
// option-B shortcuts only: their `shortcut` may be left out (read as "B", always written as "B"), and an
// explicit "A" is an InputError. `stem` ("imagenet" for ResNet-18/34 with the 7×7 stem and max pool) is
// written only when it is not "cifar", and read as "cifar" when absent.
// Loading is strict: every tensor the architecture expects must be present with the expected shape
// and finite values, and every dataset under /params must be used; otherwise an InputError names the
// file and the tensor. Two PyTorch conventions are accepted: keys prefixed "module." (DataParallel)
// when all keys are, and BatchNorm's "num_batches_tracked" counters (scalars, read and ignored:
// inference does not use them).
#pragma once

#include <string>

#include "common/h5_file.h"
#include "common/provenance.h"
#include "nets/model_spec.h"
#include "nets/network.h"

namespace cimsim {

struct LoadedModel {
  ModelSpec spec;
  Network net;
};

ModelSpec ReadModelSpec(const H5File& file);
LoadedModel LoadModel(const std::string& path);
// Writes atomically (a partial file never replaces an existing one); with `provenance`, group
// /provenance records who wrote it (common/provenance.h).
void SaveModel(const std::string& path, const ModelSpec& spec, Network& net, const Provenance* provenance = nullptr);
// The same into an open file (a training checkpoint adds its optimizer state before committing).
void WriteModel(H5File& file, const ModelSpec& spec, Network& net);

// /params/<state_dict key> of `file` into net, with LoadModel's strictness (every tensor present with
// its shape and finite values, nothing unused; `what` describes the network in messages); then every
// layer's ParamsChanged(). WriteStateDict writes them (float32).
void ReadStateDict(const H5File& file, Network& net, const std::string& what);
void WriteStateDict(H5File& file, Network& net);

}  // namespace cimsim
