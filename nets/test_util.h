// test_util.h — helpers shared by the nets tests: seeded random tensors and comparisons.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "common/rng.h"
#include "nets/conv_window.h"
#include "nets/network.h"
#include "nets/tensor.h"

namespace cimsim::testing {

inline Tensor RandomTensor(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Tensor t(shape);
  Rng rng(seed);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(scale * rng.Normal());
  return t;
}

// One convolution of the direct-kernel tests: C → O channels on an H × W input, k × k, stride s, padding p.
struct ConvCase {
  int64_t channels, outputs, height, width;
  int kernel, stride, padding;
};

// Its window, with OH = ⌊(H + 2p − k)/s⌋ + 1 (likewise OW).
inline ConvWindow WindowOf(const ConvCase& c) {
  return {c.channels, c.height, c.width, c.kernel, c.stride, c.padding,
          (c.height + 2 * c.padding - c.kernel) / c.stride + 1, (c.width + 2 * c.padding - c.kernel) / c.stride + 1};
}

// "C->O HxW kK sS pP", for test traces.
inline std::string Describe(const ConvCase& c) {
  return std::to_string(c.channels) + "->" + std::to_string(c.outputs) + " " + std::to_string(c.height) + "x" +
         std::to_string(c.width) + " k" + std::to_string(c.kernel) + " s" + std::to_string(c.stride) + " p" +
         std::to_string(c.padding);
}

// One step of a float multiply-add chain as the direct kernels compute it (direct_conv_f32.h,
// kDirectConvFusedChains): fused, acc + a·b rounded once; or the product rounded, then added (the
// scalar build's -ffp-contract=off keeps the two operations apart).
inline float ChainStep(float acc, float a, float b, bool fused) {
  if (fused) return std::fma(a, b, acc);
  const float product = a * b;
  return acc + product;
}

// Gives every tensor of the network random values (BN variances positive), so that a test
// exercises the whole arithmetic rather than an identity BN.
inline void RandomizeNetwork(Network& net, uint64_t seed) {
  Rng root(seed);
  uint64_t index = 0;
  for (const NamedTensor& t : net.StateDict()) {
    Rng rng = root.Derive(index++);
    const bool variance = t.name.size() >= 11 && t.name.compare(t.name.size() - 11, 11, "running_var") == 0;
    const double fan_in = t.tensor->rank() >= 2 ? static_cast<double>(t.tensor->size() / t.tensor->dim(0)) : 1.0;
    for (int64_t i = 0; i < t.tensor->size(); ++i) {
      const double z = rng.Normal();
      (*t.tensor)[i] = static_cast<float>(variance ? 0.5 + std::abs(z) : (t.tensor->rank() >= 2 ? z * std::sqrt(2.0 / fan_in) : 0.2 * z));
    }
  }
}

// Largest |a − b| relative to the largest |b| (scale of the reference).
inline double MaxRelativeError(const Tensor& fast, const TensorD& ref) {
  EXPECT_EQ(fast.shape(), ref.shape());
  double max_err = 0.0, max_ref = 1e-30;
  for (int64_t i = 0; i < ref.size(); ++i) {
    max_err = std::max(max_err, std::abs(static_cast<double>(fast[i]) - ref[i]));
    max_ref = std::max(max_ref, std::abs(ref[i]));
  }
  return max_err / max_ref;
}

}  // namespace cimsim::testing
