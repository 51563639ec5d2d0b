// Real CIFAR-10 images (CIMSIM_DATA) through a seeded random ResNet-20: the float32 fast path and
// the float64 reference must predict the same class for each image; quantized W8A8 and W4A4 on real
// training images, the integer engine must equal its reference and the fake-quantized network; and
// through ideal crossbars with enough ADC bits the whole integer ResNet-20 gives the same logits.
// Skipped, with the reason, when CIMSIM_DATA is not set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "data/calibration_subset.h"
#include "experiments/evaluate.h"
#include "experiments/evaluate_integer.h"
#include "experiments/xbar_config.h"
#include "devices/device_presets.h"
#include "nets/integer_network.h"
#include "nets/quantize_network.h"
#include "nets/builders.h"
#include "nets/init.h"

namespace cimsim {
namespace {

// CIMSIM_DATA and its lossless test file; false with the reason to skip when either is missing.
bool LosslessData(std::string& dir, std::string& file, std::string& reason) {
  const char* env = std::getenv("CIMSIM_DATA");
  if (env == nullptr) {
    reason = "CIMSIM_DATA is not set";
    return false;
  }
  dir = env;
  file = dir + "/test_batch_exact.bin";
  if (!std::filesystem::exists(file)) {
    reason = file + " does not exist";
    return false;
  }
  return true;
}

// Every conv/linear layer of `net` at `bits`-bit weights and activations, post-training.
std::vector<ResolvedLayer> PtqLayers(const Network& net, int bits) {
  std::vector<ResolvedLayer> layers;
  for (const std::string& name : MvmLayerNames(net)) {
    ResolvedLayer l;
    l.name = name;
    l.params.weight_bits = l.params.activation_bits = bits;
    l.mode = QuantMode::kPtq;
    layers.push_back(l);
  }
  return layers;
}

TEST(RealData, FastAndReferencePredictTheSameOnLosslessImages) {
  std::string dir, file, skip;
  if (!LosslessData(dir, file, skip)) GTEST_SKIP() << skip;
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
  std::string dir, file, skip;
  if (!LosslessData(dir, file, skip)) GTEST_SKIP() << skip;
  const Cifar10Set test = LoadCifar10(file, Cifar10Split::kTest);
  const Cifar10Set train = LoadCifar10(std::string(dir) + "/data_batch_1.bin", Cifar10Split::kTrain);
  ModelSpec spec;
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 5);
  for (int bits : {8, 4}) {
    IntegerNetwork engine(QuantizeNetwork(net, spec, PtqLayers(net, bits), train, CalibrationSubset(train, 100, 1, true),
                                          QuantizeOptions{}, nullptr));
    const IntegerCheck check = CheckIntegerEngine(engine, test, 40, 2, nullptr);
    EXPECT_EQ(check.images, 40);
    EXPECT_EQ(check.reference_mismatches, 0) << "W" << bits << "A" << bits;
    EXPECT_EQ(check.fake_quant_mismatches, 0) << "W" << bits << "A" << bits;
  }
}

// Every conv/linear layer of a W8A8 ResNet-20 on ideal crossbar tiles, ADC wide enough for lsb <= 1:
// bit-serial inputs on 128 × 128 tiles with weights in two 4-bit cell pairs, and 8-bit DAC inputs on
// 64-row tiles with the offset mapping (one 8-bit cell per weight). Logits equal the integer engine's, image for image.
TEST(RealData, IdealCrossbarResNet20GivesTheIntegerEnginesLogits) {
  std::string dir, file, skip;
  if (!LosslessData(dir, file, skip)) GTEST_SKIP() << skip;
  const Cifar10Set test = LoadCifar10(file, Cifar10Split::kTest);
  const Cifar10Set train = LoadCifar10(std::string(dir) + "/data_batch_1.bin", Cifar10Split::kTrain);
  Network net = BuildCifarResNet(20, 'A', 10);
  InitializeKaiming(net, 6);
  const QuantizedModel model = QuantizeNetwork(net, ModelSpec{}, PtqLayers(net, 8), train, CalibrationSubset(train, 100, 1, true),
                                               QuantizeOptions{}, nullptr);
  constexpr int64_t kImages = 100;
  ThreadPool pool(2);
  std::vector<int32_t> expected(static_cast<size_t>(kImages * 10)), logits(expected.size());
  IntegerNetwork(model).Forward(test.pixels.data(), kImages, expected.data(), pool);

  XbarConfig bit_serial;
  bit_serial.device = DevicePreset("ideal");
  bit_serial.crossbar.slice_bits = 4;
  bit_serial.crossbar.adc.bits = 16;   // full scale 128 · 1 · 15 per slice
  XbarConfig dac = bit_serial;
  dac.crossbar.rows_max = 64;
  dac.crossbar.mapping = CrossbarMapping::kOffset;
  dac.crossbar.slice_bits = 0;
  dac.crossbar.input = {InputMode::kDac, 8, 1};
  dac.crossbar.adc.bits = 24;          // full scale 64 · 255 · 254 < 2^23 − 1
  for (const XbarConfig& xbar : {bit_serial, dac}) {
    SCOPED_TRACE(ToString(xbar.crossbar.input.mode));
    IntegerNetwork chip(model, ChipCoreFactory(xbar));
    ASSERT_EQ(chip.core(0)->Name(), "crossbar");   // conv1
    std::fill(logits.begin(), logits.end(), -1);
    chip.Forward(test.pixels.data(), kImages, logits.data(), pool);
    EXPECT_EQ(logits, expected);
  }
}

}  // namespace
}  // namespace cimsim
