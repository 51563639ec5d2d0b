// The model zoo on ideal crossbars: every conv/linear layer of a W8A8 tiny VGG (vgg_config "tiny")
// and of a W8A8 CIFAR ResNet-18 (option-B 1×1 shortcut convs included) on ideal-device crossbar tiles
// with an ADC wide enough for lsb <= 1 gives the integer engine's logits exactly, image for image —
// as experiments/real_data_test.cc checks for ResNet-20, but on random weights and synthetic images
// so that it needs no data. Two chips: bit-serial inputs on 128 × 128 tiles with weights in two 4-bit
// differential cell pairs, and 8-bit DAC inputs on 64-row tiles with the offset mapping (one 8-bit
// cell per weight). The tiny VGG runs 4 images on both; ResNet-18 one image on the DAC chip only
// (~1 s; the bit-serial chip takes 8 input slices × 2 weight slices of reads, ~4 s).
#include <gtest/gtest.h>

#include <cmath>

#include "devices/device_presets.h"
#include "experiments/xbar_config.h"
#include "nets/builders.h"
#include "nets/integer_network.h"
#include "nets/quant_test_util.h"

namespace cimsim {
namespace {

using testing::FirstN;
using testing::RandomImages;
using testing::Uniform;

// RandomizeNetwork's values with BatchNorm scales γ = 0.5 + 0.5·|z| (a γ near zero leaves a folded
// bias beyond what QuantizeNetwork accepts; see nets/model_zoo_test.cc).
void RandomizeWithTrainedLikeBn(Network& net, uint64_t seed) {
  testing::RandomizeNetwork(net, seed);
  for (const NamedTensor& t : net.StateDict()) {
    const int node = net.Find(t.name.substr(0, t.name.rfind('.')));
    if (node < 0 || net.nodes()[static_cast<size_t>(node)].layer->Kind() != "batch_norm") continue;
    if (t.name.size() < 7 || t.name.compare(t.name.size() - 7, 7, ".weight") != 0) continue;
    for (int64_t i = 0; i < t.tensor->size(); ++i) (*t.tensor)[i] = 0.5f + 2.5f * std::abs((*t.tensor)[i]);
  }
}

QuantizedModel W8A8(const ModelSpec& spec, uint64_t seed, int64_t calibration) {
  Network net = BuildNetwork(spec);
  RandomizeWithTrainedLikeBn(net, seed);
  QuantizeOptions options;
  options.sample_capacity = 4096;
  return QuantizeNetwork(net, spec, Uniform(net, 8, 8), RandomImages(calibration, seed + 1), FirstN(calibration),
                         options, nullptr);
}

std::vector<XbarConfig> IdealChips() {
  XbarConfig bit_serial;
  bit_serial.device = DevicePreset("ideal");
  bit_serial.crossbar.slice_bits = 4;
  bit_serial.crossbar.adc.bits = 16;  // full scale 128 · 1 · 15 per slice
  XbarConfig dac = bit_serial;
  dac.crossbar.rows_max = 64;
  dac.crossbar.mapping = CrossbarMapping::kOffset;
  dac.crossbar.slice_bits = 0;
  dac.crossbar.input = {InputMode::kDac, 8, 1};
  dac.crossbar.adc.bits = 24;  // full scale 64 · 255 · 254 < 2^23 − 1
  return {bit_serial, dac};
}

void ExpectIdealChipGivesEngineLogits(const QuantizedModel& model, int64_t images, const std::vector<XbarConfig>& chips) {
  const Cifar10Set data = RandomImages(images, 71);
  ThreadPool pool(2);
  std::vector<int32_t> expected(static_cast<size_t>(images * model.num_classes)), logits(expected.size());
  IntegerNetwork(model).Forward(data.image(0), images, expected.data(), pool);
  for (const XbarConfig& xbar : chips) {
    SCOPED_TRACE(ToString(xbar.crossbar.input.mode));
    IntegerNetwork chip(model, ChipCoreFactory(xbar));
    ASSERT_EQ(chip.core(0)->Name(), "crossbar");
    std::fill(logits.begin(), logits.end(), -1);
    chip.Forward(data.image(0), images, logits.data(), pool);
    EXPECT_EQ(logits, expected);
  }
}

TEST(ModelZooCrossbar, IdealChipTinyVggGivesTheIntegerEnginesLogits) {
  ModelSpec spec;
  spec.arch = "vgg";
  spec.vgg_config = "tiny";
  const QuantizedModel model = W8A8(spec, 5, 4);
  ASSERT_EQ(model.nodes.back().name, "classifier");
  ExpectIdealChipGivesEngineLogits(model, 4, IdealChips());
}

TEST(ModelZooCrossbar, IdealChipResNet18GivesTheIntegerEnginesLogits) {
  ModelSpec spec;
  spec.depth = 18;
  spec.shortcut = 'B';
  const QuantizedModel model = W8A8(spec, 6, 2);
  ExpectIdealChipGivesEngineLogits(model, 1, {IdealChips()[1]});  // the DAC chip only (bit-serial: 8× the reads)
}

}  // namespace
}  // namespace cimsim
