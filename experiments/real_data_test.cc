// Real CIFAR-10 images (CIMSIM_DATA) through a seeded random ResNet-20: the float32 fast path and
// the float64 reference must predict the same class for each image; quantized W8A8 and W4A4 on real
// training images, the integer engine must equal its reference and the fake-quantized network.
// Skipped, with the reason, when CIMSIM_DATA is not set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/calibration_subset.h"
#include "experiments/evaluate.h"
#include "experiments/evaluate_integer.h"
#include "nets/quantize_network.h"
#include "nets/builders.h"
#include "nets/init.h"

namespace cimsim {
namespace {

TEST(RealData, FastAndReferencePredictTheSameOnLosslessImages) {
  const char* dir = std::getenv("CIMSIM_DATA");
  if (dir == nullptr) GTEST_SKIP() << "CIMSIM_DATA is not set";
  const std::string file = std::string(dir) + "/test_batch_exact.bin";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " does not exist";
  const Cifar10Set data = LoadCifar10(file, Cifar10Split::kTest);
  ASSERT_EQ(data.size(), 1228);
  const ChannelNorm norm{{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
  for (char shortcut : {'A', 'B'}) {
    Network net = BuildCifarResNet(20, shortcut, 10);
    InitializeKaiming(net, 11);
    EvalParams p;
    p.limit = 24;
    p.batch_size = 8;
    p.threads = 2;
    const EvalResult fast = Evaluate(net, norm, data, p, nullptr);
    p.precision = Precision::kFloat64Reference;
    const EvalResult ref = Evaluate(net, norm, data, p, nullptr);
    EXPECT_EQ(fast.total, 24);
    EXPECT_EQ(fast.predictions, ref.predictions) << "shortcut " << shortcut;
    EXPECT_EQ(fast.correct, ref.correct);
  }
}

TEST(RealData, IntegerEngineMatchesReferenceAndFakeQuantOnLosslessImages) {
  const char* dir = std::getenv("CIMSIM_DATA");
  if (dir == nullptr) GTEST_SKIP() << "CIMSIM_DATA is not set";
  const std::string file = std::string(dir) + "/test_batch_exact.bin";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " does not exist";
  const Cifar10Set test = LoadCifar10(file, Cifar10Split::kTest);
  const Cifar10Set train = LoadCifar10(std::string(dir) + "/data_batch_1.bin", Cifar10Split::kTrain);
  ModelSpec spec;
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 5);
  for (int bits : {8, 4}) {
    std::vector<ResolvedLayer> layers;
    for (const std::string& name : MvmLayerNames(net)) {
      ResolvedLayer l;
      l.name = name;
      l.params.weight_bits = l.params.activation_bits = bits;
      l.mode = QuantMode::kPtq;
      layers.push_back(l);
    }
    IntegerNetwork engine(QuantizeNetwork(net, spec, layers, train, CalibrationSubset(train, 100, 1, true),
                                          QuantizeOptions{}, nullptr));
    const IntegerCheck check = CheckIntegerEngine(engine, test, 40, 2, nullptr);
    EXPECT_EQ(check.images, 40);
    EXPECT_EQ(check.reference_mismatches, 0) << "W" << bits << "A" << bits;
    EXPECT_EQ(check.fake_quant_mismatches, 0) << "W" << bits << "A" << bits;
  }
}

}  // namespace
}  // namespace cimsim
