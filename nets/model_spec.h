// model_spec.h — what a float model file says about its architecture.
//
// Read from the HDF5 root attributes (ARCHITECTURE.md §5): `arch` ("resnet" — or "resnetD" with the
// depth in the name — or "vgg"), `depth` (ResNet: 6n+2, e.g. 20, 32, 44, 56, 110), `shortcut` ("A":
// parameter-free subsample + zero-pad, "B": 1×1 conv + BN), `num_classes`, `input_mean`, `input_std`
// (3 floats each, pixel units /255: x = (p/255 − mean_c)/std_c), and for VGG `vgg_config`: a comma list
// of conv widths and "M" for 2×2 max pooling, e.g. "64,64,M,128,128,M,256,256,M".
#pragma once

#include <string>

#include "data/normalize.h"

namespace cimsim {

struct ModelSpec {
  std::string arch = "resnet";  // "resnet" or "vgg"
  int depth = 20;
  char shortcut = 'A';
  int num_classes = 10;
  std::string vgg_config;
  ChannelNorm input_norm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};

  // Throws InputError naming `where` (the file), the field, its value and what is allowed.
  void Validate(const std::string& where) const;
  // "resnet20 (shortcut A, 10 classes)"
  std::string Describe() const;
};

// The small VGG-style default used when no config is given.
inline constexpr const char* kDefaultVggConfig = "64,64,M,128,128,M,256,256,M";

}  // namespace cimsim
