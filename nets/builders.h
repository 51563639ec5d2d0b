// builders.h — networks from a ModelSpec, with PyTorch module names.
//
// CIFAR ResNet-(6n+2) (He et al. 2016, §4.2; naming of the widely used PyTorch port):
//   conv1 3×3 16 → bn1 → relu; three stages layer1..3 of n BasicBlocks with 16, 32, 64 planes,
//   stride 1, 2, 2 on the first block of each stage; avgpool (global); linear 64 → classes.
//   BasicBlock layerS.B: conv1 3×3/stride → bn1 → relu1 → conv2 3×3 → bn2 → add(shortcut) → relu2;
//   shortcut identity when shape is kept, else option A (`shortcut`, subsample + planes/4 zero
//   channels each side) or option B (`shortcut.0` 1×1 conv/stride, `shortcut.1` BN).
// VGG-style: features.i = conv 3×3 pad 1 (with bias), BN, ReLU per width; MaxPool 2×2 per "M";
//   then avgpool (global) and classifier linear → classes.
#pragma once

#include "nets/model_spec.h"
#include "nets/network.h"

namespace cimsim {

Network BuildNetwork(const ModelSpec& spec);
Network BuildCifarResNet(int depth, char shortcut, int num_classes);
Network BuildVgg(const std::string& config, int num_classes);

}  // namespace cimsim
