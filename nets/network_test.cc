// Whole networks: fast float32 forward against the float64 reference, thread-count independence,
// state_dict naming, parameter and multiply-accumulate counts worked out by hand.
#include <gtest/gtest.h>

#include "nets/builders.h"
#include "nets/init.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using testing::MaxRelativeError;
using testing::RandomizeNetwork;
using testing::RandomTensor;

int64_t CountParameters(Network& net) {
  int64_t n = 0;
  for (const NamedTensor& t : net.StateDict()) {
    const bool buffer = t.name.find("running_") != std::string::npos;
    if (!buffer) n += t.tensor->size();
  }
  return n;
}

void CheckAgainstReference(Network& net, int batch, double tolerance) {
  const Tensor x = RandomTensor({batch, 3, 32, 32}, 77);
  ThreadPool one(1), two(2);
  Tensor y1, y2;
  net.Forward(x, y1, one);
  net.Forward(x, y2, two);
  ASSERT_EQ(y1.shape(), y2.shape());
  for (int64_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y2[i]) << "thread count changed logit " << i;
  const TensorD ref = net.ForwardReference(x.Cast<double>());
  EXPECT_LT(MaxRelativeError(y1, ref), tolerance);
  // A second forward through recycled buffers gives the same logits.
  Tensor y3;
  net.Forward(x, y3, two);
  for (int64_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y3[i]);
}

TEST(ResNet, Resnet20OptionAMatchesReference) {
  Network net = BuildCifarResNet(20, 'A', 10);
  RandomizeNetwork(net, 1);
  CheckAgainstReference(net, 3, 1e-4);
}

TEST(ResNet, Resnet8OptionBMatchesReference) {
  Network net = BuildCifarResNet(8, 'B', 10);
  RandomizeNetwork(net, 2);
  CheckAgainstReference(net, 2, 1e-4);
}

TEST(Vgg, SmallVggMatchesReference) {
  Network net = BuildVgg("8,M,16,M,16", 10);
  RandomizeNetwork(net, 3);
  CheckAgainstReference(net, 2, 1e-4);
}

TEST(ResNet, Resnet20CountsMatchHandCount) {
  Network net = BuildCifarResNet(20, 'A', 10);
  // conv1 432 + bn1 32 + stage1 3·(2·2304 + 64) + stage2 (4608 + 9216 + 128) + 2·(2·9216 + 128)
  // + stage3 (18432 + 36864 + 256) + 2·(2·36864 + 256) + linear 650 = 269,722.
  EXPECT_EQ(CountParameters(net), 269722);
  // MACs: stem 442,368 + stage1 6·2,359,296 + stage2 1,179,648 + 5·2,359,296 + stage3 the same
  // + linear 640 = 40,551,040 per 32x32 image.
  EXPECT_EQ(net.MacsPerImage({3, 32, 32}), 40551040);
}

TEST(ResNet, StateDictNamesFollowPyTorch) {
  Network a = BuildCifarResNet(20, 'A', 10);
  const std::vector<NamedTensor> sd = a.StateDict();
  ASSERT_EQ(sd.size(), 1u + 4u + 9u * 10u + 2u);
  EXPECT_EQ(sd.front().name, "conv1.weight");
  EXPECT_EQ(sd[5].name, "layer1.0.conv1.weight");
  EXPECT_EQ(sd[6].name, "layer1.0.bn1.weight");
  EXPECT_EQ(sd[9].name, "layer1.0.bn1.running_var");
  EXPECT_EQ(sd.back().name, "linear.bias");
  Network b = BuildCifarResNet(20, 'B', 10);
  bool has_shortcut = false;
  for (const NamedTensor& t : b.StateDict()) has_shortcut |= t.name == "layer2.0.shortcut.0.weight";
  EXPECT_TRUE(has_shortcut);
  EXPECT_EQ(b.StateDict().size(), sd.size() + 2u * 5u);  // two stride-2 blocks: conv + 4 BN tensors each
}

TEST(ResNet, DepthsOfTheFamilyBuild) {
  for (int depth : {20, 32, 44, 56, 110}) {
    Network net = BuildCifarResNet(depth, 'A', 10);
    const std::vector<Shape> shapes = net.NodeShapes({2, 3, 32, 32});
    EXPECT_EQ(shapes.back(), (Shape{2, 10})) << depth;
    EXPECT_EQ(net.Find("layer3." + std::to_string((depth - 2) / 6 - 1) + ".conv2") >= 0, true) << depth;
  }
  EXPECT_THROW(BuildCifarResNet(21, 'A', 10), std::invalid_argument);
}

TEST(Init, SeededAndKaimingScaled) {
  Network a = BuildCifarResNet(20, 'A', 10), b = BuildCifarResNet(20, 'A', 10), c = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(a, 5);
  InitializeKaiming(b, 5);
  InitializeKaiming(c, 6);
  const auto sa = a.StateDict(), sb = b.StateDict(), sc = c.StateDict();
  bool differs = false;
  for (size_t i = 0; i < sa.size(); ++i) {
    for (int64_t j = 0; j < sa[i].tensor->size(); ++j) {
      ASSERT_EQ((*sa[i].tensor)[j], (*sb[i].tensor)[j]);
      differs |= (*sa[i].tensor)[j] != (*sc[i].tensor)[j];
    }
  }
  EXPECT_TRUE(differs);
  // layer3.0.conv2.weight: 36,864 draws of N(0, 2/576); the sample variance lies within
  // 5 standard errors (statistical bound, sd of s² ≈ σ²·√(2/n)) of 2/576.
  for (const NamedTensor& t : sa) {
    if (t.name != "layer3.0.conv2.weight") continue;
    double s2 = 0;
    for (int64_t j = 0; j < t.tensor->size(); ++j) s2 += (*t.tensor)[j] * (*t.tensor)[j];
    s2 /= static_cast<double>(t.tensor->size());
    const double sigma2 = 2.0 / 576.0;
    EXPECT_NEAR(s2, sigma2, 5 * sigma2 * std::sqrt(2.0 / static_cast<double>(t.tensor->size())));
  }
}

}  // namespace
}  // namespace cimsim
