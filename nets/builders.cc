#include "nets/builders.h"

#include <memory>
#include <sstream>
#include <stdexcept>

#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/elementwise.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/shortcut_a.h"

namespace cimsim {
namespace {

std::unique_ptr<Conv2d> Conv(int in, int out, int kernel, int stride, bool bias) {
  Conv2dParams p;
  p.in_channels = in;
  p.out_channels = out;
  p.kernel = kernel;
  p.stride = stride;
  p.padding = kernel / 2;
  p.bias = bias;
  return std::make_unique<Conv2d>(p);
}

// Appends one BasicBlock reading node `input`; returns the index of its output node.
// Option B's projection is named `projection` ("shortcut": the CIFAR ports; "downsample": torchvision).
int AddBasicBlock(Network& net, const std::string& prefix, int input, int in_planes, int planes, int stride,
                  char shortcut, const std::string& projection = "shortcut") {
  int x = net.Add(prefix + ".conv1", Conv(in_planes, planes, 3, stride, false), {input});
  x = net.Add(prefix + ".bn1", std::make_unique<BatchNorm2d>(planes), {x});
  x = net.Add(prefix + ".relu1", std::make_unique<Relu>(), {x});
  x = net.Add(prefix + ".conv2", Conv(planes, planes, 3, 1, false), {x});
  x = net.Add(prefix + ".bn2", std::make_unique<BatchNorm2d>(planes), {x});
  int skip = input;
  if (stride != 1 || in_planes != planes) {
    if (shortcut == 'A') {
      if (in_planes + 2 * (planes / 4) != planes) throw std::invalid_argument("option A needs planes = 2·in_planes");
      skip = net.Add(prefix + ".shortcut", std::make_unique<ShortcutA>(stride, planes / 4), {input});
    } else {
      skip = net.Add(prefix + "." + projection + ".0", Conv(in_planes, planes, 1, stride, false), {input});
      skip = net.Add(prefix + "." + projection + ".1", std::make_unique<BatchNorm2d>(planes), {skip});
    }
  }
  x = net.Add(prefix + ".add", std::make_unique<Add>(), {x, skip});
  return net.Add(prefix + ".relu2", std::make_unique<Relu>(), {x});
}

}  // namespace

Network BuildCifarResNet(int depth, char shortcut, int num_classes) {
  if (IsFourStageResNetDepth(depth)) {
    if (shortcut != 'B') throw std::invalid_argument("ResNet-18/34 use option-B shortcuts only");
    return BuildFourStageCifarResNet(depth, num_classes);
  }
  if (depth < 8 || (depth - 2) % 6 != 0) throw std::invalid_argument("ResNet depth must be 6n+2, 18 or 34");
  const int blocks = (depth - 2) / 6;
  Network net;
  int x = net.Add("conv1", Conv(3, 16, 3, 1, false), {Network::kInput});
  x = net.Add("bn1", std::make_unique<BatchNorm2d>(16), {x});
  x = net.Add("relu", std::make_unique<Relu>(), {x});
  int in_planes = 16;
  const int planes[3] = {16, 32, 64}, strides[3] = {1, 2, 2};
  for (int s = 0; s < 3; ++s) {
    for (int b = 0; b < blocks; ++b) {
      const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      x = AddBasicBlock(net, prefix, x, in_planes, planes[s], b == 0 ? strides[s] : 1, shortcut);
      in_planes = planes[s];
    }
  }
  x = net.Add("avgpool", std::make_unique<GlobalAvgPool>(), {x});
  net.Add("linear", std::make_unique<Linear>(64, num_classes), {x});
  return net;
}

namespace {

// The four stages of ResNet-18/34 after a stem that gives 64 channels; `imagenet` selects
// torchvision's names (downsample, fc) over the CIFAR port's (shortcut, linear).
Network FourStageResNet(int depth, int num_classes, bool imagenet) {
  int blocks[4];
  if (depth == 18) {
    blocks[0] = blocks[1] = blocks[2] = blocks[3] = 2;
  } else if (depth == 34) {
    blocks[0] = 3, blocks[1] = 4, blocks[2] = 6, blocks[3] = 3;
  } else {
    throw std::invalid_argument("the 4-stage ResNet has depth 18 or 34");
  }
  Network net;
  // Conv() pads kernel/2: 3 for the ImageNet stem's 7×7, 1 for the CIFAR 3×3.
  int x = net.Add("conv1", imagenet ? Conv(3, 64, 7, 2, false) : Conv(3, 64, 3, 1, false), {Network::kInput});
  x = net.Add("bn1", std::make_unique<BatchNorm2d>(64), {x});
  x = net.Add("relu", std::make_unique<Relu>(), {x});
  if (imagenet) x = net.Add("maxpool", std::make_unique<MaxPool2d>(3, 2, 1), {x});
  int in_planes = 64;
  const int planes[4] = {64, 128, 256, 512}, strides[4] = {1, 2, 2, 2};
  for (int s = 0; s < 4; ++s) {
    for (int b = 0; b < blocks[s]; ++b) {
      const std::string prefix = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      x = AddBasicBlock(net, prefix, x, in_planes, planes[s], b == 0 ? strides[s] : 1, 'B',
                        imagenet ? "downsample" : "shortcut");
      in_planes = planes[s];
    }
  }
  x = net.Add("avgpool", std::make_unique<GlobalAvgPool>(), {x});
  net.Add(imagenet ? "fc" : "linear", std::make_unique<Linear>(512, num_classes), {x});
  return net;
}

}  // namespace

Network BuildFourStageCifarResNet(int depth, int num_classes) { return FourStageResNet(depth, num_classes, false); }

Network BuildImageNetResNet(int depth, int num_classes) { return FourStageResNet(depth, num_classes, true); }

Network BuildVgg(const std::string& config_or_preset, int num_classes) {
  Network net;
  int x = Network::kInput, channels = 3, index = 0;
  std::stringstream ss(ExpandVggConfig(config_or_preset));
  std::string token;
  while (std::getline(ss, token, ',')) {
    const std::string name = "features." + std::to_string(index);
    if (token == "M") {
      x = net.Add(name, std::make_unique<MaxPool2d>(2, 2), {x});
      index += 1;
      continue;
    }
    const int width = std::stoi(token);
    x = net.Add(name, Conv(channels, width, 3, 1, true), {x});
    x = net.Add("features." + std::to_string(index + 1), std::make_unique<BatchNorm2d>(width), {x});
    x = net.Add("features." + std::to_string(index + 2), std::make_unique<Relu>(), {x});
    index += 3;
    channels = width;
  }
  x = net.Add("avgpool", std::make_unique<GlobalAvgPool>(), {x});
  net.Add("classifier", std::make_unique<Linear>(channels, num_classes), {x});
  return net;
}

Network BuildNetwork(const ModelSpec& spec) {
  if (spec.arch == "resnet" && spec.stem == "imagenet") return BuildImageNetResNet(spec.depth, spec.num_classes);
  if (spec.arch == "resnet") return BuildCifarResNet(spec.depth, spec.shortcut, spec.num_classes);
  if (spec.arch == "vgg") return BuildVgg(spec.vgg_config, spec.num_classes);
  throw std::invalid_argument("unknown arch " + spec.arch);
}

}  // namespace cimsim
