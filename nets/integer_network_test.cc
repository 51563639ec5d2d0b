// The fast integer engine against the slow reference (bit-identical logits) and against the
// fake-quantized float64 network (same predictions), on random small networks of every kind the
// builders make, at several bit widths, with 1 and 2 threads.
#include "nets/integer_network.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "common/error.h"
#include "nets/fake_quant_forward.h"
#include "nets/integer_reference.h"
#include "nets/quant_test_util.h"

namespace cimsim {
namespace {

using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

struct EngineCase {
  const char* arch;
  int depth;
  char shortcut;
  int weight_bits, activation_bits;
  RangeMethod method;
};

class IntegerEngineTest : public ::testing::TestWithParam<EngineCase> {};

TEST_P(IntegerEngineTest, FastEqualsReferenceAndFakeQuantPredictionsAgree) {
  const EngineCase c = GetParam();
  const ModelSpec spec = SpecFor(c.arch, c.depth, c.shortcut);
  Network net = BuildNetwork(spec);
  const QuantizedModel model =
      QuantizedRandomNet(spec, net, Uniform(net, c.weight_bits, c.activation_bits, c.method), 7);
  IntegerNetwork engine(model);
  const int64_t n = 6;
  const Cifar10Set images = RandomImages(n, 99);
  std::vector<int32_t> logits(static_cast<size_t>(n * model.num_classes)), logits2(logits.size());
  ThreadPool one(1), two(2);
  engine.Forward(images.image(0), n, logits.data(), one);
  engine.Forward(images.image(0), n, logits2.data(), two);
  EXPECT_EQ(logits, logits2) << "thread count changed the logits";
  int agree = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int32_t> ref = IntegerReferenceForward(model, images.image(i));
    const std::vector<int32_t> fast(logits.begin() + i * model.num_classes, logits.begin() + (i + 1) * model.num_classes);
    EXPECT_EQ(fast, ref) << "image " << i;
    const std::vector<double> fq = FakeQuantForward(model, images.image(i));
    const auto arg_int = std::max_element(fast.begin(), fast.end()) - fast.begin();
    const auto arg_fq = std::max_element(fq.begin(), fq.end()) - fq.begin();
    agree += arg_int == arg_fq;
    // With headroom in every multiplier the integer engine rounds like exact arithmetic except
    // within ~2^-20 of a tie, so the logit codes agree exactly here.
    for (int k = 0; k < model.num_classes; ++k)
      EXPECT_NEAR(fq[static_cast<size_t>(k)] / model.nodes.back().out_scale, fast[static_cast<size_t>(k)], 0.5)
          << "image " << i << " class " << k;
  }
  EXPECT_EQ(agree, n);
}

INSTANTIATE_TEST_SUITE_P(
    Nets, IntegerEngineTest,
    ::testing::Values(EngineCase{"resnet", 8, 'A', 8, 8, RangeMethod::kAciq},
                      EngineCase{"resnet", 8, 'A', 4, 4, RangeMethod::kMax},
                      EngineCase{"resnet", 8, 'B', 6, 5, RangeMethod::kPercentile},
                      EngineCase{"resnet", 8, 'A', 2, 3, RangeMethod::kMse},
                      EngineCase{"vgg", 0, 'A', 8, 8, RangeMethod::kAciq},
                      EngineCase{"vgg", 0, 'A', 5, 7, RangeMethod::kMax}));

TEST(IntegerEngineTest, MixedPrecisionPerLayer) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  std::vector<ResolvedLayer> layers = Uniform(net, 8, 8);
  // Alternate 4- and 7-bit weights/activations layer by layer.
  for (size_t i = 0; i < layers.size(); ++i) {
    layers[i].params.weight_bits = i % 2 ? 4 : 7;
    layers[i].params.activation_bits = i % 3 ? 5 : 8;
  }
  const QuantizedModel model = QuantizedRandomNet(spec, net, layers, 11);
  // Every conv reads codes at least as wide as it asked for.
  for (const QNode& n : model.nodes)
    if (n.kind == QNodeKind::kConv && !n.input_signed) {
      const auto it = std::find_if(layers.begin(), layers.end(), [&](const ResolvedLayer& l) { return l.name == n.name; });
      ASSERT_NE(it, layers.end());
      EXPECT_GE(n.input_bits, it->params.activation_bits) << n.name;
      EXPECT_EQ(n.weight_bits, it->params.weight_bits) << n.name;
    }
  IntegerNetwork engine(model);
  IntegerWorker worker;
  const Cifar10Set images = RandomImages(3, 5);
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<int32_t> fast(static_cast<size_t>(model.num_classes));
    engine.ForwardImage(images.image(i), fast.data(), worker);
    EXPECT_EQ(fast, IntegerReferenceForward(model, images.image(i)));
  }
}

TEST(IntegerEngineTest, FoldsRequantsIntoTheirDirectConvsWithTheSameLogits) {
  // 4-bit convs reading an 8-bit residual stream (conv1 and linear at 8 bits, as
  // configs/quant/w4a4_aciq.json): every block's first conv reads through a requant node, which the
  // engine folds into the conv's packing as a byte table.
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  std::vector<ResolvedLayer> layers = Uniform(net, 4, 4);
  for (ResolvedLayer& l : layers)
    if (l.name == "conv1" || l.name == "linear") l.params.weight_bits = l.params.activation_bits = 8;
  const QuantizedModel model = QuantizedRandomNet(spec, net, layers, 13);
  IntegerNetwork engine(model);
  int requants = 0;
  for (size_t i = 0; i < model.nodes.size(); ++i) {
    if (model.nodes[i].kind != QNodeKind::kRequant) continue;
    ++requants;
    if constexpr (kInt8GemmIsFast) {
      EXPECT_TRUE(engine.folded(static_cast<int>(i))) << model.nodes[i].name;
    }
  }
  EXPECT_GE(requants, 2);
  const int64_t n = 5;
  const Cifar10Set images = RandomImages(n, 21);
  std::vector<int32_t> one_thread(static_cast<size_t>(n * model.num_classes)), layer_major(one_thread.size());
  ThreadPool one(1), two(2);
  engine.Forward(images.image(0), n, one_thread.data(), one);
  engine.SetImagesPerCall(3);
  engine.Forward(images.image(0), n, layer_major.data(), two);
  EXPECT_EQ(one_thread, layer_major);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(std::vector<int32_t>(one_thread.begin() + i * model.num_classes, one_thread.begin() + (i + 1) * model.num_classes),
              IntegerReferenceForward(model, images.image(i)))
        << "image " << i;
}

TEST(IntegerEngineTest, RejectsAnInvalidModel) {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  QuantizedModel model = QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 3);
  model.nodes[1].weights[0] = 200;  // outside ±127
  EXPECT_THROW(IntegerNetwork{model}, InputError);
}

}  // namespace
}  // namespace cimsim
