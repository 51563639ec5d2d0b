// Tests of chip calibration (chip_calibration.h) and of calibration inputs from real activations
// (activation_inputs.h) on a random ResNet-8 quantized to W8A8.
#include "calib/chip_calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "devices/device_presets.h"
#include "calib/activation_inputs.h"
#include "nets/quant_test_util.h"
#include "sim/crossbar_core.h"

namespace cimsim {
namespace {

using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

// A random ResNet-8 at W8A8 (built once: every test reads it).
const QuantizedModel& Model() {
  static const QuantizedModel model = [] {
    const ModelSpec spec = SpecFor("resnet", 8, 'A');
    Network net = BuildNetwork(spec);
    return QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 3);
  }();
  return model;
}

int NodeIndex(const std::string& name) {
  const auto& nodes = Model().nodes;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == name) return static_cast<int>(i);
  ADD_FAILURE() << "no node " << name;
  return 0;
}

CrossbarCore Chip(const QNode& n, const std::string& device, const CrossbarParams& params, uint64_t seed) {
  Rng rng(seed);
  return CrossbarCore(n.weights, n.out_channels, n.Depth(), n.weight_bits, n.InputMin(), n.InputMax(),
                      DeviceModel(DevicePreset(device)), params, rng);
}

// 128 × 128 tiles, bit-serial 1-bit inputs, 8-bit ADC at the max range, one cell pair per weight, and
// the acceptance test's periphery: 5 % column gain spread and offsets of 1 % of the column full scale.
CrossbarParams PeripheryChip() {
  CrossbarParams p;
  p.periphery = {0.05, 0.01};
  return p;
}

TEST(ChipCalibrationTest, CutsHeldOutRmseAtLeastTwofoldForColumnGainAndOffsetSpread) {
  for (const char* layer : {"layer1.0.conv1", "layer3.0.conv2"}) {
    for (const char* device : {"ideal", "pcm"}) {
      SCOPED_TRACE(std::string(layer) + " on " + device);
      const QNode& n = Model().nodes[static_cast<size_t>(NodeIndex(layer))];
      CrossbarCore core = Chip(n, device, PeripheryChip(), 11);
      ChipCalibrationParams params;
      params.fit_vectors = 256;
      params.holdout_vectors = 256;
      const LayerCalibration cal = CalibrateLayer(n, core, params);
      EXPECT_GT(cal.rmse_before, 0);
      EXPECT_LE(2 * cal.rmse_after, cal.rmse_before) << "before " << cal.rmse_before << ", after " << cal.rmse_after;
      const std::unique_ptr<MvmCore> calibrated = ApplyCalibration(cal, core, "test");
      const std::span<const ColumnCorrection> applied = calibrated->Readout()->Corrections();
      EXPECT_EQ(std::vector<ColumnCorrection>(applied.begin(), applied.end()), cal.corrections);   // in the twin
      EXPECT_EQ(core.corrections(), std::vector<ColumnCorrection>(cal.corrections.size()));   // the chip unchanged
    }
  }
}

TEST(ChipCalibrationTest, ColumnGainsAreInvertedOnAnIdealArray) {
  // Ideal devices, a 12-bit ADC, gain spread only: the fitted gain of each column undoes the analog
  // gain a to within 1 % (quantization of the ADC is the only other error).
  const QNode& n = Model().nodes[static_cast<size_t>(NodeIndex("layer2.0.conv1"))];
  CrossbarParams p;
  p.adc.bits = 12;
  p.periphery.gain_sigma = 0.1;
  CrossbarCore core = Chip(n, "ideal", p, 5);
  ChipCalibrationParams params;
  params.fit_vectors = 128;
  const LayerCalibration cal = CalibrateLayer(n, core, params);
  ASSERT_EQ(cal.corrections.size(), core.analog_periphery().size());
  double spread = 0;
  for (size_t i = 0; i < cal.corrections.size(); ++i) {
    const double a = core.analog_periphery()[i].gain;
    spread = std::max(spread, std::abs(a - 1));
    EXPECT_NEAR(cal.corrections[i].gain * a, 1.0, 0.01) << "column " << i;
  }
  EXPECT_GT(spread, 0.1);   // the chip really had a spread to undo
  EXPECT_LT(cal.relative_after, 0.1 * cal.relative_before);
}

TEST(ChipCalibrationTest, RejectsInputsOfTheWrongShapeOrRange) {
  const QNode& n = Model().nodes[static_cast<size_t>(NodeIndex("layer1.0.conv1"))];
  CrossbarCore core = Chip(n, "ideal", CrossbarParams{}, 1);
  const ChipCalibrationParams params;
  CalibrationInputs good = RandomCalibrationInputs(core, params);
  CalibrationInputs wrong_k = good;
  wrong_k.fit.K += 1;
  EXPECT_THROW(CalibrateLayer(n, core, wrong_k, params), std::invalid_argument);
  CalibrationInputs out_of_range = good;
  out_of_range.holdout.plain[3] = -1;   // the layer's inputs are unsigned
  EXPECT_THROW(CalibrateLayer(n, core, out_of_range, params), std::invalid_argument);
  EXPECT_NO_THROW(CalibrateLayer(n, core, good, params));
}

// ---- inputs from real activations ----

TEST(ActivationInputsTest, Conv1VectorsAreIm2colPatchesOfTheImageCodes) {
  const QuantizedModel& m = Model();
  const int conv1 = NodeIndex("conv1");
  const Cifar10Set images = RandomImages(3, 9);
  const auto taken = SampleActivationInputs(m, {conv1}, images.pixels.data(), 3, 7, 4);
  const LayerInputs& in = taken.at(conv1);
  ASSERT_EQ(in.K, 27);
  ASSERT_EQ(in.n, 7);   // 3 per image from images 0, 1 and the first of image 2
  ASSERT_EQ(in.plain.size(), 27u * 7);
  // Every patch of image m, by hand: k = (c·3 + a)·3 + b holds code[c][r + a − 1][q + b − 1] (0 outside).
  auto patches = [&](int64_t image) {
    std::set<std::vector<int16_t>> all;
    for (int r = 0; r < 32; ++r)
      for (int q = 0; q < 32; ++q) {
        std::vector<int16_t> v;
        for (int c = 0; c < 3; ++c)
          for (int a = 0; a < 3; ++a)
            for (int b = 0; b < 3; ++b) {
              const int y = r + a - 1, x = q + b - 1;
              const bool inside = y >= 0 && y < 32 && x >= 0 && x < 32;
              v.push_back(inside ? m.input_lut[static_cast<size_t>(c)][images.image(image)[(c * 32 + y) * 32 + x]] : 0);
            }
        all.insert(v);
      }
    return all;
  };
  for (int64_t j = 0; j < 7; ++j) {
    const std::vector<int16_t> v(in.plain.begin() + j * 27, in.plain.begin() + (j + 1) * 27);
    EXPECT_TRUE(patches(j / 3).contains(v)) << "vector " << j;
  }
}

TEST(ActivationInputsTest, APureFunctionOfItsArgumentsWithDisjointFitAndHeldOutImages) {
  const QuantizedModel& m = Model();
  const std::vector<int> nodes = {NodeIndex("layer2.0.conv2"), NodeIndex("linear")};
  const Cifar10Set images = RandomImages(6, 2);
  ChipCalibrationParams params;
  params.fit_vectors = 40;
  params.holdout_vectors = 30;
  const auto a = ActivationCalibrationInputs(m, nodes, images.pixels.data(), 6, params);
  const auto b = ActivationCalibrationInputs(m, nodes, images.pixels.data(), 6, params);
  for (int node : nodes) {
    const QNode& n = m.nodes[static_cast<size_t>(node)];
    const CalibrationInputs& in = a.at(node);
    EXPECT_EQ(in.fit.plain, b.at(node).fit.plain);
    EXPECT_EQ(in.fit.n, 40);
    EXPECT_EQ(in.holdout.n, 30);
    EXPECT_EQ(in.fit.K, n.Depth());
    int64_t nonzero = 0;
    for (int16_t v : in.fit.plain) {
      ASSERT_GE(v, n.InputMin());
      ASSERT_LE(v, n.InputMax());
      nonzero += v != 0;
    }
    EXPECT_GT(nonzero, 0);
    // The held-out vectors come from images 3..5 alone: sampling those images directly gives them.
    const int64_t image_size = 3 * 32 * 32;
    const auto direct = SampleActivationInputs(m, {node}, images.pixels.data() + 3 * image_size, 3, 30,
                                               Rng(params.seed).Derive(1).NextU64());
    EXPECT_EQ(direct.at(node).plain, in.holdout.plain);
  }
  ChipCalibrationParams other = params;
  other.seed = 2;
  EXPECT_NE(ActivationCalibrationInputs(m, nodes, images.pixels.data(), 6, other).at(nodes[0]).fit.plain,
            a.at(nodes[0]).fit.plain);
  EXPECT_THROW(ActivationCalibrationInputs(m, nodes, images.pixels.data(), 1, params), std::invalid_argument);
}

TEST(ActivationInputsTest, CalibrationOnActivationsCutsTheirHeldOutError) {
  const QuantizedModel& m = Model();
  const int node = NodeIndex("layer2.0.conv2");
  const QNode& n = m.nodes[static_cast<size_t>(node)];
  const Cifar10Set images = RandomImages(8, 5);
  ChipCalibrationParams params;
  params.fit_vectors = 256;
  params.holdout_vectors = 256;
  const auto inputs = ActivationCalibrationInputs(m, {node}, images.pixels.data(), 8, params);
  CrossbarCore core = Chip(n, "ideal", PeripheryChip(), 3);
  const LayerCalibration cal = CalibrateLayer(n, core, inputs.at(node), params);
  EXPECT_LE(2 * cal.rmse_after, cal.rmse_before) << "before " << cal.rmse_before << ", after " << cal.rmse_after;
}

}  // namespace
}  // namespace cimsim
