// Softmax cross-entropy: hand-computed losses, gradients and top-1 counts (ties go to the first
// maximum), stability for huge logits, the float64 reference gradient against central differences of
// the reference loss, the float fast path against the reference, and the argument errors.
#include "train/softmax_cross_entropy.h"

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
using ::cimsim::testing::InvalidArgumentOf;

TensorD Logits(int64_t n, int64_t k, const std::vector<double>& values) {
  TensorD t({n, k});
  for (int64_t i = 0; i < t.size(); ++i) t[i] = values[static_cast<size_t>(i)];
  return t;
}

TEST(SoftmaxCrossEntropyTest, UniformLogitsGiveLogKAndFirstMaxWinsTies) {
  const TensorD x = Logits(2, 3, {0, 0, 0, 5, 5, 5});
  const std::vector<int32_t> labels = {1, 0};
  TensorD g;
  const LossResult r = SoftmaxCrossEntropyReference(x, labels, &g);
  EXPECT_NEAR(r.loss, std::log(3.0), 1e-15);
  EXPECT_EQ(r.correct, 1);  // row 0: argmax 0 != 1; row 1: argmax 0 == 0
  ASSERT_EQ(g.shape(), (Shape{2, 3}));
  const std::vector<double> want = {1.0 / 6, -1.0 / 3, 1.0 / 6, -1.0 / 3, 1.0 / 6, 1.0 / 6};
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(g[i], want[static_cast<size_t>(i)], 1e-15) << i;

  Tensor gf;
  const LossResult rf = SoftmaxCrossEntropy(x.Cast<float>(), labels, &gf);
  EXPECT_NEAR(rf.loss, std::log(3.0), 1e-7);
  EXPECT_EQ(rf.correct, 1);
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(gf[i], want[static_cast<size_t>(i)], 1e-7) << i;
}

TEST(SoftmaxCrossEntropyTest, HandComputedTwoRows) {
  // Row 0: [1, 2, 3], label 2 → ℓ = log(e + e² + e³) − 3; row 1: [2, −1, 0], label 1 → ℓ = log(e² + e⁻¹ + 1) + 1.
  const TensorD x = Logits(2, 3, {1, 2, 3, 2, -1, 0});
  const std::vector<int32_t> labels = {2, 1};
  const double z0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double z1 = std::exp(2.0) + std::exp(-1.0) + 1.0;
  const double want_loss = ((std::log(z0) - 3) + (std::log(z1) + 1)) / 2;
  const std::vector<double> want_grad = {std::exp(1.0) / z0 / 2,       std::exp(2.0) / z0 / 2,
                                         (std::exp(3.0) / z0 - 1) / 2, std::exp(2.0) / z1 / 2,
                                         (std::exp(-1.0) / z1 - 1) / 2, 1.0 / z1 / 2};
  TensorD g;
  const LossResult r = SoftmaxCrossEntropyReference(x, labels, &g);
  EXPECT_NEAR(r.loss, want_loss, 1e-14);
  EXPECT_EQ(r.correct, 1);
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(g[i], want_grad[static_cast<size_t>(i)], 1e-15) << i;
  Tensor gf;
  const LossResult rf = SoftmaxCrossEntropy(x.Cast<float>(), labels, &gf);
  EXPECT_NEAR(rf.loss, want_loss, 1e-6);
  EXPECT_EQ(rf.correct, 1);
  for (int64_t i = 0; i < 6; ++i) EXPECT_NEAR(gf[i], want_grad[static_cast<size_t>(i)], 1e-7) << i;
}

TEST(SoftmaxCrossEntropyTest, HugeLogitsStayFinite) {
  // Without max subtraction exp(1000) overflows (float already at 89).
  const TensorD x = Logits(2, 2, {1000, 0, -1000, 200});
  const std::vector<int32_t> labels = {1, 1};
  TensorD g;
  const LossResult r = SoftmaxCrossEntropyReference(x, labels, &g);
  EXPECT_NEAR(r.loss, 500.0, 1e-9);  // (1000 + log(1 + e⁻¹⁰⁰⁰) + log(1 + e⁻¹²⁰⁰)) / 2
  Tensor gf;
  const LossResult rf = SoftmaxCrossEntropy(x.Cast<float>(), labels, &gf);
  EXPECT_NEAR(rf.loss, 500.0, 1e-9);
  EXPECT_EQ(rf.correct, 1);
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(std::isfinite(gf[i]));
    EXPECT_NEAR(gf[i], g[i], 1e-7);
  }
  EXPECT_NEAR(gf[0], 0.5, 1e-7);
  EXPECT_NEAR(gf[1], -0.5, 1e-7);
}

// ∂loss/∂x from the reference against central differences (loss(x + h) − loss(x − h)) / 2h of the
// reference loss, every element, h = 1e-6: truncation O(h²) ≈ 1e-12, rounding ≈ 1e-16·|loss|/h ≈ 1e-10·|loss|
// (loss ≈ 3 here); tolerance 1e-8 · (1 + |fd|).
TEST(SoftmaxCrossEntropyTest, ReferenceGradientMatchesFiniteDifferences) {
  const int64_t n = 6, k = 10;
  TensorD x({n, k});
  Rng rng(42);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = 3.0 * rng.Normal();
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(rng.Below(k));
  TensorD g;
  SoftmaxCrossEntropyReference(x, labels, &g);
  const double h = 1e-6;
  for (int64_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    x[i] = v + h;
    const double lp = SoftmaxCrossEntropyReference(x, labels, nullptr).loss;
    x[i] = v - h;
    const double lm = SoftmaxCrossEntropyReference(x, labels, nullptr).loss;
    x[i] = v;
    const double fd = (lp - lm) / (2 * h);
    EXPECT_NEAR(g[i], fd, 1e-8 * (1 + std::abs(fd))) << "element " << i;
  }
}

// The float path against the reference on the same (float) logits, batch 128 × 10 classes, logits of
// scale 4: |Δloss| <= 1e-6 · (1 + loss) (float exp has ~1e-7 relative error, the sums are in double),
// max |Δgrad| <= 1e-5 · max |grad_ref|, identical top-1 counts; without grad the same loss.
TEST(SoftmaxCrossEntropyTest, FastPathMatchesReference) {
  const int64_t n = 128, k = 10;
  Tensor x({n, k});
  Rng rng(7);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(4.0 * rng.Normal());
  std::vector<int32_t> labels(n);
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(rng.Below(k));
  const TensorD xd = x.Cast<double>();
  TensorD gd;
  const LossResult ref = SoftmaxCrossEntropyReference(xd, labels, &gd);
  Tensor g;
  const LossResult fast = SoftmaxCrossEntropy(x, labels, &g);
  EXPECT_NEAR(fast.loss, ref.loss, 1e-6 * (1 + ref.loss));
  EXPECT_EQ(fast.correct, ref.correct);
  EXPECT_GT(ref.correct, 0);
  ASSERT_EQ(g.shape(), gd.shape());
  double max_err = 0, max_ref = 0;
  for (int64_t i = 0; i < g.size(); ++i) {
    max_err = std::max(max_err, std::abs(g[i] - gd[i]));
    max_ref = std::max(max_ref, std::abs(gd[i]));
  }
  EXPECT_LE(max_err, 1e-5 * max_ref);
  // Each row of the gradient sums to 0 (softmax sums to 1).
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < k; ++j) s += g[i * k + j];
    EXPECT_NEAR(s, 0.0, 1e-8) << "row " << i;
  }
  EXPECT_EQ(SoftmaxCrossEntropy(x, labels, nullptr).loss, fast.loss);
}

TEST(SoftmaxCrossEntropyTest, CorrectCountsTop1) {
  const TensorD x = Logits(4, 3, {0, 1, 2, 3, 1, 0, 1, 3, 3, 0, 0, 0});
  // argmax: 2, 0, 1 (tie 1/2 → first), 0 (all equal)
  EXPECT_EQ(SoftmaxCrossEntropyReference(x, std::vector<int32_t>{2, 0, 1, 0}, nullptr).correct, 4);
  EXPECT_EQ(SoftmaxCrossEntropyReference(x, std::vector<int32_t>{2, 0, 2, 1}, nullptr).correct, 2);
  EXPECT_EQ(SoftmaxCrossEntropy(x.Cast<float>(), std::vector<int32_t>{1, 1, 2, 2}, nullptr).correct, 0);
}

TEST(SoftmaxCrossEntropyTest, BadArgumentsThrow) {
  const Tensor x({4, 10});
  Tensor g({1});
  g[0] = 7;
  std::string m = InvalidArgumentOf([&] { SoftmaxCrossEntropy(x, std::vector<int32_t>{0, 9, 3, 10}, &g); });
  EXPECT_TRUE(HasPart(m, "labels[3] = 10"));
  EXPECT_TRUE(HasPart(m, "[0, 10)"));
  EXPECT_EQ(g.shape(), (Shape{1}));  // untouched
  EXPECT_EQ(g[0], 7);
  m = InvalidArgumentOf([&] { SoftmaxCrossEntropyReference(x.Cast<double>(), std::vector<int32_t>{0, -1, 3, 1}, nullptr); });
  EXPECT_TRUE(HasPart(m, "labels[1] = -1"));
  m = InvalidArgumentOf([&] { SoftmaxCrossEntropy(x, std::vector<int32_t>{0, 1, 2}, nullptr); });
  EXPECT_TRUE(HasPart(m, "3 labels for 4 rows"));
  m = InvalidArgumentOf([&] { SoftmaxCrossEntropy(Tensor({10}), std::vector<int32_t>{0}, nullptr); });
  EXPECT_TRUE(HasPart(m, "[N, K]"));
  m = InvalidArgumentOf([&] { SoftmaxCrossEntropy(Tensor({0, 10}), std::vector<int32_t>{}, nullptr); });
  EXPECT_TRUE(HasPart(m, "[0, 10]"));
}

}  // namespace
}  // namespace cimsim
