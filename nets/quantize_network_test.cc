// Post-training quantization of float networks: fusion, BatchNorm folding, scales, determinism.
#include "nets/quantize_network.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/error.h"
#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/elementwise.h"
#include "nets/fake_quant_forward.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/quant_test_util.h"

namespace cimsim {
namespace {

using testing::FirstN;
using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

int Count(const QuantizedModel& m, QNodeKind kind) {
  return static_cast<int>(std::count_if(m.nodes.begin(), m.nodes.end(), [&](const QNode& n) { return n.kind == kind; }));
}

TEST(QuantizeNetworkTest, FusesResNet8IntoIntegerNodes) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  const QuantizedModel m = QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 1);
  // conv1 + 3 blocks × 2 convs; 3 residual adds; 2 option-A shortcuts; pool; linear.
  EXPECT_EQ(Count(m, QNodeKind::kConv), 7);
  EXPECT_EQ(Count(m, QNodeKind::kAdd), 3);
  EXPECT_EQ(Count(m, QNodeKind::kShortcutA), 2);
  EXPECT_EQ(Count(m, QNodeKind::kGlobalAvgPool), 1);
  ASSERT_EQ(m.nodes.back().kind, QNodeKind::kLinear);
  EXPECT_EQ(m.nodes.back().name, "linear");
  EXPECT_EQ(m.nodes.front().name, "conv1");
  EXPECT_TRUE(m.nodes.front().input_signed);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode& n = m.nodes[i];
    if (n.kind != QNodeKind::kAdd) continue;
    // The conv branch arrives wide at the add's scale; the shortcut is rescaled.
    const QNode& branch = m.nodes[static_cast<size_t>(n.inputs[0])];
    EXPECT_EQ(branch.kind, QNodeKind::kConv);
    EXPECT_EQ(branch.out_bits, 0) << branch.name;
    EXPECT_EQ(branch.out_scale, n.out_scale);
    EXPECT_EQ(n.rescale_identity[0], 1);
    EXPECT_EQ(n.rescale_identity[1], 0);
    EXPECT_EQ(n.out_min, 0);  // the block's ReLU
    EXPECT_EQ(n.out_max, 255);
  }
  // Convs followed by ReLU give unsigned 8-bit codes.
  EXPECT_EQ(m.nodes.front().out_min, 0);
  EXPECT_EQ(m.nodes.front().out_max, 255);
}

TEST(QuantizeNetworkTest, InputLutRoundsTheNormalizedPixel) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  const QuantizedModel m = QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 2);
  int extremes = 0;
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < 256; ++p) {
      const double x = (p / 255.0 - spec.input_norm.mean[static_cast<size_t>(c)]) / spec.input_norm.std[static_cast<size_t>(c)];
      const int code = m.input_lut[static_cast<size_t>(c)][static_cast<size_t>(p)];
      EXPECT_LE(std::abs(x / m.input_scale - code), 0.5 + 1e-9) << c << " " << p;
      extremes += std::abs(code) == 127;
    }
  EXPECT_GE(extremes, 1);  // the scale is set by the most extreme normalized pixel
}

// conv → BN → ReLU → pool → linear: at 8 bits the quantized network follows the float one closely,
// which checks BatchNorm folding and every scale.
TEST(QuantizeNetworkTest, EightBitTracksTheFloatNetwork) {
  Network net;
  Conv2dParams p;
  p.in_channels = 3;
  p.out_channels = 8;
  const int conv = net.Add("conv", std::make_unique<Conv2d>(p), {Network::kInput});
  const int bn = net.Add("bn", std::make_unique<BatchNorm2d>(8), {conv});
  const int relu = net.Add("relu", std::make_unique<Relu>(), {bn});
  const int pool = net.Add("pool", std::make_unique<GlobalAvgPool>(), {relu});
  net.Add("fc", std::make_unique<Linear>(8, 10), {pool});
  ModelSpec spec;
  const QuantizedModel m = QuantizedRandomNet(spec, net, Uniform(net, 8, 8, RangeMethod::kMax), 4, 32);
  ASSERT_EQ(m.nodes.size(), 3u);  // conv(+bn+relu), pool, linear
  const Cifar10Set images = RandomImages(4, 77);
  const Normalizer norm(spec.input_norm);
  GraphBuffers buffers;
  for (int64_t i = 0; i < 4; ++i) {
    Tensor x({1, 3, 32, 32}), out;
    norm.Apply(images.image(i), x.data());
    net.ForwardSerial(x, out, buffers);
    const std::vector<double> q = FakeQuantForward(m, images.image(i));
    double max_err = 0, max_ref = 0;
    for (int k = 0; k < 10; ++k) {
      max_err = std::max(max_err, std::abs(q[static_cast<size_t>(k)] - out[k]));
      max_ref = std::max(max_ref, std::abs(static_cast<double>(out[k])));
    }
    EXPECT_LT(max_err, 0.03 * max_ref) << "image " << i;
  }
}

TEST(QuantizeNetworkTest, IsDeterministic) {
  const ModelSpec spec = SpecFor("resnet", 8, 'B');
  Network a = BuildNetwork(spec), b = BuildNetwork(spec);
  const QuantizedModel ma = QuantizedRandomNet(spec, a, Uniform(a, 6, 6), 9);
  const QuantizedModel mb = QuantizedRandomNet(spec, b, Uniform(b, 6, 6), 9);
  ASSERT_EQ(ma.nodes.size(), mb.nodes.size());
  for (size_t i = 0; i < ma.nodes.size(); ++i) {
    EXPECT_EQ(ma.nodes[i].weights, mb.nodes[i].weights);
    EXPECT_EQ(ma.nodes[i].multipliers, mb.nodes[i].multipliers);
    EXPECT_EQ(ma.nodes[i].out_scale, mb.nodes[i].out_scale);
  }
}

TEST(QuantizeNetworkTest, BiasCorrectionKeepsTheEngineExact) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  std::vector<ResolvedLayer> layers = Uniform(net, 4, 8);
  for (ResolvedLayer& l : layers) l.params.bias_correction = true;
  const QuantizedModel m = QuantizedRandomNet(spec, net, layers, 12);
  Network plain_net = BuildNetwork(spec);
  const QuantizedModel plain = QuantizedRandomNet(spec, plain_net, Uniform(plain_net, 4, 8), 12);
  // Same codes' grid, different scales/biases.
  bool differs = false;
  for (size_t i = 0; i < m.nodes.size(); ++i) differs |= m.nodes[i].bias != plain.nodes[i].bias;
  EXPECT_TRUE(differs);
}

TEST(QuantizeNetworkTest, RejectsALayerThatNeedsQat) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  std::vector<ResolvedLayer> layers = Uniform(net, 8, 8);
  layers[2].mode = QuantMode::kQat;
  EXPECT_THROW(QuantizedRandomNet(spec, net, layers, 1), InputError);
}

}  // namespace
}  // namespace cimsim
