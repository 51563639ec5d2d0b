// Output-statistics recalibration (output_statistics.h, sim/output_affine_core.h): the moment-matching
// map and the affine core by hand; an exact chip gets gain 1 and offset 0; a chip whose every layer is
// off by a known affine map is corrected back to the exact network (identical logits on new images);
// on a noisy PCM crossbar the corrected network reproduces the exact engine's per-channel moments on the
// calibration images (up to the rounding of the corrected outputs), the fit is a pure function of its
// seed, and the reference moments do not depend on the thread count.
#include "calib/output_statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "devices/device_presets.h"
#include "nets/integer_network.h"
#include "nets/quant_test_util.h"
#include "sim/crossbar_core.h"
#include "sim/output_affine_core.h"

namespace cimsim {
namespace {

using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

QuantizedModel Model() {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  return QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 7);
}

bool IsMvm(const QNode& n) { return n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear; }

std::vector<int> MvmNodes(const QuantizedModel& m) {
  std::vector<int> nodes;
  for (size_t i = 0; i < m.nodes.size(); ++i)
    if (IsMvm(m.nodes[i])) nodes.push_back(static_cast<int>(i));
  return nodes;
}

// The exact product, then y ← gain·y + offset (integers): a chip with a known per-layer distortion.
class DistortingCore : public MvmCore {
 public:
  DistortingCore(std::unique_ptr<MvmCore> exact, int32_t gain, int32_t offset)
      : exact_(std::move(exact)), gain_(gain), offset_(offset) {}
  std::string_view Name() const override { return "distorting"; }
  int64_t Outputs() const override { return exact_->Outputs(); }
  int64_t Depth() const override { return exact_->Depth(); }
  CodeRange InputRange() const override { return exact_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    exact_->Multiply(x, y, ldy, ctx);
    for (int64_t o = 0; o < Outputs(); ++o)
      for (int64_t j = 0; j < x.n; ++j) y[o * ldy + j] = gain_ * y[o * ldy + j] + offset_;
  }

 private:
  std::unique_ptr<MvmCore> exact_;
  int32_t gain_, offset_;
};

std::unique_ptr<MvmCore> Pcm(const QNode& node, int index) {
  static const DeviceModel device(DevicePreset("pcm"));
  CrossbarParams p;
  p.slice_bits = 4;
  p.read_time = 3600;
  Rng program = Rng(3).Derive(static_cast<uint64_t>(index));
  return std::make_unique<CrossbarCore>(std::span<const int16_t>(node.weights), node.out_channels, node.Depth(),
                                        node.weight_bits, node.InputMin(), node.InputMax(), device, p, program);
}

// Per-node Σy, Σy² and counts of every call (double: the test's own, independent sums).
class MomentProbe : public MvmCore {
 public:
  MomentProbe(std::unique_ptr<MvmCore> inner, std::vector<double>& sum, std::vector<double>& squares, int64_t& count)
      : inner_(std::move(inner)), sum_(sum), squares_(squares), count_(count) {}
  std::string_view Name() const override { return inner_->Name(); }
  int64_t Outputs() const override { return inner_->Outputs(); }
  int64_t Depth() const override { return inner_->Depth(); }
  CodeRange InputRange() const override { return inner_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    inner_->Multiply(x, y, ldy, ctx);
    for (int64_t o = 0; o < Outputs(); ++o)
      for (int64_t j = 0; j < x.n; ++j) {
        const double v = y[o * ldy + j];
        sum_[static_cast<size_t>(o)] += v;
        squares_[static_cast<size_t>(o)] += v * v;
      }
    count_ += x.n;
  }

 private:
  std::unique_ptr<MvmCore> inner_;
  std::vector<double>& sum_;
  std::vector<double>& squares_;
  int64_t& count_;
};

TEST(OutputStatisticsTest, MatchMomentsByHand) {
  const ChannelMoments ref{{10.0, 5.0}, {4.0, 3.0}}, chip{{2.0, 1.0}, {2.0, 0.0}};
  const OutputAffine a = MatchMoments(ref, chip);
  EXPECT_EQ(a.gain, (std::vector<double>{2.0, 1.0}));           // σ_ref/σ_chip; 1 for a constant channel
  EXPECT_EQ(a.offset, (std::vector<double>{10.0 - 2.0 * 2.0, 5.0 - 1.0}));
  EXPECT_THROW(MatchMoments(ref, ChannelMoments{{1.0}, {1.0}}), std::invalid_argument);
}

TEST(OutputStatisticsTest, AffineCoreRoundsClampsAndChecksItsShape) {
  const std::vector<int16_t> w = {1, 2, 3, -1, 0, 4};   // 2 outputs × 3
  const std::vector<int16_t> x = {1, 1, 1, 2, 0, -1};   // 2 vectors, vector-major
  auto exact = std::make_unique<IdealCore>(w, 2, 3, 8, -8, 7);
  const OutputAffineCore core(std::make_unique<IdealCore>(w, 2, 3, 8, -8, 7), OutputAffine{{0.5, 3e9}, {0.25, -1.0}});
  MvmContext ctx;
  int32_t exact_y[4], y[4];
  exact->Multiply(InputCodes::VectorMajor(x.data(), 3, 2), exact_y, 2, ctx);
  core.Multiply(InputCodes::VectorMajor(x.data(), 3, 2), y, 2, ctx);
  // Output 0: 6 → round(3.25) = 3, −1 → round(−0.25) = 0; output 1: 3 and −6 times 3e9, minus 1, clamped.
  EXPECT_EQ(std::vector<int32_t>(exact_y, exact_y + 4), (std::vector<int32_t>{6, -1, 3, -6}));
  EXPECT_EQ(std::vector<int32_t>(y, y + 4), (std::vector<int32_t>{3, 0, std::numeric_limits<int32_t>::max(),
                                                                   std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(core.Name(), "ideal");
  EXPECT_THROW(OutputAffineCore(std::make_unique<IdealCore>(w, 2, 3, 8, -8, 7), OutputAffine{{1.0}, {0.0}}),
               std::invalid_argument);
  EXPECT_THROW(OutputAffineCore(std::make_unique<IdealCore>(w, 2, 3, 8, -8, 7),
                                OutputAffine{{1.0, std::nan("")}, {0.0, 0.0}}),
               std::invalid_argument);
}

TEST(OutputStatisticsTest, AnExactChipNeedsNoCorrection) {
  const QuantizedModel model = Model();
  const Cifar10Set images = RandomImages(20, 3);
  ThreadPool pool(2);
  const auto reference = ReferenceMoments(model, MvmNodes(model), images.image(0), 20, pool);
  std::vector<std::unique_ptr<MvmCore>> owned(model.nodes.size());
  std::vector<const MvmCore*> cores(model.nodes.size(), nullptr);
  for (int i : MvmNodes(model)) {
    owned[static_cast<size_t>(i)] = MakeIdealCore(model.nodes[static_cast<size_t>(i)], i);
    cores[static_cast<size_t>(i)] = owned[static_cast<size_t>(i)].get();
  }
  const auto fitted = FitOutputStatistics(model, cores, reference, images.image(0), 20, 9);
  ASSERT_EQ(fitted.size(), MvmNodes(model).size());
  for (const auto& [node, a] : fitted)
    for (size_t o = 0; o < a.gain.size(); ++o) {
      EXPECT_EQ(a.gain[o], 1.0) << "node " << node << " output " << o;
      EXPECT_EQ(a.offset[o], 0.0) << "node " << node << " output " << o;
    }
}

TEST(OutputStatisticsTest, AKnownAffineDistortionOfEveryLayerIsUndoneExactly) {
  const QuantizedModel model = Model();
  const Cifar10Set calibration = RandomImages(30, 4), test = RandomImages(12, 5);
  ThreadPool pool(1);
  const auto reference = ReferenceMoments(model, MvmNodes(model), calibration.image(0), 30, pool);
  std::vector<std::unique_ptr<MvmCore>> cores(model.nodes.size());
  for (int i : MvmNodes(model))
    cores[static_cast<size_t>(i)] = std::make_unique<DistortingCore>(
        MakeIdealCore(model.nodes[static_cast<size_t>(i)], i), 3, -7 + i);   // y ← 3y − 7 + i
  CorrectOutputStatistics(model, cores, {std::vector<uint8_t>(calibration.pixels), 30, reference}, 1);
  // Every layer's fitted map is the inverse one: gain 1/3, offset (7 − i)/3.
  for (int i : MvmNodes(model)) {
    const auto* corrected = dynamic_cast<const OutputAffineCore*>(cores[static_cast<size_t>(i)].get());
    ASSERT_NE(corrected, nullptr);
    for (size_t o = 0; o < corrected->affine().gain.size(); ++o) {
      EXPECT_NEAR(corrected->affine().gain[o], 1.0 / 3.0, 1e-9);
      EXPECT_NEAR(corrected->affine().offset[o], (7.0 - i) / 3.0, 1e-6);
    }
  }
  // On images the fit never saw, the corrected chip network is the exact one.
  IntegerNetwork exact(model);
  IntegerNetwork chip(model, [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    return cores[static_cast<size_t>(index)] ? std::move(cores[static_cast<size_t>(index)]) : MakeIdealCore(node, index);
  });
  std::vector<int32_t> a(12 * 10), b(12 * 10);
  exact.Forward(test.image(0), 12, a.data(), pool);
  chip.Forward(test.image(0), 12, b.data(), pool);
  EXPECT_EQ(a, b);
}

TEST(OutputStatisticsTest, ANoisyChipGetsTheReferenceMomentsOnTheCalibrationImages) {
  const QuantizedModel model = Model();
  constexpr int64_t n = 16;
  const Cifar10Set calibration = RandomImages(n, 6);
  ThreadPool pool(2);
  const std::vector<int> nodes = MvmNodes(model);
  const auto reference = ReferenceMoments(model, nodes, calibration.image(0), n, pool);
  const auto programmed = [&] {
    std::vector<std::unique_ptr<MvmCore>> cores(model.nodes.size());
    for (int i : nodes) cores[static_cast<size_t>(i)] = Pcm(model.nodes[static_cast<size_t>(i)], i);
    return cores;
  };
  const OutputStatisticsInputs inputs{std::vector<uint8_t>(calibration.pixels), n, reference};
  std::vector<std::unique_ptr<MvmCore>> cores = programmed();
  CorrectOutputStatistics(model, cores, inputs, 11);

  // The same pass (same images, one group, same noise seed) through the corrected cores, measured.
  std::vector<std::vector<double>> sum(model.nodes.size()), squares(model.nodes.size());
  std::vector<int64_t> count(model.nodes.size(), 0);
  IntegerNetwork net(model, [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    const auto i = static_cast<size_t>(index);
    sum[i].assign(static_cast<size_t>(node.out_channels), 0.0);
    squares[i].assign(static_cast<size_t>(node.out_channels), 0.0);
    return std::make_unique<MomentProbe>(std::move(cores[i]), sum[i], squares[i], count[i]);
  }, "model", 11);
  IntegerWorker worker;
  std::vector<int32_t> logits(n * 10);
  net.ForwardGroup(calibration.image(0), n, logits.data(), worker, 0);
  double largest_shift = 0;
  for (int i : nodes) {
    const auto k = static_cast<size_t>(i);
    const ChannelMoments& ref = reference.at(i);
    for (size_t o = 0; o < ref.mean.size(); ++o) {
      const double c = static_cast<double>(count[k]);
      const double mean = sum[k][o] / c, sd = std::sqrt(std::max(0.0, squares[k][o] / c - mean * mean));
      // y' = round(z) with z of exactly the reference moments: |Δmean| ≤ 1/2, |Δσ| ≤ 1/2 (+ float slack).
      EXPECT_LE(std::abs(mean - ref.mean[o]), 0.5 + 1e-9 * std::abs(ref.mean[o])) << model.nodes[k].name << " " << o;
      EXPECT_LE(std::abs(sd - ref.std[o]), 0.5 + 1e-6 * ref.std[o]) << model.nodes[k].name << " " << o;
    }
  }
  // The noise is real: without the correction the chip's moments are off somewhere by more than that.
  std::vector<std::unique_ptr<MvmCore>> raw = programmed();
  std::vector<const MvmCore*> view;
  for (const auto& c : raw) view.push_back(c.get());
  const auto fitted = FitOutputStatistics(model, view, reference, calibration.image(0), n, 11);
  for (const auto& [node, a] : fitted)
    for (size_t o = 0; o < a.gain.size(); ++o) largest_shift = std::max(largest_shift, std::abs(a.gain[o] - 1.0));
  EXPECT_GT(largest_shift, 0.01);
  // A pure function of its arguments: the same fit again, and another noise seed gives another one.
  const auto again = FitOutputStatistics(model, view, reference, calibration.image(0), n, 11);
  const auto other = FitOutputStatistics(model, view, reference, calibration.image(0), n, 12);
  bool any_differs = false;
  for (const auto& [node, a] : fitted) {
    EXPECT_EQ(again.at(node).gain, a.gain);
    EXPECT_EQ(again.at(node).offset, a.offset);
    any_differs = any_differs || other.at(node).gain != a.gain;
  }
  EXPECT_TRUE(any_differs);
}

TEST(OutputStatisticsTest, ReferenceMomentsDoNotDependOnThreadsAndArgumentsAreChecked) {
  const QuantizedModel model = Model();
  const Cifar10Set images = RandomImages(9, 8);
  ThreadPool one(1), two(2);
  const auto a = ReferenceMoments(model, MvmNodes(model), images.image(0), 9, one);
  const auto b = ReferenceMoments(model, MvmNodes(model), images.image(0), 9, two);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [node, m] : a) {
    EXPECT_EQ(b.at(node).mean, m.mean);
    EXPECT_EQ(b.at(node).std, m.std);
  }
  int other = 0;
  while (IsMvm(model.nodes[static_cast<size_t>(other)])) ++other;
  EXPECT_THROW(ReferenceMoments(model, {other}, images.image(0), 9, one), std::invalid_argument);
  EXPECT_THROW(ReferenceMoments(model, MvmNodes(model), images.image(0), 0, one), std::invalid_argument);
  std::vector<const MvmCore*> too_few(1, nullptr);
  EXPECT_THROW(FitOutputStatistics(model, too_few, a, images.image(0), 9, 1), std::invalid_argument);
  std::vector<std::unique_ptr<MvmCore>> owned;
  std::vector<const MvmCore*> cores(model.nodes.size(), nullptr);
  const int first = MvmNodes(model)[0];
  owned.push_back(MakeIdealCore(model.nodes[static_cast<size_t>(first)], first));
  cores[static_cast<size_t>(first)] = owned[0].get();
  EXPECT_THROW(FitOutputStatistics(model, cores, {}, images.image(0), 9, 1), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
