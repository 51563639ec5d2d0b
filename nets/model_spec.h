// model_spec.h — what a float model file says about its architecture.
//
// Read from the HDF5 root attributes (docs/model_format.md): `arch` ("resnet" —
// or "resnetD" with the depth in the name — or "vgg"), `depth`, `shortcut`, `num_classes`,
// `input_mean`, `input_std` (3 floats each, pixel units /255: x = (p/255 − mean_c)/std_c), and for VGG
// `vgg_config`.
//
// ResNet depth selects the family (nets/builders.h):
//   6n+2 (8, 14, 20, 32, 44, 56, 110, ...): the 3-stage CIFAR ResNet (16/32/64 planes) of He et al.;
//     `shortcut` "A" (parameter-free subsample + zero-pad) or "B" (1×1 conv + BN).
//   18, 34: the 4-stage CIFAR variant of the ImageNet ResNet-18/34 (64/128/256/512 planes; the PyTorch
//     port in kuangliu/pytorch-cifar naming). Its shortcuts are always option B: `shortcut` must be
//     'B' (in a file the attribute may be left out and then means B; an explicit "A" is an error, since
//     these networks have no option-A form). 18 and 34 are not 6n+2, so there is no ambiguity.
// `stem` (optional, default "cifar"): "imagenet" gives ResNet-18/34 the ImageNet stem and torchvision's
//   names (nets/builders.h: BuildImageNetResNet); only for depth 18 and 34.
// VGG `vgg_config`: a comma list of conv widths and "M" for 2×2 max pooling, e.g.
//   "64,64,M,128,128,M,256,256,M", or a preset name (kVggPresets): "tiny" = "32,M,64,M,128,M".
//   The spec keeps what was written (a preset stays a name, so it round-trips); ExpandVggConfig gives
//   the list.
#pragma once

#include <string>

#include "data/normalize.h"

namespace cimsim {

struct ModelSpec {
  std::string arch = "resnet";  // "resnet" or "vgg"
  int depth = 20;
  char shortcut = 'A';           // must be 'B' for depth 18 and 34
  int num_classes = 10;
  std::string vgg_config;        // comma list or preset name
  ChannelNorm input_norm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  std::string stem = "cifar";    // "cifar", or "imagenet" for ResNet-18/34 (7×7/2 conv + 3×3/2 max pool)

  // Throws InputError naming `where` (the file), the field, its value and what is allowed.
  void Validate(const std::string& where) const;
  // "resnet20 (shortcut A, 10 classes)", "resnet18 (shortcut B, 10 classes)",
  // "resnet18 (ImageNet stem, shortcut B, 1000 classes)",
  // "vgg [8,M,16] (10 classes)", "vgg tiny [32,M,64,M,128,M] (10 classes)"
  std::string Describe() const;
};

// The small VGG-style default used when no config is given.
inline constexpr const char* kDefaultVggConfig = "64,64,M,128,128,M,256,256,M";

// Named VGG configs: {name, comma list}.
struct VggPreset {
  const char* name;
  const char* config;
};
// "tiny": three 3×3 convs of 32, 64, 128 channels, each followed by a 2×2 max pool (32→16→8→4 on
// CIFAR-sized inputs), then global average pooling and the classifier: 94,986 parameters and
// 10,323,200 multiply-accumulates per 32×32 image for 10 classes.
inline constexpr VggPreset kVggPresets[] = {{"tiny", "32,M,64,M,128,M"}};

// A preset name → its comma list; anything else is returned unchanged.
std::string ExpandVggConfig(const std::string& config);

// True for the depths of the 4-stage CIFAR ResNet family (18, 34).
inline bool IsFourStageResNetDepth(int depth) { return depth == 18 || depth == 34; }

}  // namespace cimsim
