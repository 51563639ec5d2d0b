// quant_test_util.h — helpers shared by the integer-engine tests: random calibration images, a
// quantization plan applied to every layer, and a quantized random network.
#pragma once

#include <string>
#include <vector>

#include "common/rng.h"
#include "data/cifar10.h"
#include "nets/builders.h"
#include "nets/quantize_network.h"
#include "nets/test_util.h"

namespace cimsim::testing {

// `count` images of seeded uniform random pixels with random labels.
inline Cifar10Set RandomImages(int64_t count, uint64_t seed) {
  Cifar10Set set;
  Rng rng(seed);
  for (int64_t i = 0; i < count; ++i) {
    set.labels.push_back(static_cast<uint8_t>(rng.Below(10)));
    for (int k = 0; k < kCifarImageBytes; ++k) set.pixels.push_back(static_cast<uint8_t>(rng.Below(256)));
  }
  return set;
}

inline std::vector<int64_t> FirstN(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

// Every conv/linear layer gets the same parameters, forced to PTQ.
inline std::vector<ResolvedLayer> Uniform(const Network& net, int weight_bits, int activation_bits,
                                          RangeMethod method = RangeMethod::kAciq) {
  std::vector<ResolvedLayer> out;
  for (const std::string& name : MvmLayerNames(net)) {
    ResolvedLayer l;
    l.name = name;
    l.params.weight_bits = weight_bits;
    l.params.activation_bits = activation_bits;
    l.params.weight_range.method = method;
    l.params.activation_range.method = method;
    l.params.mode = QuantMode::kPtq;
    l.mode = QuantMode::kPtq;
    out.push_back(l);
  }
  return out;
}

inline ModelSpec SpecFor(const std::string& arch, int depth, char shortcut) {
  ModelSpec spec;
  spec.arch = arch;
  spec.depth = depth;
  spec.shortcut = shortcut;
  spec.vgg_config = "8,M,16";
  return spec;
}

// A random float network of `spec` quantized with `layers` over 16 random calibration images.
inline QuantizedModel QuantizedRandomNet(const ModelSpec& spec, Network& net, const std::vector<ResolvedLayer>& layers,
                                         uint64_t seed, int64_t calibration_images = 16) {
  RandomizeNetwork(net, seed);
  const Cifar10Set calib = RandomImages(calibration_images, seed + 1);
  QuantizeOptions options;
  options.sample_capacity = 4096;
  options.seed = seed;
  return QuantizeNetwork(net, spec, layers, calib, FirstN(calibration_images), options, nullptr);
}

}  // namespace cimsim::testing
