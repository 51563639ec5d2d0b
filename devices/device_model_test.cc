// DeviceModel: hand-worked steps (clipping, levels, the documented draw order, drift power law,
// read-noise σ), the fast Program against its per-cell reference (bit for bit, same rng advance),
// and statistical checks of programming noise, drift exponents, stuck-at fractions and g_max
// variation. Statistical tests say so in their names; each uses a fixed seed and a bound of k = 5
// standard errors (stated beside it), so a correct model fails with probability < 1e-6 per check.
#include "devices/device_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"
#include "devices/device_presets.h"

namespace cimsim {
namespace {

using Eigen::ArrayXXf;
using testing::HasPart;
using testing::InputErrorOf;

constexpr double kSigmas = 5;  // bound of every statistical check, in standard errors

ArrayXXf Filled(Eigen::Index rows, Eigen::Index cols, float value) { return ArrayXXf::Constant(rows, cols, value); }

// Targets spread over [lo, hi] in a fixed pattern.
ArrayXXf Spread(Eigen::Index rows, Eigen::Index cols, float lo, float hi) {
  ArrayXXf a(rows, cols);
  for (Eigen::Index i = 0; i < a.size(); ++i) a(i) = lo + (hi - lo) * static_cast<float>((i * 37) % 101) / 100.0f;
  return a;
}

struct Moments {
  double mean = 0, var = 0;
};

Moments MomentsOf(const ArrayXXf& a) {
  const double n = static_cast<double>(a.size());
  const double mean = a.cast<double>().sum() / n;
  const double var = (a.cast<double>() - mean).square().sum() / (n - 1);
  return {mean, var};
}

// The next raw word of a copy of rng: equal words mean equal states.
uint64_t Peek(const Rng& rng) {
  Rng copy = rng;
  return copy.NextU64();
}

DeviceParams Ideal(double g_min = 0, double g_max = 25) {
  DeviceParams p = DevicePreset("ideal");
  p.g_min = g_min;
  p.g_max = g_max;
  return p;
}

// Mean of |N(mu, sigma²)| (the folded normal).
double FoldedNormalMean(double mu, double sigma) {
  const double phi = 0.5 * std::erfc(mu / sigma / std::numbers::sqrt2);  // Φ(−μ/σ)
  return sigma * std::sqrt(2 / std::numbers::pi) * std::exp(-mu * mu / (2 * sigma * sigma)) + mu * (1 - 2 * phi);
}

TEST(DeviceModelTest, IdealPresetLeavesTargetsUnchangedAndDrawsNothing) {
  const DeviceModel model(DevicePreset("ideal"));
  EXPECT_EQ(model.Name(), "ideal");
  EXPECT_EQ(model.DrawsPerCell(), 0);
  const ArrayXXf targets = Spread(17, 9, 0.0f, 25.0f);
  ArrayXXf g = targets;
  Rng rng(1);
  const uint64_t before = Peek(rng);
  model.Program(g, rng);
  EXPECT_TRUE((g == targets).all());
  EXPECT_EQ(Peek(rng), before);
  ArrayXXf g_ref = targets;
  model.ProgramReference(g_ref, rng);
  EXPECT_TRUE((g_ref == targets).all());

  ArrayXXf nu(17, 9);
  model.DrawDrift(g, nu, rng);
  EXPECT_TRUE((nu == 0).all());
  model.Age(g, nu, 1e6);
  EXPECT_TRUE((g == targets).all());
  EXPECT_EQ(Peek(rng), before);
  EXPECT_EQ(model.ReadSigma(12.5f, 100.0), 0.0f);
}

TEST(DeviceModelTest, TargetsAreClippedToTheRange) {
  const DeviceModel model(Ideal(5, 20));
  ArrayXXf g(1, 6);
  g << -3, 0, 5, 12, 20, 31;
  Rng rng(2);
  model.Program(g, rng);
  ArrayXXf expected(1, 6);
  expected << 5, 5, 5, 12, 20, 20;
  EXPECT_TRUE((g == expected).all()) << g;
}

TEST(DeviceModelTest, LevelsQuantizeToTheNearestLevelByHand) {
  DeviceParams p = Ideal(0, 10);
  p.levels = 5;  // levels 0, 2.5, 5, 7.5, 10
  const DeviceModel model(p);
  ArrayXXf g(1, 9);
  g << 0.0f, 1.2f, 1.25f, 3.7f, 3.76f, 6.2f, 8.6f, 9.0f, 12.0f;
  Rng rng(3);
  model.Program(g, rng);
  ArrayXXf expected(1, 9);
  // 1.25 is halfway between 0 and 2.5: halves go up. 12 is clipped to 10 first.
  expected << 0.0f, 0.0f, 2.5f, 2.5f, 5.0f, 5.0f, 7.5f, 10.0f, 10.0f;
  EXPECT_TRUE((g == expected).all()) << g;

  DeviceParams r = DevicePreset("rram");   // 64 levels on [50, 225]: Δ = 175/63
  r.programming.kind = ProgrammingNoiseKind::kNone;
  const DeviceModel rram(r);
  EXPECT_EQ(rram.Quantize(50.0f), 50.0f);
  EXPECT_EQ(rram.Quantize(225.0f), 225.0f);
  EXPECT_EQ(rram.Quantize(51.3f), 50.0f);                                       // 0.47 Δ
  EXPECT_EQ(rram.Quantize(51.5f), static_cast<float>(50 + 175.0 / 63));        // 0.54 Δ
  EXPECT_EQ(rram.Quantize(137.0f), static_cast<float>(50 + 31 * 175.0 / 63));   // 30.96 Δ
}

TEST(DeviceModelTest, DrawOrderAndStepsByHand) {
  DeviceParams p = Ideal(0, 25);
  p.g_max_variation = 0.1;
  p.programming.kind = ProgrammingNoiseKind::kConstant;
  p.programming.sigma = 0.5;
  p.stuck_at_min = 0.1;
  p.stuck_at_max = 0.1;
  const DeviceModel model(p);
  EXPECT_EQ(model.DrawsPerCell(), 3);

  const std::vector<float> targets = {10, 20, 5, 24, 0.5f, 12};
  ArrayXXf g(2, 3);
  for (int i = 0; i < 6; ++i) g(i) = targets[i];   // cell order is column-major
  Rng rng(11);
  Rng by_hand = rng;
  model.Program(g, rng);

  for (int i = 0; i < 6; ++i) {
    const double z_v = by_hand.Normal(), z_p = by_hand.Normal(), u = by_hand.Uniform();
    const double device_g_max = 25 * (1 + 0.1 * z_v);
    double x = targets[i] * device_g_max / 25;              // g_min = 0: the range is stretched
    x = std::min(std::max(x + 0.5 * z_p, 0.0), device_g_max);
    if (u < 0.1) {
      x = 0;
    } else if (u < 0.2) {
      x = 25;
    }
    EXPECT_NEAR(g(i), x, 1e-5 * 25) << "cell " << i;
  }
  EXPECT_EQ(Peek(rng), Peek(by_hand));   // exactly 3 draws per cell
}

struct Case {
  const char* name;
  DeviceParams params;
};

std::vector<Case> ProgramCases() {
  std::vector<Case> cases;
  cases.push_back({"ideal", DevicePreset("ideal")});
  cases.push_back({"pcm", DevicePreset("pcm")});
  cases.push_back({"rram", DevicePreset("rram")});
  DeviceParams all = DevicePreset("rram");
  all.levels = 16;
  all.g_max_variation = 0.05;
  all.stuck_at_min = 0.02;
  all.stuck_at_max = 0.03;
  cases.push_back({"rram+variation+faults", all});
  DeviceParams prop = Ideal(2, 40);
  prop.programming.kind = ProgrammingNoiseKind::kProportional;
  prop.programming.relative = 0.08;
  prop.g_max_variation = 0.2;
  cases.push_back({"proportional+variation", prop});
  DeviceParams pcm = DevicePreset("pcm");
  pcm.g_max = 30;          // σ scaled by 30/25
  pcm.stuck_at_max = 0.05;
  cases.push_back({"pcm g_max 30 + faults", pcm});
  DeviceParams faults_only = Ideal();
  faults_only.stuck_at_min = 0.5;
  cases.push_back({"faults only", faults_only});
  return cases;
}

TEST(DeviceModelTest, ProgramMatchesTheReferenceExactly) {
  for (const Case& c : ProgramCases()) {
    SCOPED_TRACE(c.name);
    const DeviceModel model(c.params);
    // Targets beyond both ends as well, so clipping is exercised.
    const ArrayXXf targets = Spread(37, 23, static_cast<float>(c.params.g_min) - 3, static_cast<float>(c.params.g_max) + 3);
    ArrayXXf fast = targets, slow = targets;
    Rng rng_fast(42), rng_slow(42);
    model.Program(fast, rng_fast);
    model.ProgramReference(slow, rng_slow);
    EXPECT_TRUE((fast == slow).all()) << "max |difference| " << (fast - slow).abs().maxCoeff();
    EXPECT_EQ(Peek(rng_fast), Peek(rng_slow));
    if (model.DrawsPerCell() > 0) {
      EXPECT_FALSE((fast == targets.max(static_cast<float>(c.params.g_min)).min(static_cast<float>(c.params.g_max))).all());
    }

    // A strided block of a larger array gives the same cells as a contiguous copy.
    ArrayXXf big = Filled(50, 40, -1.0f);
    big.block(3, 5, 37, 23) = targets;
    Rng rng_block(42);
    model.Program(big.block(3, 5, 37, 23), rng_block);
    EXPECT_TRUE((big.block(3, 5, 37, 23) == slow).all());
    EXPECT_TRUE((big.block(0, 0, 3, 40) == -1.0f).all());   // outside the block untouched
  }
}

TEST(DeviceModelTest, SameSeedSameResultOtherSeedOtherResult) {
  const DeviceModel model(DevicePreset("pcm"));
  const ArrayXXf targets = Spread(20, 20, 1, 24);
  ArrayXXf a = targets, b = targets, c = targets;
  Rng ra(5), rb(5), rc(6);
  model.Program(a, ra);
  model.Program(b, rb);
  model.Program(c, rc);
  EXPECT_TRUE((a == b).all());
  EXPECT_FALSE((a == c).all());
  // Programming a second array with the advanced stream gives new noise.
  ArrayXXf d = targets;
  model.Program(d, ra);
  EXPECT_FALSE((a == d).all());
}

TEST(DeviceModelTest, ProgrammingSigmaByHand) {
  const DeviceModel pcm(DevicePreset("pcm"));
  // σ = 0.26348 + 1.9650 ĝ − 1.1731 ĝ², ĝ = g / 25.
  EXPECT_NEAR(pcm.ProgrammingSigma(0.0f), 0.26348, 1e-6);
  EXPECT_NEAR(pcm.ProgrammingSigma(5.0f), 0.609556, 1e-6);
  EXPECT_NEAR(pcm.ProgrammingSigma(12.5f), 0.952705, 1e-6);
  EXPECT_NEAR(pcm.ProgrammingSigma(25.0f), 1.05538, 1e-6);
  DeviceParams wide = DevicePreset("pcm");
  wide.g_max = 50;   // same shape in ĝ, σ scaled by 50/25
  EXPECT_NEAR(DeviceModel(wide).ProgrammingSigma(25.0f), 2 * 0.952705, 2e-6);

  const DeviceModel rram(DevicePreset("rram"));   // σ = 4.782321 − 0.009107 g
  EXPECT_NEAR(rram.ProgrammingSigma(50.0f), 4.326971, 1e-5);
  EXPECT_NEAR(rram.ProgrammingSigma(225.0f), 2.733246, 1e-5);

  DeviceParams prop = Ideal();
  prop.programming.kind = ProgrammingNoiseKind::kProportional;
  prop.programming.relative = 0.05;
  EXPECT_NEAR(DeviceModel(prop).ProgrammingSigma(15.0f), 0.75, 1e-6);
}

struct NoiseCase {
  const char* name;
  DeviceParams params;
  float target;
  double sigma;   // by hand
};

TEST(DeviceModelTest, ProgrammingNoiseMeanAndVarianceStatistical) {
  std::vector<NoiseCase> cases;
  const DeviceParams pcm = DevicePreset("pcm");
  cases.push_back({"pcm g=5", pcm, 5.0f, 0.609556});
  cases.push_back({"pcm g=12.5", pcm, 12.5f, 0.952705});
  cases.push_back({"pcm g=20", pcm, 20.0f, 1.084696});
  DeviceParams pcm50 = pcm;
  pcm50.g_max = 50;
  cases.push_back({"pcm g_max=50 g=25", pcm50, 25.0f, 2 * 0.952705});
  // rram targets on its level grid 50 + k·175/63, far enough below 225 that clipping is negligible.
  const DeviceParams rram = DevicePreset("rram");
  cases.push_back({"rram k=2", rram, static_cast<float>(50 + 2 * 175.0 / 63), 4.276376556});
  cases.push_back({"rram k=31", rram, static_cast<float>(50 + 31 * 175.0 / 63), 3.542757111});
  cases.push_back({"rram k=55", rram, static_cast<float>(50 + 55 * 175.0 / 63), 2.935623778});
  DeviceParams constant = Ideal();
  constant.programming.kind = ProgrammingNoiseKind::kConstant;
  constant.programming.sigma = 0.5;
  cases.push_back({"constant", constant, 10.0f, 0.5});
  DeviceParams prop = Ideal();
  prop.programming.kind = ProgrammingNoiseKind::kProportional;
  prop.programming.relative = 0.05;
  cases.push_back({"proportional", prop, 15.0f, 0.75});

  Rng rng(2024);
  for (const NoiseCase& c : cases) {
    SCOPED_TRACE(c.name);
    const DeviceModel model(c.params);
    ArrayXXf g = Filled(200, 200, c.target);
    model.Program(g, rng);
    const double n = static_cast<double>(g.size());
    const Moments m = MomentsOf(g - c.target);
    const double var = c.sigma * c.sigma;
    // Statistical: mean within 5 σ/√n; sample variance within 5 σ²·√(2/(n−1)) (Gaussian).
    EXPECT_NEAR(m.mean, 0.0, kSigmas * c.sigma / std::sqrt(n));
    EXPECT_NEAR(m.var, var, kSigmas * var * std::sqrt(2 / (n - 1)));
  }
}

TEST(DeviceModelTest, StuckAtFractionsStatistical) {
  DeviceParams p = Ideal();
  p.stuck_at_min = 0.02;
  p.stuck_at_max = 0.05;
  const DeviceModel model(p);
  ArrayXXf g = Filled(400, 500, 12.5f);
  Rng rng(77);
  model.Program(g, rng);
  const double n = static_cast<double>(g.size());
  const double at_min = (g == 0.0f).count(), at_max = (g == 25.0f).count(), untouched = (g == 12.5f).count();
  EXPECT_EQ(at_min + at_max + untouched, n);
  // Statistical (binomial): count within 5·sqrt(n p (1 − p)) of n p.
  EXPECT_NEAR(at_min, n * 0.02, kSigmas * std::sqrt(n * 0.02 * 0.98));
  EXPECT_NEAR(at_max, n * 0.05, kSigmas * std::sqrt(n * 0.05 * 0.95));
}

TEST(DeviceModelTest, GMaxVariationStatistical) {
  DeviceParams p = Ideal(5, 25);
  p.g_max_variation = 0.1;
  const DeviceModel model(p);
  ArrayXXf g(2, 50000);
  g.row(0).setConstant(25.0f);   // a target of g_max lands on the device's own g_max
  g.row(1).setConstant(5.0f);    // g_min stays where it is
  Rng rng(8);
  model.Program(g, rng);
  EXPECT_TRUE((g.row(1) == 5.0f).all());
  const ArrayXXf ratio = g.row(0) / 25.0f;
  const double n = static_cast<double>(ratio.size());
  const Moments m = MomentsOf(ratio);
  // Statistical: G/g_max ~ N(1, 0.1²) (the clip at g_min is 8 σ away): mean within 5·0.1/√n,
  // std within 5·0.1/√(2n).
  EXPECT_NEAR(m.mean, 1.0, kSigmas * 0.1 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(m.var), 0.1, kSigmas * 0.1 / std::sqrt(2 * n));
  // A mid-range target is stretched with its device: (g − g_min) / (target − g_min) = (G − g_min)/(g_max − g_min).
  EXPECT_NEAR(model.ScaleToDevice(15.0f, 30.0f), 5 + 10 * 25.0 / 20, 1e-5);
  EXPECT_EQ(model.DeviceGMax(-20.0), 5.0f);   // never below g_min
}

TEST(DeviceModelTest, PcmDriftExponentFitByHand) {
  const DeviceModel model(DevicePreset("pcm"));
  struct Point {
    double g_hat, mu, sigma;   // μ = clip(−0.0155 ln ĝ + 0.0244, 0.049, 0.1), σ = clip(−0.0125 ln ĝ − 0.0059, 0.008, 0.045)
  };
  const Point points[] = {{0.005, 0.1, 0.045},                 // both clipped from above (0.1065, 0.0603)
                          {0.05, 0.0708338502, 0.0315466534},  // inside both clips
                          {0.3, 0.049, 0.0091496601},          // μ clipped from below (0.0431)
                          {1.0, 0.049, 0.008}};                // both clipped from below
  for (const Point& pt : points) {
    const float g = static_cast<float>(pt.g_hat * 25);
    EXPECT_NEAR(model.DriftNuMean(g), pt.mu, 1e-8) << pt.g_hat;
    EXPECT_NEAR(model.DriftNuStd(g), pt.sigma, 1e-8) << pt.g_hat;
  }
  EXPECT_EQ(model.DriftNuMean(0.0f), 0.1);    // ĝ floored: ln ĝ finite, μ at its ceiling
  EXPECT_EQ(model.DriftNuStd(0.0f), 0.045);
}

TEST(DeviceModelTest, PcmDriftExponentMeanStatistical) {
  const DeviceModel model(DevicePreset("pcm"));
  const double t = 3600, t0 = 20;
  const double log_ratio = std::log((t + t0) / t0);
  Rng rng(99);
  for (const double g_hat : {0.005, 0.05, 0.3, 1.0}) {
    SCOPED_TRACE(g_hat);
    const float g0 = static_cast<float>(g_hat * 25);
    const ArrayXXf g_prog = Filled(200, 200, g0);
    ArrayXXf nu(200, 200);
    model.DrawDrift(g_prog, nu, rng);
    ArrayXXf g = g_prog;
    model.Age(g, nu, t);
    // ν recovered from the aged conductance: ln(g(t)/g_prog) / −ln((t + t0)/t0).
    const ArrayXXf nu_hat = (g / g_prog).log() / static_cast<float>(-log_ratio);
    EXPECT_LT((nu_hat - nu).abs().maxCoeff(), 1e-5);
    EXPECT_TRUE((nu >= 0).all());

    const double mu = model.DriftNuMean(g0), sigma = model.DriftNuStd(g0);
    const double mean = FoldedNormalMean(mu, sigma);
    const double sd = std::sqrt(mu * mu + sigma * sigma - mean * mean);   // of |N(μ, σ²)|
    const double n = static_cast<double>(nu.size());
    // Statistical: sample mean of ν̂ within 5 sd/√n of the folded-normal mean.
    EXPECT_NEAR(MomentsOf(nu_hat).mean, mean, kSigmas * sd / std::sqrt(n));
  }
}

TEST(DeviceModelTest, ConstantNuAgesByThePowerLaw) {
  DeviceParams p = Ideal();
  p.drift.kind = DriftKind::kConstantNu;
  p.drift.nu = 0.1;
  p.drift.nu_std = 0;
  p.drift.t0 = 20;
  const DeviceModel model(p);
  const ArrayXXf g_prog = Filled(3, 4, 10.0f);
  ArrayXXf nu(3, 4);
  Rng rng(4);
  model.DrawDrift(g_prog, nu, rng);
  EXPECT_TRUE((nu == 0.1f).all());
  ArrayXXf g = g_prog;
  model.Age(g, nu, 0.0);
  EXPECT_TRUE((g == g_prog).all());      // t = 0: the programmed value
  model.Age(g, nu, 20.0 * 1023);         // ((t + t0)/t0)^−0.1 = 1024^−0.1 = 1/2
  EXPECT_TRUE(((g - 5.0f).abs() < 2e-6f).all()) << g;
  g = g_prog;
  model.Age(g, nu, 20.0);                // 2^−0.1
  EXPECT_NEAR(g(0, 0), 10 * std::pow(2.0, -0.1), 1e-5);
}

TEST(DeviceModelTest, DriftAndReadRejectBadArguments) {
  const DeviceModel model(DevicePreset("pcm"));
  ArrayXXf g = Filled(3, 4, 10.0f), nu = Filled(3, 4, 0.05f), wrong(4, 3);
  Rng rng(1);
  EXPECT_THROW(model.DrawDrift(g, wrong, rng), std::invalid_argument);
  EXPECT_THROW(model.Age(g, wrong, 1.0), std::invalid_argument);
  EXPECT_TRUE(HasPart(testing::InvalidArgumentOf([&] { model.Age(g, nu, -1.0); }), "t_seconds = -1"));
  EXPECT_THROW(model.Age(g, nu, std::nan("")), std::invalid_argument);
  EXPECT_THROW(model.ReadSigma(10.0f, -0.5), std::invalid_argument);
  EXPECT_THROW(model.ReadSigma(g, 1.0, wrong), std::invalid_argument);
}

TEST(DeviceModelTest, ReadSigmaByHand) {
  const DeviceModel pcm(DevicePreset("pcm"));
  // σ = |g|·Q_s·sqrt(ln((t + 20 s + 250 ns)/(500 ns))), Q_s = min(0.0088 / max((g/25)^0.65, 1e-3), 0.2).
  EXPECT_NEAR(pcm.ReadSigma(25.0f, 0.0), 0.9204414578, 1e-6);    // Q_s = 0.0088
  EXPECT_NEAR(pcm.ReadSigma(5.0f, 0.0), 0.5240306270, 1e-6);     // Q_s = 0.0088 / 0.2^0.65
  EXPECT_NEAR(pcm.ReadSigma(0.01f, 0.0), 0.0083676496, 1e-8);    // Q_s clipped at 0.2
  EXPECT_NEAR(pcm.ReadSigma(25.0f, 3600.0), 1.0482460269, 1e-6); // grows with t
  EXPECT_NEAR(pcm.ReadSigma(5.0f, 3600.0), 0.5967930041, 1e-6);
  EXPECT_EQ(pcm.ReadSigma(0.0f, 10.0), 0.0f);
  EXPECT_FLOAT_EQ(pcm.ReadSigma(-5.0f, 0.0), pcm.ReadSigma(5.0f, 0.0));   // depends on |g|

  DeviceParams no_offset = DevicePreset("pcm");
  no_offset.read.t0 = 0;   // the formula with t counted from the start of programming
  const DeviceModel fresh(no_offset);
  EXPECT_EQ(fresh.ReadSigma(25.0f, 0.0), 0.0f);          // ln(1/2) < 0 → 0
  EXPECT_EQ(fresh.ReadSigma(25.0f, 250e-9), 0.0f);       // ln 1 = 0
  EXPECT_NEAR(fresh.ReadSigma(25.0f, 750e-9), 0.1831620145, 1e-7);   // 0.22·sqrt(ln 2)

  DeviceParams constant = Ideal();
  constant.read.kind = ReadNoiseKind::kConstant;
  constant.read.sigma = 0.3;
  EXPECT_FLOAT_EQ(DeviceModel(constant).ReadSigma(7.0f, 1e3), 0.3f);
  DeviceParams prop = Ideal();
  prop.read.kind = ReadNoiseKind::kProportional;
  prop.read.relative = 0.02;
  EXPECT_FLOAT_EQ(DeviceModel(prop).ReadSigma(-10.0f, 0.0), 0.2f);

  // The array form is the scalar one per cell.
  const ArrayXXf g = Spread(6, 7, 0, 25);
  ArrayXXf sigma(6, 7);
  pcm.ReadSigma(g, 3600.0, sigma);
  for (Eigen::Index i = 0; i < g.size(); ++i) EXPECT_EQ(sigma(i), pcm.ReadSigma(g(i), 3600.0));
}

TEST(DeviceModelTest, ConstructorValidatesAndNamesTheOrigin) {
  DeviceParams p = DevicePreset("pcm");
  p.g_min = 30;
  EXPECT_EQ(InputErrorOf([&] { DeviceModel model(p, "xbar.json: device"); }),
            "xbar.json: device.g_min: 30 must be < device.g_max (25)");
  p = DevicePreset("pcm");
  p.preset.clear();
  p.stuck_at_min = 0.01;
  EXPECT_EQ(DeviceModel(p).Name(), "custom");
}

}  // namespace
}  // namespace cimsim
