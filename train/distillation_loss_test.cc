// Distillation loss: α = 0 is the cross-entropy, a student equal to its teacher pays no soft term, a
// hand-computed row, the float64 reference gradient against central differences of the reference loss
// for several temperatures and weights, the float fast path against the reference, huge logits, and the
// argument and parameter errors.
#include "train/distillation_loss.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InputErrorOf;
using ::cimsim::testing::InvalidArgumentOf;

TensorD Random(int64_t n, int64_t k, double scale, Rng& rng) {
  TensorD t({n, k});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = scale * rng.Normal();
  return t;
}

std::vector<int32_t> RandomLabels(int64_t n, int64_t k, Rng& rng) {
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (int32_t& v : y) v = static_cast<int32_t>(rng.Below(static_cast<uint64_t>(k)));
  return y;
}

TEST(DistillationLossTest, WeightZeroIsTheCrossEntropy) {
  Rng rng(3);
  const TensorD x = Random(5, 10, 3, rng), t = Random(5, 10, 3, rng);
  const std::vector<int32_t> y = RandomLabels(5, 10, rng);
  DistillLossParams p;
  p.weight = 0;
  TensorD g, g_ce;
  const LossResult r = DistillationLossReference(x, t, y, p, &g);
  const LossResult ce = SoftmaxCrossEntropyReference(x, y, &g_ce);
  EXPECT_NEAR(r.loss, ce.loss, 1e-14);
  EXPECT_EQ(r.correct, ce.correct);
  for (int64_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], g_ce[i], 1e-16) << i;
  Tensor gf, gf_ce;
  const LossResult rf = DistillationLoss(x.Cast<float>(), t.Cast<float>(), y, p, &gf);
  EXPECT_NEAR(rf.loss, SoftmaxCrossEntropy(x.Cast<float>(), y, &gf_ce).loss, 1e-6);
  for (int64_t i = 0; i < gf.size(); ++i) EXPECT_NEAR(gf[i], gf_ce[i], 1e-7) << i;
}

TEST(DistillationLossTest, AStudentEqualToItsTeacherPaysNoSoftTerm) {
  Rng rng(4);
  const TensorD x = Random(4, 10, 2, rng);
  const std::vector<int32_t> y = RandomLabels(4, 10, rng);
  DistillLossParams p;
  p.weight = 1;
  p.temperature = 3;
  TensorD g;
  EXPECT_NEAR(DistillationLossReference(x, x, y, p, &g).loss, 0.0, 1e-14);
  for (int64_t i = 0; i < g.size(); ++i) EXPECT_NEAR(g[i], 0.0, 1e-16) << i;
  Tensor gf;
  EXPECT_NEAR(DistillationLoss(x.Cast<float>(), x.Cast<float>(), y, p, &gf).loss, 0.0, 1e-6);
  for (int64_t i = 0; i < gf.size(); ++i) EXPECT_NEAR(gf[i], 0.0, 1e-8) << i;
  // Shifting every teacher logit of a row by a constant changes no probability.
  TensorD shifted = x;
  for (int64_t i = 0; i < shifted.size(); ++i) shifted[i] += 5.0 * static_cast<double>(i / 10);
  EXPECT_NEAR(DistillationLossReference(x, shifted, y, p, nullptr).loss, 0.0, 1e-13);
}

// One row, K = 2, x = [0, 1], t = [1, 0], y = 0, T = 2, α = 0.5:
//   CE = log(1 + e) − 0;  p^T = softmax([0, 0.5]), q^T = softmax([0.5, 0]);
//   by symmetry p^T = [q1, q0], so KL = Σ q (log q − log p) = (q0 − q1) · log(q0/q1) = (q0 − q1) · 0.5;
//   loss = 0.5 · CE + 0.5 · 4 · KL.
TEST(DistillationLossTest, HandComputedRow) {
  TensorD x({1, 2}), t({1, 2});
  x[0] = 0, x[1] = 1, t[0] = 1, t[1] = 0;
  const std::vector<int32_t> y = {0};
  DistillLossParams p;
  p.temperature = 2;
  p.weight = 0.5;
  const double q0 = std::exp(0.5) / (1 + std::exp(0.5)), q1 = 1 - q0;
  const double want = 0.5 * std::log(1 + std::exp(1.0)) + 0.5 * 4 * 0.5 * (q0 - q1);
  TensorD g;
  const LossResult r = DistillationLossReference(x, t, y, p, &g);
  EXPECT_NEAR(r.loss, want, 1e-14);
  EXPECT_EQ(r.correct, 0);
  // ∂/∂x0 = 0.5 (p0 − 1) + 0.5 · 2 · (p^T_0 − q0), p0 = 1/(1 + e), p^T_0 = q1.
  EXPECT_NEAR(g[0], 0.5 * (1 / (1 + std::exp(1.0)) - 1) + (q1 - q0), 1e-15);
  EXPECT_NEAR(g[0] + g[1], 0.0, 1e-15);
}

// ∂loss/∂x of the reference against central differences of the reference loss, every element,
// h = 1e-6: truncation O(h²) ≈ 1e-12, rounding ≈ 1e-16·|loss|/h; tolerance 1e-8 · (1 + |fd|).
TEST(DistillationLossTest, ReferenceGradientMatchesFiniteDifferences) {
  for (const double temperature : {1.0, 4.0, 0.5}) {
    for (const double weight : {0.3, 1.0}) {
      Rng rng(11);
      TensorD x = Random(6, 10, 3, rng);
      const TensorD t = Random(6, 10, 3, rng);
      const std::vector<int32_t> y = RandomLabels(6, 10, rng);
      DistillLossParams p;
      p.temperature = temperature;
      p.weight = weight;
      TensorD g;
      DistillationLossReference(x, t, y, p, &g);
      const double h = 1e-6;
      for (int64_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        x[i] = v + h;
        const double lp = DistillationLossReference(x, t, y, p, nullptr).loss;
        x[i] = v - h;
        const double lm = DistillationLossReference(x, t, y, p, nullptr).loss;
        x[i] = v;
        const double fd = (lp - lm) / (2 * h);
        ASSERT_NEAR(g[i], fd, 1e-8 * (1 + std::abs(fd))) << "T " << temperature << " α " << weight << " element " << i;
      }
    }
  }
}

// The float path against the reference on the same float logits, batch 128 × 10, logits of scale 4:
// |Δloss| <= 1e-5 · (1 + loss) (float exponentials, double sums), max |Δgrad| <= 1e-5 · max |grad_ref|,
// the same top-1 count, each gradient row summing to 0; without grad the same loss.
TEST(DistillationLossTest, FastPathMatchesReference) {
  Rng rng(7);
  const Tensor x = Random(128, 10, 4, rng).Cast<float>(), t = Random(128, 10, 4, rng).Cast<float>();
  const std::vector<int32_t> y = RandomLabels(128, 10, rng);
  for (const double temperature : {1.0, 4.0}) {
    DistillLossParams p;
    p.temperature = temperature;
    TensorD gd;
    const LossResult ref = DistillationLossReference(x.Cast<double>(), t.Cast<double>(), y, p, &gd);
    Tensor g;
    const LossResult fast = DistillationLoss(x, t, y, p, &g);
    EXPECT_NEAR(fast.loss, ref.loss, 1e-5 * (1 + ref.loss));
    EXPECT_EQ(fast.correct, ref.correct);
    double max_err = 0, max_ref = 0;
    for (int64_t i = 0; i < g.size(); ++i) {
      max_err = std::max(max_err, std::abs(g[i] - gd[i]));
      max_ref = std::max(max_ref, std::abs(gd[i]));
    }
    EXPECT_GT(max_ref, 0);
    EXPECT_LE(max_err, 1e-5 * max_ref) << "T " << temperature;
    for (int64_t i = 0; i < 128; ++i) {
      double s = 0;
      for (int64_t j = 0; j < 10; ++j) s += g[i * 10 + j];
      EXPECT_NEAR(s, 0.0, 1e-8) << "row " << i;
    }
    EXPECT_EQ(DistillationLoss(x, t, y, p, nullptr).loss, fast.loss);
  }
}

TEST(DistillationLossTest, HugeLogitsStayFinite) {
  TensorD x({1, 3}), t({1, 3});
  x[0] = 1000, x[1] = 0, x[2] = -1000;
  t[0] = -800, t[1] = 900, t[2] = 0;
  const std::vector<int32_t> y = {1};
  DistillLossParams p;
  Tensor g;
  const LossResult r = DistillationLoss(x.Cast<float>(), t.Cast<float>(), y, p, &g);
  EXPECT_TRUE(std::isfinite(r.loss));
  for (int64_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(g[i])) << i;
  EXPECT_NEAR(r.loss, DistillationLossReference(x, t, y, p, nullptr).loss, 1e-3);
}

TEST(DistillationLossTest, BadArgumentsAndParametersAreNamed) {
  const Tensor x({4, 10});
  Tensor g({1});
  std::string m = InvalidArgumentOf([&] { DistillationLoss(x, Tensor({4, 9}), std::vector<int32_t>{0, 1, 2, 3}, {}, &g); });
  EXPECT_TRUE(HasPart(m, "teacher logits [4, 9]"));
  EXPECT_EQ(g.shape(), (Shape{1}));
  m = InvalidArgumentOf([&] { DistillationLoss(x, x, std::vector<int32_t>{0, 1, 2, 10}, {}, nullptr); });
  EXPECT_TRUE(HasPart(m, "labels[3] = 10"));
  DistillLossParams p;
  p.temperature = 0;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("run.json: distill"); }), "run.json: distill.temperature"));
  p.temperature = 2;
  p.weight = 1.5;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("run.json: distill"); }), "distill.weight: 1.5"));
}

}  // namespace
}  // namespace cimsim
