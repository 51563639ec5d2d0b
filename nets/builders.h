// builders.h — networks from a ModelSpec, with PyTorch module names.
//
// CIFAR ResNet-(6n+2) (He et al. 2016, §4.2; naming of the widely used PyTorch port):
//   conv1 3×3 16 → bn1 → relu; three stages layer1..3 of n BasicBlocks with 16, 32, 64 planes,
//   stride 1, 2, 2 on the first block of each stage; avgpool (global); linear 64 → classes.
//   BasicBlock layerS.B: conv1 3×3/stride → bn1 → relu1 → conv2 3×3 → bn2 → add(shortcut) → relu2;
//   shortcut identity when shape is kept, else option A (`shortcut`, subsample + planes/4 zero
//   channels each side) or option B (`shortcut.0` 1×1 conv/stride, `shortcut.1` BN).
// CIFAR ResNet-18/34 (the 4-stage ImageNet ResNet adapted to 32×32 inputs; names and shapes of the
//   widely used PyTorch port, kuangliu/pytorch-cifar models/resnet.py):
//   conv1 3×3/1 pad 1, 3 → 64, no bias → bn1 → relu (no max pool); four stages layer1..4 of
//   BasicBlocks (above) with 64, 128, 256, 512 planes, stride 1, 2, 2, 2 on the first block of each
//   stage, [2, 2, 2, 2] blocks (18) or [3, 4, 6, 3] (34); shortcut always option B where the shape
//   changes (layer2.0, layer3.0, layer4.0: `shortcut.0` 1×1 conv/stride, no bias, `shortcut.1` BN),
//   identity elsewhere; avgpool (global; the port's avg_pool2d(4) on the 4×4 map); linear 512 → classes.
//   10 classes: ResNet-18 11,173,962 parameters, 555,422,720 MACs per 32×32 image; ResNet-34
//   21,282,122 parameters, 1,159,402,496 MACs.
// ImageNet ResNet-18/34 (He et al. 2016, Table 1; torchvision's resnet18/resnet34, the same state_dict
//   names, so its checkpoints convert directly): conv1 7×7/2 pad 3, 3 → 64, no bias → bn1 → relu →
//   maxpool 3×3/2 pad 1; the four stages above, except that option B's projection is named
//   `downsample.0` (1×1 conv/stride) and `downsample.1` (BN); avgpool (global); `fc` 512 → classes.
//   Any input side >= 32 (224 for ImageNet: 112 after conv1, 56 after the pool, 7 at the end; 64 for
//   Tiny-ImageNet-style sets: 2 at the end). 1000 classes: ResNet-18 11,689,512 parameters, ResNet-34
//   21,797,672 (torchvision's counts).
// VGG-style: features.i = conv 3×3 pad 1 (with bias), BN, ReLU per width; MaxPool 2×2 per "M";
//   then avgpool (global) and classifier linear → classes. `config` is a comma list or a preset name
//   (kVggPresets, e.g. "tiny" = "32,M,64,M,128,M"; nets/model_spec.h).
//
// BuildNetwork dispatches on spec.arch; for "resnet", depth 18 or 34 selects the 4-stage family
// (spec.shortcut must be 'B') with the CIFAR stem, or with spec.stem == "imagenet" the ImageNet one; any
// other depth the 6n+2 family.
#pragma once

#include "nets/model_spec.h"
#include "nets/network.h"

namespace cimsim {

Network BuildNetwork(const ModelSpec& spec);
// depth 6n+2 (shortcut 'A' or 'B'), or 18/34 (shortcut must be 'B': BuildFourStageCifarResNet).
Network BuildCifarResNet(int depth, char shortcut, int num_classes);
// depth 18 or 34.
Network BuildFourStageCifarResNet(int depth, int num_classes);
// depth 18 or 34, the ImageNet stem (spec.stem == "imagenet").
Network BuildImageNetResNet(int depth, int num_classes);
Network BuildVgg(const std::string& config_or_preset, int num_classes);

}  // namespace cimsim
