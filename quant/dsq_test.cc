// DSQ kernels: code ranges, the hard forward by hand (ties away from zero, clipping) and against plain
// rounding on the grid (codes exact) and against rounding the soft function, the soft function against
// a local float64 transcription, the backward against central differences of the soft function (x, u
// and α, interval held fixed), the homogeneity identity x·∂x + u·∂u = Q_S, fast vs reference, the
// initialisation and the errors.
#include "quant/dsq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InvalidArgumentOf;

std::vector<double> ToDouble(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// The soft function of the paper, transcribed in float64 with the interval i given.
double SoftQ(double x, double u, double alpha, DsqRange r, double i) {
  const double l = r.is_signed ? -u : 0.0, delta = u / r.q_max;
  const double t = std::clamp(x, l, u);
  const double m = l + (i + 0.5) * delta;
  const double s = 1 / (1 - alpha), k = std::log(2 / alpha - 1) / delta;
  return l + delta * (i + (s * std::tanh(k * (t - m)) + 1) / 2);
}

// The interval of x in real arithmetic, and how far (t − l)/Δ is from an interval boundary.
double IntervalOf(double x, double u, DsqRange r, double* boundary_distance = nullptr) {
  const double l = r.is_signed ? -u : 0.0, delta = u / r.q_max;
  const double n_intervals = r.is_signed ? 2 * r.q_max : r.q_max;
  const double p = (std::clamp(x, l, u) - l) / delta;
  if (boundary_distance) *boundary_distance = std::fabs(p - std::round(p));
  return std::clamp(std::floor(p), 0.0, n_intervals - 1);
}

struct Case {
  int bits;
  bool is_signed;
  float u, alpha;
  int64_t n;
};

const Case kCases[] = {{2, true, 0.7f, 0.2f, 1000},   {2, false, 3.1f, 0.5f, 999},  {3, true, 1.9f, 0.05f, 257},
                       {4, false, 0.013f, 0.2f, 4099}, {4, true, 2.5f, 0.9f, 33},    {6, false, 1.0f, 0.35f, 17},
                       {8, true, 0.31f, 0.2f, 10007},  {8, false, 5.0f, 0.02f, 3001}, {7, true, 0.9f, 0.6f, 1}};

// Values over and beyond the clip range, some exactly on grid points, midpoints and the bounds.
std::vector<float> RandomValues(const Case& c, uint64_t seed) {
  const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
  const float delta = c.u / static_cast<float>(r.q_max);
  Rng rng(seed);
  std::vector<float> x(static_cast<size_t>(c.n));
  for (size_t i = 0; i < x.size(); ++i) {
    const double a = c.is_signed ? 1.3 * (2 * rng.Uniform() - 1) : 1.6 * rng.Uniform() - 0.3;
    x[i] = static_cast<float>(a * c.u);
    if (i % 29 == 3) x[i] = delta * std::round(x[i] / delta);            // grid points
    if (i % 31 == 4) x[i] = delta * (std::floor(x[i] / delta) + 0.5f);   // midpoints (approximately)
    if (i % 43 == 5) x[i] = c.u;
    if (i % 47 == 6) x[i] = c.is_signed ? -c.u : 0.0f;
  }
  return x;
}

std::vector<float> RandomGrad(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> g(static_cast<size_t>(n));
  for (float& x : g) x = static_cast<float>(rng.Normal());
  return g;
}

TEST(DsqCodeRange, EveryWidth) {
  for (int bits = 2; bits <= 8; ++bits) {
    EXPECT_EQ(DsqCodeRange(bits, true).q_max, (1 << (bits - 1)) - 1);
    EXPECT_EQ(DsqCodeRange(bits, false).q_max, (1 << bits) - 1);
    EXPECT_TRUE(DsqCodeRange(bits, true).is_signed);
    EXPECT_FALSE(DsqCodeRange(bits, false).is_signed);
  }
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { DsqCodeRange(1, true); }), "bits = 1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { DsqCodeRange(9, false); }), "bits = 9"));
}

TEST(DsqForward, HandWorked) {
  // 3 bits signed: codes −3..3, u = 3 → Δ = 1. Ties go away from zero on both sides.
  const DsqRange r = DsqCodeRange(3, true);
  const std::vector<float> x = {0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49f, -1.2f, 3.7f, -9.0f, 0.0f};
  const std::vector<int16_t> want = {1, -1, 2, -2, 3, -3, 0, -1, 3, -3, 0};
  std::vector<int16_t> codes(x.size());
  DsqCodes(x, 3.0f, r, codes);
  EXPECT_EQ(codes, want);
  std::vector<float> out(x.size());
  DsqForward(x, 3.0f, r, out);
  std::vector<double> ref(x.size());
  DsqForwardReference(ToDouble(x), 3.0, r, ref);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(out[i], static_cast<float>(want[i])) << i;
    EXPECT_EQ(ref[i], want[i]) << i;
  }
  // 2 bits unsigned: codes 0..3, u = 1.5 → Δ = 0.5.
  const DsqRange ru = DsqCodeRange(2, false);
  const std::vector<float> xu = {-1.0f, 0.0f, 0.25f, 0.24f, 0.75f, 1.25f, 1.4f, 7.0f};
  std::vector<int16_t> cu(xu.size());
  DsqCodes(xu, 1.5f, ru, cu);
  EXPECT_EQ(cu, (std::vector<int16_t>{0, 0, 1, 0, 2, 3, 3, 3}));
}

TEST(DsqForward, HardEqualsRoundingOnTheGrid) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " n " << c.n);
    const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
    const std::vector<float> x = RandomValues(c, 10 + c.bits);
    const float delta = c.u / static_cast<float>(r.q_max);
    const float lo = c.is_signed ? -c.u : 0.0f, code_lo = c.is_signed ? static_cast<float>(-r.q_max) : 0.0f;
    std::vector<int16_t> codes(x.size());
    std::vector<float> out(x.size());
    std::vector<double> ref(x.size()), soft(x.size());
    DsqCodes(x, c.u, r, codes);
    DsqForward(x, c.u, r, out);
    DsqForwardReference(ToDouble(x), c.u, r, ref);
    DsqSoftForwardReference(ToDouble(x), c.u, c.alpha, r, soft);
    const double l = c.is_signed ? -static_cast<double>(c.u) : 0.0, delta64 = static_cast<double>(c.u) / r.q_max;
    int64_t compared_soft = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      // Plain rounding on the grid (std::round, half away from zero).
      const float q = std::clamp(std::clamp(x[i], lo, c.u) / delta, code_lo, static_cast<float>(r.q_max));
      const auto want = static_cast<int16_t>(std::round(q));
      ASSERT_EQ(codes[i], want) << i << " x " << x[i];
      ASSERT_EQ(out[i], static_cast<float>(want) * delta) << i;
      ASSERT_EQ(ref[i], want * delta64) << i;
      // l + Δ·round((Q_S − l)/Δ), away from the midpoints (where this formula breaks ties upwards).
      if (std::fabs(std::fabs(q - std::trunc(q)) - 0.5f) > 1e-3f) {
        ASSERT_EQ(std::floor((soft[i] - l) / delta64 + 0.5) + code_lo, want) << i;
        ++compared_soft;
      }
    }
    EXPECT_GT(compared_soft, 0);
  }
}

TEST(DsqSoftForwardReference, MatchesTheDefinition) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed);
    const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
    const std::vector<double> x = ToDouble(RandomValues(c, 20 + c.bits));
    std::vector<double> soft(x.size());
    DsqSoftForwardReference(x, c.u, c.alpha, r, soft);
    for (size_t i = 0; i < x.size(); ++i) {
      double dist;
      const double interval = IntervalOf(x[i], c.u, r, &dist);
      // The interval is decided on the float quotient; at a boundary both sides give the same value.
      EXPECT_NEAR(soft[i], SoftQ(x[i], c.u, c.alpha, r, interval), 1e-6 * c.u) << i;
      if (dist > 1e-4) {
        EXPECT_NEAR(soft[i], SoftQ(x[i], c.u, c.alpha, r, interval), 1e-13 * c.u) << i;
      }
    }
    // Q_S passes through every grid point and stays between l and u.
    const double delta = static_cast<double>(c.u) / r.q_max;
    for (int code = c.is_signed ? -r.q_max : 0; code <= r.q_max; ++code) {
      std::vector<double> p = {code * delta}, y(1);
      DsqSoftForwardReference(p, c.u, c.alpha, r, y);
      EXPECT_NEAR(y[0], code * delta, 1e-12 * c.u) << code;
    }
  }
}

TEST(DsqBackwardReference, MatchesFiniteDifferencesOfTheSoftFunction) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " alpha " << c.alpha);
    const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
    const std::vector<double> x = ToDouble(RandomValues(c, 30 + c.bits));
    const std::vector<double> g = ToDouble(RandomGrad(c.n, 40 + c.bits));
    const double u = c.u, alpha = c.alpha, delta = u / r.q_max, l = c.is_signed ? -u : 0.0;
    std::vector<double> grad_x(x.size());
    const DsqGrads an = DsqBackwardReference(x, g, u, alpha, r, grad_x);

    // The interval of each value, held fixed while u and α move; values near an interval boundary or
    // a clip bound are left out (the soft function has kinks in u and α there).
    std::vector<double> interval(x.size());
    std::vector<size_t> keep;
    double scale = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      double dist;
      interval[i] = IntervalOf(x[i], u, r, &dist);
      const bool near_bound = std::fabs(x[i] - l) < 1e-3 * delta || std::fabs(x[i] - u) < 1e-3 * delta;
      if (dist > 1e-3 && !near_bound) keep.push_back(i);
    }
    ASSERT_GE(keep.size(), x.size() / 3);
    const double c1 = std::log(2 / alpha - 1) / (2 * (1 - alpha));   // max ∂Q_S/∂x
    for (size_t i : keep) scale += std::fabs(g[i]) * (1 + c1) * (1 + delta);
    auto loss = [&](double uu, double aa) {
      double sum = 0;
      for (size_t i : keep) sum += g[i] * SoftQ(x[i], uu, aa, r, interval[i]);
      return sum;
    };
    auto analytic = [&](const DsqGrads& all) {
      // The sums over the kept values only: subtract the left-out ones (single-value reference calls).
      DsqGrads kept = all;
      std::vector<double> one_gx(1);
      for (size_t i = 0, k = 0; i < x.size(); ++i) {
        if (k < keep.size() && keep[k] == i) {
          ++k;
          continue;
        }
        const DsqGrads d = DsqBackwardReference(std::span<const double>(&x[i], 1), std::span<const double>(&g[i], 1),
                                                u, alpha, r, one_gx);
        kept.u -= d.u;
        kept.alpha -= d.alpha;
      }
      return kept;
    };
    const DsqGrads kept = analytic(an);
    const double hu = 1e-7 * u, ha = 1e-7;
    const double fd_u = (loss(u + hu, alpha) - loss(u - hu, alpha)) / (2 * hu);
    const double fd_a = (loss(u, alpha + ha) - loss(u, alpha - ha)) / (2 * ha);
    EXPECT_NEAR(kept.u, fd_u, 1e-6 * scale);
    EXPECT_NEAR(kept.alpha, fd_a, 1e-6 * scale);
    for (size_t k = 0; k < keep.size(); k += std::max<size_t>(1, keep.size() / 300)) {
      const size_t i = keep[k];
      const double h = 1e-6 * delta;
      const double fd = g[i] * (SoftQ(x[i] + h, u, alpha, r, interval[i]) - SoftQ(x[i] - h, u, alpha, r, interval[i])) /
                        (2 * h);
      EXPECT_NEAR(grad_x[i], fd, 1e-6 * std::fabs(g[i]) * (1 + c1)) << i;
    }
    // Clipped values: ∂x = 0, ∂α = 0, ∂u = 1 above and −1 (signed) or 0 (unsigned) below.
    const std::vector<double> clipped = {u, u * 1.5, l, l - 0.5 * u};
    std::vector<double> gx(4);
    const DsqGrads cg = DsqBackwardReference(clipped, std::vector<double>{1, 10, 100, 1000}, u, alpha, r, gx);
    EXPECT_EQ(gx, std::vector<double>(4, 0.0));
    EXPECT_EQ(cg.alpha, 0.0);
    EXPECT_EQ(cg.u, 11.0 + (c.is_signed ? -1100.0 : 0.0));
  }
}

// x·∂Q_S/∂x + u·∂Q_S/∂u = Q_S (Q_S is homogeneous of degree 1 in (x, u)), summed with weights g.
TEST(DsqBackward, HomogeneityIdentity) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " alpha " << c.alpha);
    const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
    const std::vector<float> xf = RandomValues(c, 50 + c.bits), gf = RandomGrad(c.n, 60 + c.bits);
    const std::vector<double> x = ToDouble(xf), g = ToDouble(gf);
    std::vector<double> soft(x.size()), gx(x.size());
    std::vector<float> gx32(x.size());
    DsqSoftForwardReference(x, c.u, c.alpha, r, soft);
    const DsqGrads ref = DsqBackwardReference(x, g, c.u, c.alpha, r, gx);
    const DsqGrads fast = DsqBackward(xf, gf, c.u, c.alpha, r, gx32);
    double want = 0, got_ref = c.u * ref.u, got_fast = c.u * fast.u, scale = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      want += g[i] * soft[i];
      got_ref += x[i] * gx[i];
      got_fast += x[i] * gx32[i];
      scale += std::fabs(g[i]) * c.u;
    }
    EXPECT_NEAR(got_ref, want, 1e-12 * scale);
    EXPECT_NEAR(got_fast, want, 1e-5 * scale);
  }
}

// How far the fast path may be from the reference. Its float quotient q = t/Δ32 carries an absolute
// error of about (|q| + 1)·2^-23 (Δ32 vs u/q_max, the division), so z = ln(2/α − 1)·(q − r − 1/2) one of
// ln(2/α − 1)·(|q| + 1)·2^-23, and |d sech²/dz| <= 0.77, |d tanh/dz| <= 1; exp and the rest add ~1e-6.
// Relative(x) is that, with a margin of about 2, relative to the largest magnitude of each term:
// c1 = max ∂Q_S/∂x, term_u >= |∂Q_S/∂u| parts, term_a >= |∂Q_S/∂α| parts.
struct FastTolerance {
  FastTolerance(float u_in, float alpha_in, DsqRange r_in) : u(u_in), r(r_in) {
    const double a = alpha_in, s = 1 / (1 - a);
    big_l = std::log(2 / a - 1);
    c1 = big_l * s / 2;
    term_u = 2 + c1;
    term_a = u / r.q_max / 2 * (s * s + s * 2 / (a * (2 - a)));
  }
  double Relative(double x) const {
    const double q = std::clamp(x, r.is_signed ? -u : 0.0, u) / (u / r.q_max);
    return 1e-6 + (big_l + 1) * (std::fabs(q) + 1) * std::ldexp(1.0, -22);
  }
  double u;
  DsqRange r;
  double big_l, c1, term_u, term_a;
};

TEST(DsqFastVsReference, CodesValuesAndGradients) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " alpha " << c.alpha);
    const DsqRange r = DsqCodeRange(c.bits, c.is_signed);
    const std::vector<float> x = RandomValues(c, 70 + c.bits), g = RandomGrad(c.n, 80 + c.bits);
    const std::vector<double> xd = ToDouble(x), gd = ToDouble(g);
    std::vector<float> gx(x.size()), out(x.size());
    std::vector<double> gx_ref(x.size()), out_ref(x.size());
    const DsqGrads fast = DsqBackward(x, g, c.u, c.alpha, r, gx);
    const DsqGrads ref = DsqBackwardReference(xd, gd, c.u, c.alpha, r, gx_ref);
    DsqForward(x, c.u, r, out);
    DsqForwardReference(xd, c.u, r, out_ref);
    const FastTolerance tol(c.u, c.alpha, r);
    double budget_u = 0, budget_a = 0, sum_g = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double rel = tol.Relative(xd[i]);
      sum_g += std::fabs(gd[i]);
      budget_u += std::fabs(gd[i]) * tol.term_u * rel;
      budget_a += std::fabs(gd[i]) * tol.term_a * rel;
      ASSERT_NEAR(out[i], out_ref[i], 2.5e-7 * std::fabs(out_ref[i])) << i;
      ASSERT_NEAR(gx[i], gx_ref[i], std::fabs(gd[i]) * tol.c1 * rel) << i;
      ASSERT_EQ(gx[i] == 0, gx_ref[i] == 0) << i;   // the same inside/outside decision
    }
    EXPECT_NEAR(fast.u, ref.u, budget_u);
    EXPECT_NEAR(fast.alpha, ref.alpha, budget_a);
    const double term_u = tol.term_u, c1 = tol.c1;

    // In place: out = x, grad_x = grad_out (same lanes, same results up to FMA contraction).
    std::vector<float> w = x, h = g;
    DsqForward(w, c.u, r, w);
    EXPECT_EQ(w, out);
    const DsqGrads in_place = DsqBackward(x, h, c.u, c.alpha, r, h);
    EXPECT_NEAR(in_place.u, fast.u, 1e-6 * sum_g * term_u);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(h[i], gx[i], 1e-6 * std::fabs(gd[i]) * c1) << i;
  }
}

TEST(DsqFastVsReference, ExtremeAlpha) {
  // α near 0 (almost hard rounding: k large, sech² tiny away from the midpoints) and near 1.
  const DsqRange r = DsqCodeRange(4, true);
  for (float alpha : {1e-6f, 1e-3f, 0.999f}) {
    SCOPED_TRACE(alpha);
    const Case c{4, true, 1.0f, alpha, 2000};
    const std::vector<float> x = RandomValues(c, 90), g = RandomGrad(c.n, 91);
    std::vector<float> gx(x.size());
    std::vector<double> gx_ref(x.size());
    const DsqGrads fast = DsqBackward(x, g, 1.0f, alpha, r, gx);
    const DsqGrads ref = DsqBackwardReference(ToDouble(x), ToDouble(g), 1.0, alpha, r, gx_ref);
    const FastTolerance tol(1.0f, alpha, r);
    double budget_u = 0, budget_a = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double rel = tol.Relative(x[i]);
      budget_u += std::fabs(g[i]) * tol.term_u * rel;
      budget_a += std::fabs(g[i]) * tol.term_a * rel;
      ASSERT_NEAR(gx[i], gx_ref[i], std::fabs(g[i]) * tol.c1 * rel) << i;
    }
    EXPECT_TRUE(std::isfinite(fast.u) && std::isfinite(fast.alpha));
    EXPECT_NEAR(fast.u, ref.u, budget_u);
    EXPECT_NEAR(fast.alpha, ref.alpha, budget_a);
  }
}

TEST(DsqInit, ParamsAndFromValues) {
  const DsqParams p = DsqInit(2.0);
  EXPECT_EQ(p.u, 2.0);
  EXPECT_EQ(p.alpha, kDsqDefaultAlpha);
  EXPECT_EQ(DsqInit(0.5, 0.4).alpha, 0.4);
  RangeParams max_range;
  max_range.method = RangeMethod::kMax;
  const std::vector<float> v = {0.5f, -3.0f, 2.0f, -0.25f};
  EXPECT_EQ(DsqInitFromValues(v, 4, true, max_range).u, 3.0);
  EXPECT_EQ(DsqInitFromValues(v, 4, false, max_range).u, 2.0);
  EXPECT_EQ(DsqInitFromValues(v, 4, false, max_range, 0.1).alpha, 0.1);
  RangeParams aciq;   // the default method: ACIQ, capped at the max
  const double ua = DsqInitFromValues(v, 2, true, aciq).u;
  EXPECT_GT(ua, 0.0);
  EXPECT_LE(ua, 3.0);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqInitFromValues(std::vector<float>{-1.0f, 0.0f}, 4, false, max_range); }),
                      "no range"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqInitFromValues(std::vector<float>{1.0f, NAN}, 4, true, max_range); }),
                      "values[1]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqInitFromValues(v, 9, true, max_range); }), "bits = 9"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { DsqInit(0.0); }), "clip = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { DsqInit(-1.0); }), "clip = -1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { DsqInit(INFINITY); }), "clip = inf"));
  for (double a : {0.0, 1.0, -0.5, 1.5, static_cast<double>(NAN)}) {
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqInit(1.0, a); }), "alpha = "));
  }
}

TEST(DsqErrors, InvalidArguments) {
  const DsqRange r = DsqCodeRange(4, true);
  std::vector<float> x = {1, 2, 3}, out(3), g(3, 1.0f);
  std::vector<double> xd = {1, 2, 3}, od(3);
  std::vector<int16_t> codes(3);
  for (float u : {0.0f, -1.0f, NAN, INFINITY, 1e-44f}) {
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(x, u, r, out); }), "DsqForward u = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqCodes(x, u, r, codes); }), "u = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(x, g, u, 0.2f, r, out); }), "u = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackwardReference(xd, xd, u, 0.2, r, od); }), "u = "));
  }
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForwardReference(xd, 1e300, r, od); }), "u = 1e+300"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(x, -2.0f, r, out); }), "u = -2"));
  for (float a : {0.0f, 1.0f, -0.1f, 2.0f, NAN}) {
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(x, g, 1.0f, a, r, out); }), "DsqBackward alpha = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqSoftForwardReference(xd, 1.0, a, r, od); }), "alpha = "));
  }
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(x, 1.0f, DsqRange{0, true}, out); }), "q_max = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(x, 1.0f, DsqRange{128, true}, out); }), "q_max = 128"));
  std::vector<float> short_out(2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(x, 1.0f, r, short_out); }), "out has 2 values"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(x, short_out, 1.0f, 0.2f, r, out); }), "grad_out has 2"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(x, g, 1.0f, 0.2f, r, short_out); }), "grad_x has 2"));
  std::vector<float> bad = {1, 2, NAN, 4};
  std::vector<float> bo(4), bg(4, 1.0f);
  std::vector<int16_t> bc(4);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForward(bad, 1.0f, r, bo); }), "x[2] = nan"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqCodes(bad, 1.0f, r, bc); }), "x[2]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(bad, bg, 1.0f, 0.2f, r, bo); }), "x[2]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackward(bg, bad, 1.0f, 0.2f, r, bo); }), "grad_out[2] = nan"));
  std::vector<double> bad_d = {1, -INFINITY};
  std::vector<double> od2(2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqForwardReference(bad_d, 1.0, r, od2); }), "x[1] = -inf"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { DsqBackwardReference(od2, bad_d, 1.0, 0.5, r, od2); }),
                      "grad_out[1]"));
}

}  // namespace
}  // namespace cimsim
