// LSQ kernels: code ranges, hand-worked codes (ties, clamping, a quotient that is a tie only in
// float32), the vectorized rounding against std::round on every float of [−8, −1/4] ∪ [1/4, 8], fast
// vs reference (codes, values and grad_v exactly, the step sum within float rounding), the backward
// against central differences of the LSQ surrogate in float64, the helpers and the errors.
#include "quant/lsq.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InvalidArgumentOf;

std::vector<int16_t> Codes(const std::vector<float>& v, float s, LsqRange r) {
  std::vector<int16_t> c(v.size());
  LsqCodes(v, s, r, c);
  return c;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

TEST(LsqCodeRange, EveryWidth) {
  for (int bits = 2; bits <= 8; ++bits) {
    const LsqRange s = LsqCodeRange(bits, true), u = LsqCodeRange(bits, false);
    EXPECT_EQ(s.q_n, (1 << (bits - 1)) - 1);
    EXPECT_EQ(s.q_p, (1 << (bits - 1)) - 1);
    EXPECT_EQ(u.q_n, 0);
    EXPECT_EQ(u.q_p, (1 << bits) - 1);
  }
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqCodeRange(1, true); }), "bits = 1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqCodeRange(9, false); }), "bits = 9"));
}

TEST(LsqForward, HandWorkedSigned) {
  // 4 bits signed: codes −7..7, s = 0.5 (every v/s below is exact in binary).
  const LsqRange r = LsqCodeRange(4, true);
  const std::vector<float> v = {0.25f, -0.25f, 0.75f, -0.75f, 1.24f, 3.5f, 3.75f, -3.75f, -100.0f, 0.0f, -0.2f};
  //                  v/s:      0.5    −0.5    1.5    −1.5    2.48   7     7.5    −7.5    −200     0     −0.4
  const std::vector<int16_t> want = {1, -1, 2, -2, 2, 7, 7, -7, -7, 0, 0};
  EXPECT_EQ(Codes(v, 0.5f, r), want);
  std::vector<float> out(v.size());
  LsqForward(v, 0.5f, r, out);
  std::vector<double> ref(v.size());
  LsqForwardReference(ToDouble(v), 0.5, r, ref);
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(out[i], 0.5f * want[i]) << i;
    EXPECT_EQ(ref[i], 0.5 * want[i]) << i;
  }
}

TEST(LsqForward, HandWorkedUnsigned) {
  // 2 bits unsigned: codes 0..3, s = 1.
  const LsqRange r = LsqCodeRange(2, false);
  const std::vector<float> v = {-1.0f, -0.5f, 0.49999997f, 0.5f, 1.4999999f, 1.5f, 2.5f, 3.49f, 1e30f};
  EXPECT_EQ(Codes(v, 1.0f, r), (std::vector<int16_t>{0, 0, 0, 1, 1, 2, 3, 3, 3}));
}

TEST(LsqForward, TieOfTheFloatQuotient) {
  // 0.25f / 0.1f = 2.4999999627… exactly, whose nearest float is 2.5: by the definition
  // code = round(fl32(v / s)) the code is 3 (half away), in the fast path and in the reference, although
  // round(v / s) in real arithmetic is 2.
  const LsqRange r = LsqCodeRange(8, true);
  const float v = 0.25f, s = 0.1f;
  ASSERT_EQ(v / s, 2.5f);
  ASSERT_LT(static_cast<double>(v) / static_cast<double>(s), 2.5);
  EXPECT_EQ(Codes({v, -v}, s, r), (std::vector<int16_t>{3, -3}));
  std::vector<double> ref(2);
  LsqForwardReference(std::vector<double>{v, -v}, s, r, ref);
  EXPECT_EQ(ref[0], 3.0 * static_cast<double>(s));
  EXPECT_EQ(ref[1], -3.0 * static_cast<double>(s));
}

TEST(LsqCodes, RoundingMatchesStdRoundOnEveryFloat) {
  // s = 1: the code is round(clamp(v, −127, 127)). Every float with 1/4 <= |v| < 8, in chunks.
  const LsqRange r = LsqCodeRange(8, true);
  const uint32_t first = std::bit_cast<uint32_t>(0.25f), last = std::bit_cast<uint32_t>(8.0f);
  constexpr uint32_t kChunk = 1 << 20;
  std::vector<float> v(kChunk);
  std::vector<int16_t> c(kChunk);
  int64_t mismatches = 0;
  for (float sign : {1.0f, -1.0f}) {
    for (uint32_t b = first; b < last; b += kChunk) {
      const uint32_t n = std::min(kChunk, last - b);
      for (uint32_t k = 0; k < n; ++k) v[k] = sign * std::bit_cast<float>(b + k);
      LsqCodes(std::span<const float>(v.data(), n), 1.0f, r, std::span<int16_t>(c.data(), n));
      for (uint32_t k = 0; k < n; ++k) mismatches += c[k] != static_cast<int16_t>(std::round(v[k]));
    }
  }
  EXPECT_EQ(mismatches, 0);
}

struct Case {
  int bits;
  bool is_signed;
  float s;
  int64_t n;
  bool full = false;   // signed only: the full grid Q_N = Q_P + 1 (quant/weight_grid.h)
};

LsqRange RangeOf(const Case& c) {
  const LsqRange r = LsqCodeRange(c.bits, c.is_signed);
  return c.full ? LsqRange{r.q_p + 1, r.q_p} : r;
}

// Values around the clip range (some far outside), a few exactly on ties and on the bounds.
std::vector<float> RandomValues(const Case& c, uint64_t seed) {
  const LsqRange r = RangeOf(c);
  Rng rng(seed);
  std::vector<float> v(static_cast<size_t>(c.n));
  for (size_t i = 0; i < v.size(); ++i) {
    const double span = 1.3 * std::max(r.q_n, r.q_p) * c.s;
    v[i] = static_cast<float>(c.is_signed ? span * (2 * rng.Uniform() - 1) : span * (1.2 * rng.Uniform() - 0.2));
    if (i % 37 == 5) v[i] = c.s * (std::floor(static_cast<float>(v[i] / c.s)) + 0.5f);   // ties (approximately)
    if (i % 53 == 7) v[i] = c.s * static_cast<float>(r.q_p);                            // on the upper bound
    if (i % 61 == 9) v[i] = -c.s * static_cast<float>(r.q_n);                           // on the lower bound
  }
  return v;
}

std::vector<float> RandomGrad(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<float> g(static_cast<size_t>(n));
  for (float& x : g) x = static_cast<float>(rng.Normal());
  return g;
}

const Case kCases[] = {{2, true, 0.37f, 1000},  {3, false, 0.05f, 999},  {4, true, 0.0123f, 4097},
                       {5, false, 1.7f, 17},    {6, true, 0.1f, 15},     {8, true, 0.0031f, 10007},
                       {8, false, 0.021f, 5000}, {7, false, 3.3f, 1},
                       {2, true, 0.37f, 1000, true}, {4, true, 0.0123f, 4097, true}};

TEST(LsqFastVsReference, CodesValuesAndGradients) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " full " << c.full << " n " << c.n);
    const LsqRange r = RangeOf(c);
    const std::vector<float> v = RandomValues(c, 100 + c.bits);
    const std::vector<float> g = RandomGrad(c.n, 200 + c.bits);
    const std::vector<double> vd = ToDouble(v), gd = ToDouble(g);
    const double s = c.s;

    std::vector<float> out(v.size()), gv(v.size());
    std::vector<double> out_ref(v.size()), gv_ref(v.size());
    LsqForward(v, c.s, r, out);
    LsqForwardReference(vd, s, r, out_ref);
    const std::vector<int16_t> codes = Codes(v, c.s, r);
    const double sum = LsqBackward(v, g, c.s, r, gv);
    const double sum_ref = LsqBackwardReference(vd, gd, s, r, gv_ref);

    double bound = 0;   // 2^-22 · Σ |g| (1 + |x|): the float quotient and products
    for (size_t i = 0; i < v.size(); ++i) {
      ASSERT_GE(codes[i], -r.q_n);
      ASSERT_LE(codes[i], r.q_p);
      ASSERT_EQ(out_ref[i], codes[i] * s) << i;                               // code · s, exact in double
      ASSERT_EQ(out[i], static_cast<float>(out_ref[i])) << i;                 // = fl32(code · s)
      ASSERT_EQ(out[i], static_cast<float>(codes[i]) * c.s) << i;
      ASSERT_EQ(static_cast<double>(gv[i]), gv_ref[i]) << i;
      bound += std::fabs(gd[i]) * (1 + std::fabs(vd[i] / s));
    }
    EXPECT_NEAR(sum, sum_ref, std::ldexp(bound, -22));

    // In place: out = v, grad_v = grad_out.
    std::vector<float> w = v, h = g;
    LsqForward(w, c.s, r, w);
    EXPECT_EQ(w, out);
    EXPECT_EQ(LsqBackward(v, h, c.s, r, h), sum);
    EXPECT_EQ(h, gv);
  }
}

// The fast step-gradient sum bit for bit: element i's float term gi·(round(xc) − xc inside, the bound
// outside) added in float64 to lane i mod 16, the lanes summed in order (quant/lsq.cc; the AVX2 and
// the compiler-vectorized paths must both give exactly this). Values include ties (x = k + 1/2), the
// bounds themselves, zeros of both signs and values outside the range.
TEST(LsqFastVsReference, StepSumIsTheSixteenLaneOrderExactly) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " n " << c.n);
    const LsqRange r = RangeOf(c);
    std::vector<float> v = RandomValues(c, 300 + c.bits);
    const std::vector<float> g = RandomGrad(c.n, 400 + c.bits);
    const float lo = static_cast<float>(-r.q_n), hi = static_cast<float>(r.q_p);
    const float specials[] = {0.5f, -0.5f, 1.5f, -1.5f, 0.0f, -0.0f, lo, hi, lo - 3.0f, hi + 3.0f};
    for (size_t i = 0; i < v.size(); i += 7) v[i] = specials[i / 7 % 10] * c.s;
    double lanes[16] = {};
    std::vector<float> want_gv(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const float x = v[i] / c.s;
      const float xc = std::min(hi, std::max(lo, x));
      const bool inside = x > lo && x < hi;
      const float rounded = static_cast<float>(static_cast<int32_t>(xc + std::copysign(0.49999997f, xc)));
      const float term = rounded - (inside ? xc : 0.0f);
      lanes[i % 16] += static_cast<double>(g[i] * term);
      want_gv[i] = inside ? g[i] : 0.0f;
    }
    double want = 0;
    for (double l : lanes) want += l;
    std::vector<float> gv(v.size());
    EXPECT_EQ(LsqBackward(v, g, c.s, r, gv), want);
    EXPECT_EQ(gv, want_gv);
  }
}

TEST(LsqFastVsReference, EmptyRange) {
  const LsqRange r = LsqCodeRange(4, true);
  std::vector<float> none;
  std::vector<double> none_d;
  LsqForward(none, 1.0f, r, none);
  EXPECT_EQ(LsqBackward(none, none, 1.0f, r, none), 0.0);
  EXPECT_EQ(LsqBackwardReference(none_d, none_d, 1.0, r, none_d), 0.0);
}

// The LSQ surrogate of one value with c = round(x0) − x0 frozen at the base point x0 = v0/s0, and the
// inside/outside decision of the base point: f = s·(v/s + c) = v + s·c inside, s·(−q_n or q_p) outside.
struct Surrogate {
  double c = 0;
  int side = 0;   // −1 below, 0 inside, 1 above
  double F(double v, double s, LsqRange r) const {
    if (side < 0) return -s * r.q_n;
    if (side > 0) return s * r.q_p;
    return s * (v / s + c);
  }
};

TEST(LsqBackward, MatchesFiniteDifferencesOfTheSurrogate) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << "bits " << c.bits << " signed " << c.is_signed << " full " << c.full << " n " << c.n);
    const LsqRange r = RangeOf(c);
    const std::vector<float> vf = RandomValues(c, 300 + c.bits);
    const std::vector<double> v = ToDouble(vf), g = ToDouble(RandomGrad(c.n, 400 + c.bits));
    const double s = c.s;
    std::vector<Surrogate> f(v.size());
    std::vector<bool> probe(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      const double x = v[i] / s;
      const float x32 = static_cast<float>(x);
      f[i].side = x32 <= -r.q_n ? -1 : (x32 >= r.q_p ? 1 : 0);
      f[i].c = std::round(x32) - x;
      // Probe v only away from the bounds (the surrogate's kinks) by more than the difference step.
      probe[i] = std::fabs(x + r.q_n) > 1e-4 && std::fabs(x - r.q_p) > 1e-4;
    }
    auto loss = [&](const std::vector<double>& vv, double ss) {
      double l = 0;
      for (size_t i = 0; i < vv.size(); ++i) l += g[i] * f[i].F(vv[i], ss, r);
      return l;
    };
    std::vector<double> gv(v.size());
    const double ds = LsqBackwardReference(v, g, s, r, gv);

    // ∂L/∂s: every value shares s (probes on the bounds included: the side is frozen).
    const double hs = 1e-6 * s;
    const double fd_s = (loss(v, s + hs) - loss(v, s - hs)) / (2 * hs);
    EXPECT_NEAR(ds, fd_s, 1e-7 * (1 + std::fabs(fd_s)));
    // ∂L/∂v_i = g_i ∂f_i/∂v_i (only the i-th term of L depends on v_i; differencing it alone avoids
    // the cancellation error of differencing the whole sum).
    int64_t probed = 0;
    for (size_t i = 0; i < v.size(); i += std::max<size_t>(1, v.size() / 200)) {
      if (!probe[i]) continue;
      const double h = 1e-6 * s;
      const double fd = g[i] * (f[i].F(v[i] + h, s, r) - f[i].F(v[i] - h, s, r)) / (2 * h);
      EXPECT_NEAR(gv[i], fd, 1e-7 * (1 + std::fabs(g[i]))) << i;
      ++probed;
    }
    EXPECT_GT(probed, 0);

    // The fast path on the same (float) values against the same differences.
    std::vector<float> gv32(v.size());
    const std::vector<float> g32(g.begin(), g.end());
    const double ds32 = LsqBackward(vf, g32, c.s, r, gv32);
    double scale = 0;
    for (size_t i = 0; i < v.size(); ++i) scale += std::fabs(g[i]) * (1 + std::fabs(v[i] / s));
    EXPECT_NEAR(ds32, fd_s, std::ldexp(scale, -22) + 1e-7 * (1 + std::fabs(fd_s)));
  }
}

TEST(LsqBackward, HandWorked) {
  // 3 bits signed (codes −3..3), s = 0.5; grad_out = 1 everywhere except the last.
  const LsqRange r = LsqCodeRange(3, true);
  const std::vector<float> v = {0.3f, -1.5f, 1.5f, 2.0f, -0.8f, 0.0f, 0.6f};
  //  x = v/s:                    0.6   −3     3     4     −1.6   0     1.2
  const std::vector<float> g = {1, 1, 1, 1, 1, 1, 2};
  std::vector<float> gv(v.size());
  const double ds = LsqBackward(v, g, 0.5f, r, gv);
  EXPECT_EQ(gv, (std::vector<float>{1, 0, 0, 0, 1, 1, 2}));   // −3 and 3 are on the bounds: outside
  const double want = (1 - 0.6) + (-3) + 3 + 3 + (-2 + 1.6) + 0 + 2 * (1 - 1.2);
  EXPECT_NEAR(ds, want, 1e-6);
  std::vector<double> gv_ref(v.size());
  EXPECT_NEAR(LsqBackwardReference(ToDouble(v), ToDouble(g), 0.5, r, gv_ref), want, 1e-7);
  // Unsigned: v <= 0 is outside with step term −Q_N = 0.
  const LsqRange ru = LsqCodeRange(2, false);
  const std::vector<float> vu = {-1.0f, 0.0f, 0.25f, 5.0f};   // x = −2, 0, 0.5, 10
  std::vector<float> gu(vu.size());
  EXPECT_NEAR(LsqBackward(vu, std::vector<float>(4, 1.0f), 0.5f, ru, gu), 0 + 0 + (1 - 0.5) + 3, 1e-7);
  EXPECT_EQ(gu, (std::vector<float>{0, 0, 1, 0}));
  // The full 2-bit grid (Q_N = 2, Q_P = 1), s = 0.5: x = −4, −2, −1.6, 0.4, 1
  const LsqRange rf{2, 1};
  const std::vector<float> vf = {-2.0f, -1.0f, -0.8f, 0.2f, 0.5f};
  std::vector<float> gf(vf.size());
  std::vector<int16_t> cf(vf.size());
  LsqCodes(vf, 0.5f, rf, cf);
  EXPECT_EQ(cf, (std::vector<int16_t>{-2, -2, -2, 0, 1}));
  EXPECT_NEAR(LsqBackward(vf, std::vector<float>(5, 1.0f), 0.5f, rf, gf), -2 + -2 + (-2 + 1.6) + (0 - 0.4) + 1, 1e-6);
  EXPECT_EQ(gf, (std::vector<float>{0, 0, 1, 1, 0}));
}

TEST(LsqHelpers, GradScaleAndInitStep) {
  EXPECT_DOUBLE_EQ(LsqGradScale(100, 4), 1.0 / 20);
  EXPECT_DOUBLE_EQ(LsqGradScale(1, 127), 1.0 / std::sqrt(127.0));
  const std::vector<float> v = {1.0f, -3.0f, 0.5f, -0.5f};   // mean |v| = 1.25
  EXPECT_DOUBLE_EQ(LsqInitStep(v, 4), 2 * 1.25 / 2);
  EXPECT_EQ(LsqInitStep(std::vector<float>(3, 0.0f), 7), 0.0);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqGradScale(0, 3); }), "n = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqGradScale(5, 0); }), "q_p = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqInitStep({}, 3); }), "empty"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([] { LsqInitStep(std::vector<float>{1, NAN}, 3); }), "values[1]"));
}

TEST(LsqErrors, InvalidArguments) {
  const LsqRange r = LsqCodeRange(4, true);
  std::vector<float> v = {1, 2, 3}, out(3), g(3, 1.0f);
  std::vector<double> vd = {1, 2, 3}, od(3);
  std::vector<int16_t> c(3);
  for (float s : {0.0f, -1.0f, NAN, INFINITY}) {
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, s, r, out); }), "LsqForward s = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqCodes(v, s, r, c); }), "s = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqBackward(v, g, s, r, out); }), "s = "));
    EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForwardReference(vd, s, r, od); }), "s = "));
  }
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, -2.0f, r, out); }), "s = -2"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, 1.0f, LsqRange{3, 0}, out); }), "q_p = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, 1.0f, LsqRange{-1, 3}, out); }), "q_n = -1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, 1.0f, LsqRange{5, 3}, out); }), "q_n = 5"));
  std::vector<float> short_out(2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(v, 1.0f, r, short_out); }), "out has 2 values"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqBackward(v, short_out, 1.0f, r, out); }), "grad_out has 2"));
  std::vector<float> bad = {1, 2, 3, INFINITY, 5};
  std::vector<float> bo(5), bg(5, 1.0f);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(bad, 1.0f, r, bo); }), "v[3] = inf"));
  std::vector<int16_t> bc(5);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqCodes(bad, 1.0f, r, bc); }), "v[3]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqBackward(bad, bg, 1.0f, r, bo); }), "v[3]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqBackward(v, std::vector<float>{1, NAN, 1}, 1.0f, r, out); }),
                      "grad_out[1] = nan"));
  // Computed in place, the non-finite input is gone by the time it is reported.
  std::vector<float> in_place = bad;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForward(in_place, 1.0f, r, in_place); }), "non-finite"));
  std::vector<double> bad_d = {1, NAN};
  std::vector<double> od2(2);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqForwardReference(bad_d, 1.0, r, od2); }), "v[1] = nan"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { LsqBackwardReference(bad_d, od2, 1.0, r, od2); }), "v[1]"));
}

}  // namespace
}  // namespace cimsim
