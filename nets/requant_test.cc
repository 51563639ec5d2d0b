// Requant nodes: a tensor with more bits than some of its conv/linear readers ask for (the 8-bit
// residual stream of a ResNet whose last linear reads 8 bits) is re-encoded for them, so every layer
// reads codes of exactly its own activation_bits.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "common/test_support.h"
#include "nets/fake_quant_forward.h"
#include "nets/integer_network.h"
#include "nets/integer_reference.h"
#include "nets/quant_test_util.h"
#include "nets/quantized_checkpoint.h"
#include "nets/requantization.h"

namespace cimsim {
namespace {

using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

bool IsMvm(const QNode& n) { return n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear; }

std::vector<std::string> RequantNames(const QuantizedModel& m) {
  std::vector<std::string> names;
  for (const QNode& n : m.nodes)
    if (n.kind == QNodeKind::kRequant) names.push_back(n.name);
  return names;
}

// W4A4 everywhere, the last linear at 8 bits (weights and activations).
std::vector<ResolvedLayer> W4A4Linear8(const Network& net) {
  std::vector<ResolvedLayer> layers = Uniform(net, 4, 4);
  for (ResolvedLayer& l : layers)
    if (l.name == "linear") l.params.weight_bits = l.params.activation_bits = 8;
  return layers;
}

// Every conv/linear reads codes of exactly its activation_bits (the image input: always signed
// 8-bit); every requant node narrows its input and is read only by conv/linear layers of its bits.
void ExpectLayersReadTheirBits(const QuantizedModel& m, const std::vector<ResolvedLayer>& layers) {
  std::map<std::string, int> bits;
  for (const ResolvedLayer& l : layers) bits[l.name] = l.params.activation_bits;
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode& n = m.nodes[i];
    if (IsMvm(n)) {
      if (n.inputs[0] == QNode::kImage) {
        EXPECT_EQ(n.input_bits, 8) << n.name;
        EXPECT_TRUE(n.input_signed) << n.name;
      } else {
        ASSERT_TRUE(bits.contains(n.name)) << n.name;
        EXPECT_EQ(n.input_bits, bits[n.name]) << n.name;
        EXPECT_EQ(m.nodes[static_cast<size_t>(n.inputs[0])].out_bits, n.input_bits) << n.name;
      }
    }
    if (n.kind == QNodeKind::kRequant) {
      const QNode& src = m.nodes[static_cast<size_t>(n.inputs[0])];
      EXPECT_GT(src.out_bits, n.out_bits) << n.name;
      EXPECT_EQ(n.out_min == 0, src.out_min == 0) << n.name << ": keeps the signedness of its input";
      for (size_t j = i + 1; j < m.nodes.size(); ++j)
        for (int in : m.nodes[j].inputs)
          if (in == static_cast<int>(i)) {
            EXPECT_TRUE(IsMvm(m.nodes[j])) << m.nodes[j].name << " reads " << n.name;
            EXPECT_EQ(m.nodes[j].input_bits, n.out_bits) << m.nodes[j].name;
          }
    }
  }
}

void ExpectEngineMatchesReferenceAndFakeQuant(const QuantizedModel& model, int64_t n, uint64_t seed) {
  IntegerNetwork engine(model);
  const Cifar10Set images = RandomImages(n, seed);
  std::vector<int32_t> logits(static_cast<size_t>(n * model.num_classes));
  ThreadPool two(2);
  engine.Forward(images.image(0), n, logits.data(), two);
  int agree = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t> fast(logits.begin() + i * model.num_classes, logits.begin() + (i + 1) * model.num_classes);
    EXPECT_EQ(fast, IntegerReferenceForward(model, images.image(i))) << "image " << i;
    const std::vector<double> fq = FakeQuantForward(model, images.image(i));
    agree += std::max_element(fast.begin(), fast.end()) - fast.begin() == std::max_element(fq.begin(), fq.end()) - fq.begin();
    for (int k = 0; k < model.num_classes; ++k)
      EXPECT_NEAR(fq[static_cast<size_t>(k)] / model.nodes.back().out_scale, fast[static_cast<size_t>(k)], 0.5)
          << "image " << i << " class " << k;
  }
  EXPECT_EQ(agree, n);
}

TEST(RequantTest, ResNet8W4A4WithAn8BitLinear) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  const std::vector<ResolvedLayer> layers = W4A4Linear8(net);
  const QuantizedModel m = QuantizedRandomNet(spec, net, layers, 31);
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode& n = m.nodes[i];
    std::string ins;
    for (int in : n.inputs) ins += " " + std::to_string(in);
    std::printf("%2zu %-22s %-16s in%-6s out_bits %d  input_bits %d\n", i, n.name.c_str(),
                std::string(ToString(n.kind)).c_str(), ins.c_str(), n.out_bits, IsMvm(n) ? n.input_bits : 0);
  }
  // The residual stream (the stem's output and every add output up to the 8-bit linear) stays 8-bit;
  // each block's conv1 reads it through a 4-bit requant node placed right after the tensor.
  EXPECT_EQ(RequantNames(m),
            (std::vector<std::string>{"layer1.0.conv1.input", "layer2.0.conv1.input", "layer3.0.conv1.input"}));
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode& n = m.nodes[i];
    if (n.kind != QNodeKind::kRequant) continue;
    EXPECT_EQ(n.inputs, std::vector<int>{static_cast<int>(i) - 1}) << n.name << ": right after its input";
    const QNode& src = m.nodes[i - 1];
    EXPECT_EQ(src.out_bits, 8) << src.name;
    EXPECT_EQ(src.out_min, 0);
    EXPECT_EQ(n.out_bits, 4);
    EXPECT_EQ(n.out_min, 0);
    EXPECT_EQ(n.out_max, 15);
    // Its reader: the conv it is named after.
    const std::string reader = n.name.substr(0, n.name.size() - std::string(".input").size());
    const auto it = std::find_if(m.nodes.begin(), m.nodes.end(), [&](const QNode& q) { return q.name == reader; });
    ASSERT_NE(it, m.nodes.end());
    EXPECT_EQ(it->inputs[0], static_cast<int>(i));
    EXPECT_EQ(it->input_bits, 4);
  }
  ExpectLayersReadTheirBits(m, layers);
  int convs_at_4 = 0;
  for (const QNode& n : m.nodes) convs_at_4 += n.kind == QNodeKind::kConv && n.input_bits == 4;
  EXPECT_EQ(convs_at_4, 6);  // all but the stem (image input)
  EXPECT_EQ(m.nodes.back().input_bits, 8);
  EXPECT_EQ(m.MacsPerImage(), [&] {
    Network net2 = BuildNetwork(spec);
    return QuantizedRandomNet(spec, net2, Uniform(net2, 8, 8), 31).MacsPerImage();
  }()) << "requant nodes do no MACs";
  ExpectEngineMatchesReferenceAndFakeQuant(m, 8, 77);
}

TEST(RequantTest, UniformBitPlansHaveNoRequantNodes) {
  for (const char* arch : {"resnet", "vgg"})
    for (char shortcut : {'A', 'B'})
      for (int bits : {8, 4}) {
        const ModelSpec spec = SpecFor(arch, std::string(arch) == "vgg" ? 0 : 8, shortcut);
        Network net = BuildNetwork(spec);
        const QuantizedModel m = QuantizedRandomNet(spec, net, Uniform(net, bits, bits), 5);
        EXPECT_TRUE(RequantNames(m).empty()) << arch << " " << shortcut << " W" << bits << "A" << bits;
      }
}

// Random per-layer activation bits on several graphs: the rule holds and the engines agree.
TEST(RequantTest, MixedBitsEveryLayerReadsItsOwnBits) {
  struct Case {
    const char* arch;
    int depth;
    char shortcut;
  };
  int with_requant = 0;
  for (const Case c : {Case{"resnet", 8, 'A'}, Case{"resnet", 14, 'B'}, Case{"resnet", 14, 'A'}, Case{"vgg", 0, 'A'}}) {
    const ModelSpec spec = SpecFor(c.arch, c.depth, c.shortcut);
    Network net = BuildNetwork(spec);
    std::vector<ResolvedLayer> layers = Uniform(net, 6, 8);
    Rng rng(static_cast<uint64_t>(c.depth) * 131 + static_cast<uint64_t>(c.shortcut));
    for (ResolvedLayer& l : layers) l.params.activation_bits = 3 + static_cast<int>(rng.Below(6));
    const QuantizedModel m = QuantizedRandomNet(spec, net, layers, 13);
    with_requant += !RequantNames(m).empty();
    SCOPED_TRACE(std::string(c.arch) + std::to_string(c.depth) + c.shortcut);
    ExpectLayersReadTheirBits(m, layers);
    ExpectEngineMatchesReferenceAndFakeQuant(m, 4, 3);
  }
  EXPECT_GE(with_requant, 2);
}

// The layer reconstruction (clip search, empirical bias correction, AdaRound) runs on the codes the
// layer really reads: through its requant node.
TEST(RequantTest, ReconstructionThroughRequantNodes) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  std::vector<ResolvedLayer> layers = W4A4Linear8(net);
  for (ResolvedLayer& l : layers) {
    l.params.output_clip_search = true;
    l.params.output_bias_correction = true;
    l.params.bias_correction = true;
    l.params.rounding = WeightRounding::kAdaRound;
    l.params.adaround.iterations = 50;
    l.params.reconstruction_images = 4;
  }
  const QuantizedModel m = QuantizedRandomNet(spec, net, layers, 41, 8);
  EXPECT_EQ(RequantNames(m).size(), 3u);
  ExpectLayersReadTheirBits(m, layers);
  ExpectEngineMatchesReferenceAndFakeQuant(m, 4, 9);
}

TEST(RequantTest, CheckpointRoundTripKeepsRequantNodes) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  QuantizedModel m = QuantizedRandomNet(spec, net, W4A4Linear8(net), 17);
  m.description = "requant";
  testing::ScopedTempDir dir("requant");
  const std::string path = (dir.path() / "q.h5").string();
  SaveQuantizedModel(m, path);
  const QuantizedModel back = LoadQuantizedModel(path);
  ASSERT_EQ(back.nodes.size(), m.nodes.size());
  EXPECT_EQ(RequantNames(back), RequantNames(m));
  for (size_t i = 0; i < m.nodes.size(); ++i) {
    const QNode &a = m.nodes[i], &b = back.nodes[i];
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.inputs, b.inputs);
    EXPECT_EQ(a.out_scale, b.out_scale);
    EXPECT_EQ(a.out_min, b.out_min);
    EXPECT_EQ(a.out_max, b.out_max);
    EXPECT_EQ(a.out_bits, b.out_bits);
    EXPECT_EQ(a.pool.multiplier, b.pool.multiplier);
    EXPECT_EQ(a.pool.shift, b.pool.shift);
    EXPECT_EQ(a.pool.headroom, b.pool.headroom);
    EXPECT_EQ(a.input_bits, b.input_bits);
  }
  const Cifar10Set images = RandomImages(2, 4);
  for (int64_t i = 0; i < 2; ++i)
    EXPECT_EQ(IntegerReferenceForward(back, images.image(i)), IntegerReferenceForward(m, images.image(i)));
}

// SetMultipliers (the formulas from the real scales alone) reproduces every multiplier
// QuantizeNetwork set, requant nodes included.
TEST(RequantTest, SetMultipliersReproducesQuantizeNetwork) {
  for (char shortcut : {'A', 'B'}) {
    const ModelSpec spec = SpecFor("resnet", 8, shortcut);
    Network net = BuildNetwork(spec);
    const QuantizedModel m = QuantizedRandomNet(spec, net, W4A4Linear8(net), 23);
    QuantizedModel copy = m;
    for (QNode& n : copy.nodes) {
      n.multipliers.assign(n.multipliers.size(), 0);
      n.pool = {};
      n.rescale_multipliers.assign(n.rescale_multipliers.size(), 0);
    }
    SetMultipliers(copy, "test");
    for (size_t i = 0; i < m.nodes.size(); ++i) {
      const QNode &a = m.nodes[i], &b = copy.nodes[i];
      EXPECT_EQ(a.multipliers, b.multipliers) << a.name;
      EXPECT_EQ(a.shifts, b.shifts) << a.name;
      EXPECT_EQ(a.headrooms, b.headrooms) << a.name;
      EXPECT_EQ(a.rescale_multipliers, b.rescale_multipliers) << a.name;
      EXPECT_EQ(a.rescale_shifts, b.rescale_shifts) << a.name;
      EXPECT_EQ(a.rescale_headrooms, b.rescale_headrooms) << a.name;
      EXPECT_EQ(a.pool.multiplier, b.pool.multiplier) << a.name;
      EXPECT_EQ(a.pool.shift, b.pool.shift) << a.name;
      EXPECT_EQ(a.pool.headroom, b.pool.headroom) << a.name;
    }
  }
}

TEST(RequantTest, ValidateRejectsABadRequantNode) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  QuantizedModel m = QuantizedRandomNet(spec, net, W4A4Linear8(net), 31);
  const auto it = std::find_if(m.nodes.begin(), m.nodes.end(), [](const QNode& n) { return n.kind == QNodeKind::kRequant; });
  ASSERT_NE(it, m.nodes.end());
  QuantizedModel wide = m;
  wide.nodes[static_cast<size_t>(it - m.nodes.begin())].out_max = 255;  // no longer 4-bit codes
  EXPECT_THROW(wide.Validate("m"), InputError);
  QuantizedModel saturating = m;
  saturating.nodes[static_cast<size_t>(it - m.nodes.begin())].pool.headroom = 31;
  EXPECT_THROW(saturating.Validate("m"), InputError);
  EXPECT_EQ(ParseQNodeKind("requant", "x"), QNodeKind::kRequant);
  EXPECT_EQ(ToString(QNodeKind::kRequant), "requant");
}

}  // namespace
}  // namespace cimsim
