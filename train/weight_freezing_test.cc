// Iterative weight freezing: the tracker's counts, frequencies and freezes against hand-computed
// sequences, the threshold ramp, frozen codes in WeightQuantizer::Codes, the backward pass of frozen
// weights (no latent gradient; the step learns with ∂ŵ/∂s = c_frozen, checked against central
// differences of Σ g·ŵ(s) when every weight is frozen), and the argument errors.
#include "train/weight_freezing.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"
#include "quant/lsq.h"
#include "train/fake_quantizer.h"
#include "train/weight_rows_test_util.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InvalidArgumentOf;
using ::cimsim::testing::RandomWeightRows;

// Weight 0 alternates 0, 1, 0, 1, ...; weight 1 walks 0, 1, 2, 2, 2 (never back); weight 2 goes 0, 1,
// 1, 0, 0 (back after a pause: one oscillation). Momentum 1/2, so each frequency is exact in binary.
TEST(OscillationTracker, CountsAChangeAgainstTheLastChangeAsAnOscillation) {
  const std::vector<std::vector<float>> steps = {{1, 1, 1}, {0, 2, 1}, {1, 2, 0}, {0, 2, 0}};
  OscillationTracker t(std::vector<float>{0, 0, 0}, 3);
  const std::vector<std::vector<float>> f = {{0, 0, 0}, {0.5f, 0, 0}, {0.75f, 0, 0.5f}, {0.875f, 0, 0.25f}};
  for (size_t s = 0; s < steps.size(); ++s) {
    EXPECT_EQ(t.Update(steps[s], 0.5, 1.0), 0) << s;  // f never exceeds 1: nothing freezes
    for (int64_t i = 0; i < 3; ++i) EXPECT_EQ(t.frequency(i), f[s][static_cast<size_t>(i)]) << "step " << s << " weight " << i;
  }
  EXPECT_EQ(t.FrozenCount(), 0);
}

// Weight 0 alternates 0, 1, 0, 1 from a start at 0, threshold 0.6, momentum 1/2: f = 0, 0.5, 0.75 —
// frozen at step 3, at round(c̄) with c̄ = 0 → 0.5 → 0.25 before that step: code 0. Weight 1 is a
// code −3 weight that oscillates −3, −2, −3: frozen at step 3 at round(c̄ = −2.75) = −3. A frozen
// code overrides the codes.
TEST(OscillationTracker, FreezesAboveTheThresholdAtTheRoundedMeanCode) {
  OscillationTracker t(std::vector<float>{0, -3}, 3);
  EXPECT_EQ(t.Update(std::vector<float>{1, -2}, 0.5, 0.6), 0);
  EXPECT_EQ(t.Update(std::vector<float>{0, -3}, 0.5, 0.6), 0);
  EXPECT_EQ(t.Update(std::vector<float>{1, -2}, 0.5, 0.6), 2);
  EXPECT_TRUE(t.frozen(0));
  EXPECT_TRUE(t.frozen(1));
  EXPECT_EQ(t.frozen_code(0), 0.0f);
  EXPECT_EQ(t.frozen_code(1), -3.0f);
  std::vector<float> codes = {1, -2};
  t.Apply(codes);
  EXPECT_EQ(codes, (std::vector<float>{0, -3}));
  // Frozen weights stay frozen at their code whatever follows.
  EXPECT_EQ(t.Update(std::vector<float>{0, -3}, 0.5, 0.6), 0);
  EXPECT_EQ(t.FrozenCount(), 2);
  EXPECT_EQ(t.frozen_code(0), 0.0f);
}

TEST(OscillationTracker, ThresholdRampsWithACosineFromStartToEnd) {
  const WeightFreezingParams p{0.01, 1.01, 0.01};
  EXPECT_DOUBLE_EQ(FreezingThresholdAt(p, 0.0), 1.01);
  EXPECT_NEAR(FreezingThresholdAt(p, 0.5), 0.51, 1e-15);
  EXPECT_DOUBLE_EQ(FreezingThresholdAt(p, 1.0), 0.01);
  EXPECT_DOUBLE_EQ(FreezingThresholdAt(p, 3.0), 0.01);  // clamped
  EXPECT_NEAR(FreezingThresholdAt({0.02, 0.02, 0.5}, 0.3), 0.02, 1e-17);
  EXPECT_NEAR(FreezingThresholdAt({0.0, 0.2, 0.5}, 0.25), 0.1 * (1 + std::cos(std::numbers::pi / 4)), 1e-15);
}

// The codes of a 2-bit quantizer with one weight of every row frozen: those weights read their frozen
// codes, the others the usual LSQ/DSQ codes.
TEST(WeightQuantizerFreezing, FrozenWeightsReadTheirFrozenCodes) {
  const int64_t rows = 2, cols = 3;
  const std::vector<double> scales = {0.1, 0.2};
  const std::vector<float> w = {0.04f, 0.06f, -0.3f, 0.12f, -0.05f, 0.35f};
  for (const QatMethod method : {QatMethod::kLsq, QatMethod::kDsq}) {
    WeightQuantizer q(method, 2, rows, cols, scales);
    std::vector<float> codes(w.size());
    q.Codes(w.data(), codes.data());
    EXPECT_EQ(codes, (std::vector<float>{0, 1, -1, 1, 0, 1})) << ToString(method);
    q.EnableFreezing(codes);
    // Weight 1 oscillates 1 → 0 → 1 and weight 4 0 → 1 → 0 (momentum 1: f = 1 after one oscillation).
    std::vector<float> step = codes;
    step[1] = 0;
    step[4] = 1;
    EXPECT_EQ(q.TrackOscillations(step, 1.0, 0.5), 0);
    EXPECT_EQ(q.TrackOscillations(codes, 1.0, 0.5), 2);
    ASSERT_NE(q.freezing(), nullptr);
    // Frozen at round(c̄), c̄ = the last step's codes with momentum 1: weight 1 at 0, weight 4 at 1.
    std::vector<float> moved = w;
    moved[1] = 0.2f;    // would be code 1
    moved[4] = -0.25f;  // would be code −1
    q.Codes(moved.data(), codes.data());
    EXPECT_EQ(codes, (std::vector<float>{0, 0, -1, 1, 1, 1})) << ToString(method);
  }
}

// Backward with frozen weights: no gradient reaches them, the other weights get what an unfrozen
// quantizer gives them (for a gradient with the frozen entries zeroed), and each row's step adds
// g_row·Σ_frozen dL/dŵ·c_frozen (DSQ: on u = s·Q, divided by Q). Float tolerance: the step is
// float32 of a double sum, compared to 1e-6 relative.
TEST(WeightQuantizerFreezing, FrozenWeightsTrainOnlyTheirStep) {
  Rng rng(5);
  const int64_t rows = 3, cols = 40;
  const std::vector<double> scales = {0.05, 0.08, 0.02};
  const auto [w, g] = RandomWeightRows(cols, scales, 2, rng);
  for (const QatMethod method : {QatMethod::kLsq, QatMethod::kDsq}) {
    WeightQuantizer frozen(method, 2, rows, cols, scales), plain(method, 2, rows, cols, scales);
    std::vector<float> codes(w.size());
    frozen.Codes(w.data(), codes.data());
    frozen.EnableFreezing(codes);
    // Every third weight moves and comes back (momentum 1: f = 1): frozen at round(c̄), c̄ = the moved code.
    std::vector<float> flipped = codes;
    for (size_t i = 0; i < flipped.size(); i += 3) flipped[i] = codes[i] == 1 ? 0.0f : codes[i] + 1;
    (void)frozen.TrackOscillations(flipped, 1.0, 0.5);
    ASSERT_EQ(frozen.TrackOscillations(codes, 1.0, 0.5), static_cast<int64_t>((w.size() + 2) / 3)) << ToString(method);
    std::vector<float> masked = g;
    for (size_t i = 0; i < masked.size(); i += 3) masked[i] = 0;
    std::vector<float> gf(w.size()), gp(w.size());
    frozen.Backward(w.data(), g.data(), gf.data());
    plain.Backward(w.data(), masked.data(), gp.data());
    for (size_t i = 0; i < gf.size(); ++i) EXPECT_EQ(gf[i], i % 3 == 0 ? 0.0f : gp[i]) << ToString(method) << " " << i;
    std::vector<float> step_f, step_p;
    frozen.VisitParams("w", [&](const std::string& suffix, Tensor&, Tensor& grad) {
      if (suffix != "w_alpha") step_f.assign(grad.data(), grad.data() + grad.size());
    });
    plain.VisitParams("w", [&](const std::string& suffix, Tensor&, Tensor& grad) {
      if (suffix != "w_alpha") step_p.assign(grad.data(), grad.data() + grad.size());
    });
    const double g_row = LsqGradScale(cols, 1);
    for (int64_t o = 0; o < rows; ++o) {
      double extra = 0;
      for (int64_t k = 0; k < cols; ++k) {
        const size_t i = static_cast<size_t>(o * cols + k);
        if (i % 3 == 0) {
          EXPECT_EQ(frozen.freezing()->frozen_code(static_cast<int64_t>(i)), flipped[i]);
          extra += static_cast<double>(g[i]) * flipped[i];
        }
      }
      const double expect = step_p[static_cast<size_t>(o)] + extra * g_row;  // Q = 1: u and s agree
      EXPECT_NEAR(step_f[static_cast<size_t>(o)], expect, 1e-6 * std::abs(expect) + 1e-7) << ToString(method) << " row " << o;
    }
  }
}

// With every weight frozen the step gradient is the exact derivative of L(s) = Σ g·ŵ(s), ŵ = s·c:
// central differences of L (linear in s) agree to float rounding.
TEST(WeightQuantizerFreezing, StepGradientOfFrozenWeightsMatchesCentralDifferences) {
  Rng rng(8);
  const int64_t rows = 2, cols = 30;
  const std::vector<double> scales = {0.05, 0.11};
  const auto [w, g] = RandomWeightRows(cols, scales, 4, rng);
  WeightQuantizer q(QatMethod::kLsq, 3, rows, cols, scales);
  std::vector<float> codes(w.size());
  q.Codes(w.data(), codes.data());
  q.EnableFreezing(codes);
  std::vector<float> flipped = codes;
  for (float& c : flipped) c = c == 3 ? 2.0f : c + 1;
  (void)q.TrackOscillations(flipped, 1.0, 0.5);
  ASSERT_EQ(q.TrackOscillations(codes, 1.0, 0.5), rows * cols);
  std::vector<float> gw(w.size());
  q.Backward(w.data(), g.data(), gw.data());
  for (const float v : gw) EXPECT_EQ(v, 0.0f);
  std::vector<float> step;
  q.VisitParams("w", [&](const std::string&, Tensor&, Tensor& grad) { step.assign(grad.data(), grad.data() + grad.size()); });
  for (int64_t o = 0; o < rows; ++o) {
    auto loss = [&](double s) {
      double sum = 0;
      for (int64_t k = 0; k < cols; ++k) sum += static_cast<double>(g[static_cast<size_t>(o * cols + k)]) * s * flipped[static_cast<size_t>(o * cols + k)];
      return sum;
    };
    const double s = scales[static_cast<size_t>(o)], h = 1e-4;
    const double fd = (loss(s + h) - loss(s - h)) / (2 * h) * LsqGradScale(cols, 3);
    EXPECT_NEAR(step[static_cast<size_t>(o)], fd, 1e-5 * std::abs(fd) + 1e-7) << "row " << o;
  }
}

TEST(WeightFreezingErrors, BadArgumentsThrowNamingThem) {
  OscillationTracker t(std::vector<float>{0, 0}, 1);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { t.Update(std::vector<float>{0}, 0.5, 0.1); }), "1 codes for a tracker of 2"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { t.Update(std::vector<float>{0, 0}, 0.0, 0.1); }), "momentum = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { t.Update(std::vector<float>{0, 0}, 0.5, -1); }), "threshold = -1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { OscillationTracker(std::vector<float>{0}, 0); }), "codes [0, 0]"));
  WeightQuantizer fixed(QatMethod::kFixed, 2, 1, 2, {0.1});
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { fixed.EnableFreezing(std::vector<float>{0, 0}); }), "fixed"));
  WeightQuantizer lsq(QatMethod::kLsq, 2, 1, 2, {0.1});
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { lsq.EnableFreezing(std::vector<float>{0}); }), "1 codes for 1 x 2"));
}

}  // namespace
}  // namespace cimsim
