#include "quant/adaround.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace cimsim {
namespace {

// A synthetic layer: W [rows, cols] ~ N(0, 1) per row scaled, correlated inputs x (cols) and the
// inputs x̂ = x + small noise, n patches.
struct Synthetic {
  int64_t rows, cols, n;
  std::vector<float> w, x, xq;   // x, xq: [cols, n] row-major
};

Synthetic MakeLayer(int64_t rows, int64_t cols, int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  Synthetic s{rows, cols, n, {}, {}, {}};
  s.w.resize(static_cast<size_t>(rows * cols));
  for (int64_t o = 0; o < rows; ++o)
    for (int64_t k = 0; k < cols; ++k) s.w[static_cast<size_t>(o * cols + k)] = normal(gen) * (0.5f + 0.1f * static_cast<float>(o));
  // x = A z with z ~ N(0, 1) (cols latent), A lower-triangular with decaying entries: correlated inputs.
  s.x.assign(static_cast<size_t>(cols * n), 0.f);
  s.xq.assign(static_cast<size_t>(cols * n), 0.f);
  std::vector<float> z(static_cast<size_t>(cols));
  for (int64_t p = 0; p < n; ++p) {
    for (auto& v : z) v = normal(gen);
    for (int64_t k = 0; k < cols; ++k) {
      float v = 0;
      for (int64_t j = 0; j <= k; ++j) v += z[static_cast<size_t>(j)] * std::pow(0.7f, static_cast<float>(k - j));
      s.x[static_cast<size_t>(k * n + p)] = std::max(v, 0.f);   // ReLU-like inputs
      s.xq[static_cast<size_t>(k * n + p)] = std::max(v, 0.f) + 0.05f * normal(gen);
    }
  }
  return s;
}

LayerMoments MomentsOf(const Synthetic& s) {
  LayerMoments m(s.cols);
  m.Add(s.x.data(), s.xq.data(), s.n);
  return m;
}

AdaRoundProblem ProblemOf(const Synthetic& s, int bits) {
  WeightQuantParams wp;
  wp.bits = bits;
  wp.range.method = RangeMethod::kMse;
  const QuantizedWeights q = QuantizeWeights(s.w.data(), s.rows, s.cols, wp);
  const LayerMoments m = MomentsOf(s);
  AdaRoundProblem p;
  p.w = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(s.w.data(), s.rows, s.cols)
            .cast<double>();
  p.scales = Eigen::Map<const Eigen::VectorXd>(q.scales.data(), s.rows);
  p.qmax = std::ldexp(1.0, bits - 1) - 1;
  p.cxx = m.Cxx();
  p.cxq = m.Cxq();
  p.cqq = m.Cqq();
  p.rec0 = 0.37;
  return p;
}

TEST(LayerMoments, MatchDirectSums) {
  const Synthetic s = MakeLayer(2, 3, 50, 1);
  LayerMoments m(3);
  m.Add(s.x.data(), s.xq.data(), 50);
  const Eigen::MatrixXd cxq = m.Cxq();
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      double sum = 0;
      for (int p = 0; p < 50; ++p) sum += static_cast<double>(s.x[a * 50 + p]) * s.xq[b * 50 + p];
      EXPECT_NEAR(cxq(a, b), sum / 50, 1e-5);
    }
  EXPECT_EQ(m.count(), 50);
}

// ∂L/∂V against central differences, with and without the regularizer, away from the kinks
// (h clamped to 0/1, a code at ±Q).
TEST(AdaRound, GradientMatchesFiniteDifferences) {
  const Synthetic s = MakeLayer(4, 9, 400, 2);
  const AdaRoundProblem p = ProblemOf(s, 4);
  Eigen::MatrixXd v = AdaRoundInitialV(p);
  std::mt19937 gen(3);
  std::uniform_real_distribution<double> jitter(-0.5, 0.5);
  for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = std::clamp(v(i) + jitter(gen), -2.0, 2.0);
  for (double lambda : {0.0, 0.3}) {
    Eigen::MatrixXd grad;
    AdaRoundLoss<double>(p, v, lambda, 3.0, &grad);
    const Eigen::MatrixXd h = AdaRoundH(v);
    int checked = 0;
    for (Eigen::Index i = 0; i < v.rows(); ++i)
      for (Eigen::Index j = 0; j < v.cols(); ++j) {
        const double code = std::floor(p.w(i, j) / p.scales(i)) + h(i, j);
        if (h(i, j) <= 0.01 || h(i, j) >= 0.99 || std::fabs(code) >= p.qmax) continue;
        const double eps = 1e-6;
        Eigen::MatrixXd vp = v, vm = v;
        vp(i, j) += eps;
        vm(i, j) -= eps;
        const double fd = (AdaRoundLoss<double>(p, vp, lambda, 3.0, nullptr) -
                           AdaRoundLoss<double>(p, vm, lambda, 3.0, nullptr)) / (2 * eps);
        EXPECT_NEAR(grad(i, j), fd, 1e-6 + 1e-4 * std::fabs(fd)) << "lambda " << lambda << " at " << i << "," << j;
        ++checked;
      }
    EXPECT_GT(checked, 20);
  }
  // The float version (the optimizer's) agrees with the double one.
  Eigen::MatrixXd gd;
  Eigen::MatrixXf gf;
  const double ld = AdaRoundLoss<double>(p, v, 0.3, 3.0, &gd);
  const double lf = AdaRoundLoss<float>(p, Eigen::MatrixXf(v.cast<float>()), 0.3, 3.0, &gf);
  EXPECT_NEAR(ld, lf, 1e-3 * std::fabs(ld));
  EXPECT_LT((gd - gf.cast<double>()).norm(), 1e-3 * gd.norm());
}

TEST(AdaRound, InitialVGivesTheFractionalPart) {
  const Synthetic s = MakeLayer(3, 5, 10, 4);
  const AdaRoundProblem p = ProblemOf(s, 4);
  const Eigen::MatrixXd soft = AdaRoundWeights(p, AdaRoundInitialV(p), false);
  for (Eigen::Index i = 0; i < p.w.rows(); ++i)
    for (Eigen::Index j = 0; j < p.w.cols(); ++j) {
      const double r = p.w(i, j) / p.scales(i);
      if (std::fabs(r) >= p.qmax) continue;
      const double f = r - std::floor(r);
      if (f < 0.01 || f > 0.99) continue;
      EXPECT_NEAR(soft(i, j), p.w(i, j), 1e-9 * p.scales(i));
    }
}

// On a synthetic layer, AdaRound's output error is below nearest rounding's, and the clip search and
// bias correction do what they say.
TEST(AdaRound, ReducesTheLayerOutputErrorVersusNearest) {
  const Synthetic s = MakeLayer(8, 36, 4000, 5);
  const LayerMoments m = MomentsOf(s);
  WeightQuantParams wp;
  wp.bits = 4;
  wp.range.method = RangeMethod::kMse;
  OutputQuantParams op;
  op.rounding = WeightRounding::kAdaRound;
  op.adaround.iterations = 1000;
  const OutputQuantResult r = QuantizeWeightsForOutput(s.w.data(), s.rows, s.cols, wp, m, op);
  EXPECT_LT(r.error_final, 0.8 * r.error_nearest) << "nearest " << r.error_nearest << " adaround " << r.error_final << " floor " << r.error_float_inputs;
  EXPECT_GE(r.error_final, r.error_float_inputs * 0.0);
  // Codes stay on the grid, within one step of W/s.
  for (int64_t o = 0; o < s.rows; ++o)
    for (int64_t k = 0; k < s.cols; ++k) {
      const int code = r.weights.codes[static_cast<size_t>(o * s.cols + k)];
      EXPECT_LE(std::abs(code), 7);
      const double x = s.w[static_cast<size_t>(o * s.cols + k)] / r.weights.scales[static_cast<size_t>(o)];
      EXPECT_LE(std::fabs(code - std::clamp(x, -7.0, 7.0)), 1.0 + 1e-9);
    }
  // Deterministic.
  const OutputQuantResult again = QuantizeWeightsForOutput(s.w.data(), s.rows, s.cols, wp, m, op);
  EXPECT_EQ(r.weights.codes, again.weights.codes);

  OutputQuantParams clip;
  clip.clip_search = true;
  const OutputQuantResult c = QuantizeWeightsForOutput(s.w.data(), s.rows, s.cols, wp, m, clip);
  EXPECT_LE(c.error_final, c.error_nearest + 1e-12);

  OutputQuantParams bias;
  bias.bias_correction = true;
  const OutputQuantResult b = QuantizeWeightsForOutput(s.w.data(), s.rows, s.cols, wp, m, bias);
  // The corrected layer's mean output equals the float one's.
  for (int64_t o = 0; o < s.rows; ++o) {
    double mean_float = 0, mean_q = 0;
    for (int64_t p = 0; p < s.n; ++p) {
      for (int64_t k = 0; k < s.cols; ++k) {
        mean_float += s.w[static_cast<size_t>(o * s.cols + k)] * s.x[static_cast<size_t>(k * s.n + p)];
        mean_q += b.weights.scales[static_cast<size_t>(o)] * b.weights.codes[static_cast<size_t>(o * s.cols + k)] *
                  s.xq[static_cast<size_t>(k * s.n + p)];
      }
    }
    EXPECT_NEAR(mean_float / s.n, mean_q / s.n + b.bias_shift[static_cast<size_t>(o)], 1e-3);
  }
}

TEST(AdaRound, ParamsValidationNamesTheField) {
  AdaRoundParams p;
  p.iterations = 0;
  try {
    p.Validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("iterations = 0"), std::string::npos) << e.what();
  }
  p = AdaRoundParams{};
  p.beta_end = 30;
  try {
    p.Validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("beta_end = 30"), std::string::npos) << e.what();
  }
  p = AdaRoundParams{};
  p.warmup = 1;
  EXPECT_THROW(p.Validate(), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
