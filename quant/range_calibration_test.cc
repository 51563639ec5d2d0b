// Range calibration: every method on hand-made data, the ACIQ solver against the published table,
// ACIQ spread estimates on Laplace/Gauss samples (statistical, fixed seeds, bounds stated beside
// each), the reservoir sample's exactness, determinism and uniformity, and the errors.
#include "quant/range_calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;

using ::cimsim::testing::InvalidArgumentOf;

RangeParams Method(RangeMethod method) {
  RangeParams p;
  p.method = method;
  return p;
}

RangeParams Percentile(double percentile) {
  RangeParams p = Method(RangeMethod::kPercentile);
  p.percentile = percentile;
  return p;
}

RangeParams Aciq(AciqPrior prior) {
  RangeParams p = Method(RangeMethod::kAciq);
  p.prior = prior;
  return p;
}

TEST(RangeParams, ValidateNamesTheField) {
  EXPECT_NO_THROW(RangeParams{}.Validate());
  RangeParams p;
  p.percentile = 0;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "percentile = 0"));
  p.percentile = 100.5;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "percentile = 100.5"));
  p.percentile = std::nan("");
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "percentile"));
  p = RangeParams{};
  p.percentile = 100;
  EXPECT_NO_THROW(p.Validate());
  p.mse_candidates = 0;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "mse_candidates = 0"));
  p = RangeParams{};
  p.method = static_cast<RangeMethod>(9);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "method = 9"));
  p = RangeParams{};
  p.prior = static_cast<AciqPrior>(5);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "prior = 5"));
}

TEST(AciqAlpha, PublishedTable) {
  EXPECT_DOUBLE_EQ(AciqAlpha(2, AciqPrior::kLaplace), 2.83);
  EXPECT_DOUBLE_EQ(AciqAlpha(4, AciqPrior::kLaplace), 5.03);
  EXPECT_DOUBLE_EQ(AciqAlpha(8, AciqPrior::kLaplace), 9.89);
  EXPECT_DOUBLE_EQ(AciqAlpha(2, AciqPrior::kGauss), 1.71);
  EXPECT_DOUBLE_EQ(AciqAlpha(4, AciqPrior::kGauss), 2.55);
  EXPECT_DOUBLE_EQ(AciqAlpha(8, AciqPrior::kGauss), 3.92);
}

TEST(AciqAlpha, SolverReproducesThePublishedTable) {
  for (int bits = 2; bits <= 8; ++bits) {
    for (AciqPrior prior : {AciqPrior::kLaplace, AciqPrior::kGauss}) {
      EXPECT_NEAR(AciqAlphaSolved(bits, prior), AciqAlpha(bits, prior), 0.02)
          << "bits " << bits << (prior == AciqPrior::kLaplace ? " Laplace" : " Gauss");
    }
  }
}

TEST(AciqAlpha, SolvedRootSatisfiesTheStationarityCondition) {
  for (int bits = 1; bits <= 24; ++bits) {
    SCOPED_TRACE(bits);
    const double rounding = 3 * std::pow(4.0, bits);
    // Laplace: e^(−a) = a / (3·4^M).
    const double a = AciqAlphaSolved(bits, AciqPrior::kLaplace);
    EXPECT_NEAR(std::exp(-a) * rounding / a, 1.0, 1e-9);
    // Gauss: 2 (φ(g) − g Q(g)) = g / (3·4^M).
    const double g = AciqAlphaSolved(bits, AciqPrior::kGauss);
    const double phi = std::exp(-0.5 * g * g) / std::sqrt(2 * std::numbers::pi), q = 0.5 * std::erfc(g / std::sqrt(2.0));
    EXPECT_NEAR(2 * (phi - g * q) * rounding / g, 1.0, 1e-6);
    // Outside the table AciqAlpha is the solver; more bits clip wider.
    if (bits < 2 || bits > 8) {
      EXPECT_EQ(AciqAlpha(bits, AciqPrior::kLaplace), a);
      EXPECT_EQ(AciqAlpha(bits, AciqPrior::kGauss), g);
    }
    if (bits > 1) {
      EXPECT_GT(a, AciqAlphaSolved(bits - 1, AciqPrior::kLaplace));
      EXPECT_GT(g, AciqAlphaSolved(bits - 1, AciqPrior::kGauss));
    }
  }
  // Laplace, 1 bit: e^(−a) = a/12 has its root near 1.86 (e^−1.86·12 = 1.8695...).
  EXPECT_NEAR(AciqAlpha(1, AciqPrior::kLaplace), 1.863, 0.002);
}

TEST(AciqAlpha, RejectsBits) {
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { AciqAlpha(0, AciqPrior::kLaplace); }), "bits = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { AciqAlphaSolved(25, AciqPrior::kGauss); }), "bits = 25"));
}

TEST(ChooseClip, MaxIsAbsMax) {
  const std::vector<float> v = {0.5f, -3.0f, 2.0f};
  EXPECT_EQ(ChooseClip(v, 3.0, 8, true, Method(RangeMethod::kMax)), 3.0);
  // abs_max of the full tensor, not of the subsample.
  EXPECT_EQ(ChooseClip(v, 10.0, 8, true, Method(RangeMethod::kMax)), 10.0);
}

TEST(ChooseClip, PercentileOfOneToHundred) {
  std::vector<float> v(100);
  for (int i = 0; i < 100; ++i) v[i] = static_cast<float>(i + 1);
  // Rank r = p/100 · 99 between order statistics v(⌊r⌋) = ⌊r⌋ + 1 and ⌊r⌋ + 2.
  EXPECT_NEAR(ChooseClip(v, 100, 8, false, Percentile(50)), 50.5, 1e-12);   // r = 49.5
  EXPECT_NEAR(ChooseClip(v, 100, 8, false, Percentile(99)), 99.01, 1e-12);  // r = 98.01
  EXPECT_NEAR(ChooseClip(v, 100, 8, false, Percentile(1)), 1.99, 1e-12);    // r = 0.99
  EXPECT_EQ(ChooseClip(v, 100, 8, false, Percentile(100)), 100.0);
  // Signed: the percentile of |x| — alternate the signs, same answers.
  for (int i = 0; i < 100; i += 2) v[i] = -v[i];
  EXPECT_NEAR(ChooseClip(v, 100, 8, true, Percentile(50)), 50.5, 1e-12);
  EXPECT_NEAR(ChooseClip(v, 100, 8, true, Percentile(99)), 99.01, 1e-12);
}

TEST(ChooseClip, PercentileSignedUsesMagnitudeUnsignedUsesValue) {
  const std::vector<float> v = {-5, 0, 1, 2, 3};
  // Unsigned: sorted x = {−5, 0, 1, 2, 3}, median 1. Signed: sorted |x| = {0, 1, 2, 3, 5}, median 2.
  EXPECT_EQ(ChooseClip(v, 3, 8, false, Percentile(50)), 1.0);
  EXPECT_EQ(ChooseClip(v, 5, 8, true, Percentile(50)), 2.0);
  // Capped at abs_max (a subsample may claim more than the caller's exact maximum).
  EXPECT_EQ(ChooseClip(v, 1.5, 8, true, Percentile(50)), 1.5);
  // A percentile that lands on zeros falls back to abs_max.
  std::vector<float> sparse(99, 0.0f);
  sparse.push_back(7.0f);
  EXPECT_EQ(ChooseClip(sparse, 7, 8, false, Percentile(50)), 7.0);
}

TEST(ChooseClip, MseHandChecked) {
  // 30 values ±1 and one −8, 3-bit signed (codes −3..3, s = α/3), grid α = 1..8. Squared errors:
  //   α=1: ones exact, −8 → −1: 49                       α=5: ±1 → ±5/3: 30·4/9 = 13.3, −8 → −5: 9 → 22.3
  //   α=2: ±1 → ±4/3: 30/9 = 3.3, −8 → −2: 36 → 39.3     α=6: ±1 → ±2 (0.5 rounds away): 30, −8 → −6: 4 → 34
  //   α=3: ones exact, −8 → −3: 25                       α=7: ±1 → 0: 30, −8 → −7: 1 → 31
  //   α=4: ±1 → ±4/3: 3.3, −8 → −4: 16 → 19.3 (minimum)  α=8: ±1 → 0: 30, −8 exact → 30
  std::vector<float> v;
  for (int i = 0; i < 30; ++i) v.push_back(i % 2 ? 1.0f : -1.0f);
  v.push_back(-8.0f);
  RangeParams p = Method(RangeMethod::kMse);
  p.mse_candidates = 8;
  EXPECT_DOUBLE_EQ(ChooseClip(v, 8, 3, true, p), 4.0);
  // Unsigned 2-bit has the same codes 0..3 (s = α/3) for the positive values: same answer.
  std::vector<float> u(30, 1.0f);
  u.push_back(8.0f);
  EXPECT_DOUBLE_EQ(ChooseClip(u, 8, 2, false, p), 4.0);
  // With 16 signed codes each side (5 bits) resolution is cheap, clipping −8 is not: α = 8.
  EXPECT_DOUBLE_EQ(ChooseClip(v, 8, 5, true, p), 8.0);
  // One candidate: abs_max itself.
  p.mse_candidates = 1;
  EXPECT_DOUBLE_EQ(ChooseClip(v, 8, 3, true, p), 8.0);
}

TEST(ChooseClip, AciqHandWorked) {
  // {−2, 2}: mean 0, b = mean|x| = 2, σ = 2.
  const std::vector<float> v = {-2, 2};
  EXPECT_NEAR(ChooseClip(v, 100, 4, true, Aciq(AciqPrior::kLaplace)), 2 * 5.03, 1e-12);
  EXPECT_NEAR(ChooseClip(v, 100, 4, true, Aciq(AciqPrior::kGauss)), 2 * 2.55, 1e-12);
  EXPECT_EQ(ChooseClip(v, 5, 4, true, Aciq(AciqPrior::kLaplace)), 5.0);   // capped at abs_max
  // Unsigned uses bits + 1: {1, 3} has mean 2, b = 1, σ = 1; 3 bits → the 4-bit constants.
  const std::vector<float> u = {1, 3};
  EXPECT_NEAR(ChooseClip(u, 100, 3, false, Aciq(AciqPrior::kLaplace)), 5.03, 1e-12);
  EXPECT_NEAR(ChooseClip(u, 100, 3, false, Aciq(AciqPrior::kGauss)), 2.55, 1e-12);
  EXPECT_NEAR(ChooseClip(u, 100, 3, true, Aciq(AciqPrior::kLaplace)), 3.89, 1e-12);
  // 16-bit unsigned needs the solved 17-bit constant.
  EXPECT_NEAR(ChooseClip(u, 100, 16, false, Aciq(AciqPrior::kGauss)), AciqAlphaSolved(17, AciqPrior::kGauss), 1e-12);
  // Constant values: b = 0 → falls back to abs_max.
  const std::vector<float> c = {3, 3, 3};
  EXPECT_EQ(ChooseClip(c, 3, 4, true, Aciq(AciqPrior::kLaplace)), 3.0);
}

TEST(ChooseClip, AciqOnLaplaceSamplesStatistical) {
  // Laplace(0, b) = b·(E1 − E2) with E = −ln U. b̂ = mean|x − x̄| has standard error ≈ b/√n
  // (Var|X| = b²); bound: 5 standard errors on α/AciqAlpha.
  Rng rng(21);
  const int n = 200000;
  const double b = 1.5;
  std::vector<float> v(n);
  double abs_max = 0;
  for (float& x : v) {
    const double e1 = -std::log(1 - rng.Uniform()), e2 = -std::log(1 - rng.Uniform());
    x = static_cast<float>(b * (e1 - e2));
    abs_max = std::max(abs_max, std::fabs(static_cast<double>(x)));
  }
  const double alpha = ChooseClip(v, abs_max, 4, true, Aciq(AciqPrior::kLaplace));
  EXPECT_LT(alpha, abs_max);   // 5.03·1.5 ≈ 7.5, far below the largest of 200000 draws (≈ 17)
  EXPECT_NEAR(alpha / AciqAlpha(4, AciqPrior::kLaplace), b, 5 * b / std::sqrt(n));
}

TEST(ChooseClip, AciqOnGaussSamplesStatistical) {
  // N(0, σ²): σ̂ has standard error σ/√(2n); bound: 5 standard errors.
  Rng rng(22);
  const int n = 200000;
  const double sigma = 0.7;
  std::vector<float> v(n);
  double abs_max = 0;
  for (float& x : v) {
    x = static_cast<float>(0.25 + sigma * rng.Normal());   // an offset: σ is about the mean
    abs_max = std::max(abs_max, std::fabs(static_cast<double>(x)));
  }
  const double alpha = ChooseClip(v, abs_max, 6, true, Aciq(AciqPrior::kGauss));
  EXPECT_NEAR(alpha / AciqAlpha(6, AciqPrior::kGauss), sigma, 5 * sigma / std::sqrt(2.0 * n));
}

TEST(ChooseClip, Errors) {
  const std::vector<float> v = {1, 2};
  const RangeParams p;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(v, 2, 1, true, p); }), "bits = 1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(v, 2, 17, true, p); }), "bits = 17"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip({}, 2, 8, true, p); }), "no values"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(v, -1, 8, true, p); }), "abs_max = -1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(v, std::nan(""), 8, true, p); }), "abs_max"));
  const std::vector<float> bad = {1, std::numeric_limits<float>::infinity()};
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(bad, 2, 8, true, p); }), "values[1] = inf"));
  const std::vector<float> nan = {std::nanf("")};
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(nan, 2, 8, true, p); }), "values[0]"));
  RangeParams wrong;
  wrong.percentile = -3;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { ChooseClip(v, 2, 8, true, wrong); }), "percentile = -3"));
  // abs_max == 0: α = 0, values or not.
  EXPECT_EQ(ChooseClip({}, 0, 8, true, p), 0.0);
  const std::vector<float> zeros = {0, 0};
  for (RangeMethod m : {RangeMethod::kMax, RangeMethod::kPercentile, RangeMethod::kMse, RangeMethod::kAciq}) {
    EXPECT_EQ(ChooseClip(zeros, 0, 8, false, Method(m)), 0.0);
  }
}

TEST(RangeStats, ExactStatisticsAndFullSampleBelowCapacity) {
  RangeStats s(10, 1);
  EXPECT_EQ(s.count(), 0);
  EXPECT_EQ(s.abs_max(), 0.0);
  EXPECT_EQ(s.max(), -std::numeric_limits<double>::infinity());
  EXPECT_EQ(s.RangeMax(false), 0.0);
  const std::vector<float> a = {1, -7.5f, 3}, b = {2, 0.5f};
  s.Add(a);
  s.Add({});
  s.Add(b);
  EXPECT_EQ(s.count(), 5);
  EXPECT_EQ(s.abs_max(), 7.5);
  EXPECT_EQ(s.max(), 3.0);
  EXPECT_EQ(s.RangeMax(true), 7.5);
  EXPECT_EQ(s.RangeMax(false), 3.0);
  const std::vector<float> expected = {1, -7.5f, 3, 2, 0.5f};
  EXPECT_EQ(std::vector<float>(s.sample().begin(), s.sample().end()), expected);
  // All negative: unsigned range 0.
  RangeStats neg(4, 1);
  const std::vector<float> n = {-1, -2};
  neg.Add(n);
  EXPECT_EQ(neg.max(), -1.0);
  EXPECT_EQ(neg.RangeMax(false), 0.0);
}

std::vector<float> SampleOf(const RangeStats& s) { return {s.sample().begin(), s.sample().end()}; }

TEST(RangeStats, PureFunctionOfValuesOrderCapacityAndSeed) {
  std::vector<float> values(10000);
  for (int i = 0; i < 10000; ++i) values[i] = static_cast<float>(i);
  RangeStats whole(300, 5), chunked(300, 5), other_seed(300, 6);
  whole.Add(values);
  other_seed.Add(values);
  const std::span<const float> all(values);
  size_t at = 0, chunk = 1;
  while (at < values.size()) {   // chunks of 1, 2, 3, ... values
    const size_t len = std::min(chunk++, values.size() - at);
    chunked.Add(all.subspan(at, len));
    at += len;
  }
  EXPECT_EQ(whole.count(), 10000);
  EXPECT_EQ(whole.sample().size(), 300u);
  EXPECT_EQ(SampleOf(whole), SampleOf(chunked));
  EXPECT_NE(SampleOf(whole), SampleOf(other_seed));
  // A sample of distinct stream values, each one of them.
  const std::vector<float> sample = SampleOf(whole);
  EXPECT_EQ(std::set<float>(sample.begin(), sample.end()).size(), sample.size());
  for (float x : sample) EXPECT_TRUE(x >= 0 && x < 10000 && x == std::floor(x));
}

TEST(RangeStats, SampleIsUniformStatistical) {
  // 1000 values 0..999, capacity 100, over 2000 seeds. Each bin of 100 consecutive values holds per
  // run a hypergeometric count (mean 10, variance 100·0.1·0.9·900/999 = 8.11), so over 2000 runs mean
  // 20000 and standard deviation √(2000·8.11) = 127; bound: 5 standard deviations.
  std::vector<float> values(1000);
  for (int i = 0; i < 1000; ++i) values[i] = static_cast<float>(i);
  std::vector<int> bins(10, 0);
  for (uint64_t seed = 0; seed < 2000; ++seed) {
    RangeStats s(100, seed);
    s.Add(values);
    for (float x : s.sample()) ++bins[static_cast<int>(x) / 100];
  }
  for (int c : bins) EXPECT_NEAR(c, 20000, 5 * 127);
}

TEST(RangeStats, Errors) {
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { RangeStats(0, 1); }), "capacity = 0"));
  RangeStats s(4, 1);
  const std::vector<float> good = {1, 2}, bad = {3, std::nanf(""), 100};
  s.Add(good);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { s.Add(bad); }), "value 3 (index 1"));
  // Nothing of the bad call was added.
  EXPECT_EQ(s.count(), 2);
  EXPECT_EQ(s.abs_max(), 2.0);
  EXPECT_EQ(s.sample().size(), 2u);
}

}  // namespace
}  // namespace cimsim
