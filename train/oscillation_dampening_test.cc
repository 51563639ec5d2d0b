// Oscillation dampening: the reference gradient against central differences of the reference term
// (away from decision thresholds, where ŵ is constant), the float fast path against the reference,
// weights outside the clipping range cost nothing, the cosine ramp, the WeightQuantizer hook adds
// exactly the rows' terms to the task gradient, and the argument errors.
#include "train/oscillation_dampening.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"
#include "train/fake_quantizer.h"
#include "train/weight_rows_test_util.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InvalidArgumentOf;
using ::cimsim::testing::RandomWeightRows;

// n weights of a 2-bit row (Q = 1) with step s, spread over [−2s, 2s] so that some are clipped.
std::vector<float> RowWeights(int64_t n, float s, Rng& rng) {
  std::vector<float> w(static_cast<size_t>(n));
  for (float& v : w) v = static_cast<float>((4 * rng.Uniform() - 2) * s);
  return w;
}

double DistanceToThreshold(double w, double s, int q) {
  const double x = w / s;
  double best = std::abs(std::abs(x) - q);  // the clipping bound
  for (int k = -q; k < q; ++k) best = std::min(best, std::abs(x - (k + 0.5)));
  return best * s;
}

TEST(OscillationDampening, ReferenceGradientMatchesCentralDifferences) {
  Rng rng(11);
  for (const int q : {1, 3, 7}) {
    const double s = 0.05, lambda = 0.3, h = 1e-7;
    std::vector<double> w(64);
    for (double& v : w) v = (2 * rng.Uniform() - 1) * (q + 1.5) * s;
    std::vector<double> grad(w.size(), 0.0), scratch(w.size());
    DampenRowReference(w, s, q, lambda, grad);
    int checked = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      if (DistanceToThreshold(w[i], s, q) < 1e-4) continue;  // R jumps there: no derivative
      std::vector<double> plus = w, minus = w;
      plus[i] += h;
      minus[i] -= h;
      const double fd = (DampenRowReference(plus, s, q, lambda, scratch) - DampenRowReference(minus, s, q, lambda, scratch)) / (2 * h);
      EXPECT_NEAR(grad[i], fd, 1e-6) << "q " << q << " weight " << i << " = " << w[i];
      ++checked;
    }
    EXPECT_GT(checked, 50);
  }
}

TEST(OscillationDampening, FastPathEqualsTheReference) {
  Rng rng(12);
  const float s = 0.0371f;
  const std::vector<float> w = RowWeights(1000, s, rng);
  std::vector<double> wd(w.begin(), w.end()), grad_ref(w.size(), 0.5);
  std::vector<float> grad(w.size(), 0.5f);
  for (const int q : {1, 3}) {
    const double r = DampenRow(w, s, q, 0.1, grad);
    const double r_ref = DampenRowReference(wd, s, q, 0.1, grad_ref);
    EXPECT_NEAR(r, r_ref, 1e-6 * r_ref);
    for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(grad[i], grad_ref[i], 1e-6) << i;
  }
}

TEST(OscillationDampening, ClippedWeightsAndWeightsOnTheGridCostNothing) {
  const float s = 0.25f;
  const std::vector<float> w = {-1.0f, -0.5f, -0.25f, 0.0f, 0.25f, 0.5f, 3.0f};  // q = 1: grid −s, 0, s
  std::vector<float> grad(w.size(), 0.0f);
  EXPECT_EQ(DampenRow(w, s, 1, 0.7, grad), 0.0);
  for (float g : grad) EXPECT_EQ(g, 0.0f);
  // Off the grid, inside: 2λ(w − ŵ), R = λ(w − ŵ)².
  const std::vector<float> v = {0.1f, -0.2f};
  std::vector<float> gv(2, 1.0f);
  EXPECT_NEAR(DampenRow(v, s, 1, 0.5, gv), 0.5 * (0.1 * 0.1 + 0.05 * 0.05), 1e-7);
  EXPECT_NEAR(gv[0], 1.0f + 2 * 0.5f * 0.1f, 1e-7);
  EXPECT_NEAR(gv[1], 1.0f + 2 * 0.5f * 0.05f, 1e-7);  // −0.2 rounds to −s: w − ŵ = +0.05
}

TEST(OscillationDampening, WeightRampsWithACosineFromStartToEnd) {
  const OscillationDampeningParams p{0.1, 0.0};
  EXPECT_DOUBLE_EQ(DampeningWeightAt(p, 0.0), 0.0);
  EXPECT_NEAR(DampeningWeightAt(p, 0.5), 0.05, 1e-15);
  EXPECT_DOUBLE_EQ(DampeningWeightAt(p, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(DampeningWeightAt(p, 7.0), 0.1);  // clamped
  EXPECT_NEAR(DampeningWeightAt({0.0, 0.2}, 0.25), 0.1 * (1 + std::cos(std::numbers::pi / 4)), 1e-15);
}

TEST(OscillationDampening, WeightQuantizerAddsTheRowTermsToTheTaskGradient) {
  Rng rng(13);
  const int64_t rows = 3, cols = 50;
  const std::vector<double> scales = {0.05, 0.08, 0.02};
  const auto [w, g] = RandomWeightRows(cols, scales, 2, rng);
  for (const QatMethod method : {QatMethod::kLsq, QatMethod::kDsq, QatMethod::kFixed}) {
    WeightQuantizer plain(method, 2, rows, cols, scales), damped(method, 2, rows, cols, scales);
    damped.SetDampening(0.25);
    std::vector<float> gp(w.size()), gd(w.size());
    plain.Backward(w.data(), g.data(), gp.data());
    damped.Backward(w.data(), g.data(), gd.data());
    std::vector<float> expect = gp;
    double r = 0;
    if (method != QatMethod::kFixed)
      for (int64_t o = 0; o < rows; ++o)
        r += DampenRow(std::span<const float>(w.data() + o * cols, static_cast<size_t>(cols)), static_cast<float>(damped.Scale(o)), 1, 0.25,
                       std::span<float>(expect.data() + o * cols, static_cast<size_t>(cols)));
    EXPECT_EQ(gd, expect) << ToString(method);
    EXPECT_EQ(damped.DampeningLoss(), r) << ToString(method);
    EXPECT_EQ(plain.DampeningLoss(), 0.0);
    if (method != QatMethod::kFixed) {
      EXPECT_GT(r, 0.0);
    }
  }
}

TEST(OscillationDampening, BadArgumentsThrowNamingThem) {
  std::vector<float> w(3, 0.1f), g(3), g2(2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DampenRow(w, 0.0f, 1, 0.1, g); }), "s = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DampenRow(w, 0.1f, 0, 0.1, g); }), "q = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DampenRow(w, 0.1f, 1, -1, g); }), "lambda = -1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DampenRow(w, 0.1f, 1, 0.1, g2); }), "grad_w has 2 values"));
  w[1] = NAN;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DampenRow(w, 0.1f, 1, 0.1, g); }), "w[1] = nan"));
  WeightQuantizer wq(QatMethod::kLsq, 2, 1, 3, {0.1});
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { wq.SetDampening(-0.5); }), "lambda"));
}

}  // namespace
}  // namespace cimsim
