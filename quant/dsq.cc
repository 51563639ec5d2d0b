#include "quant/dsq.h"

#include "common/rounding.h"
#include "quant/kernel_checks.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

constexpr int kMinBits = 2, kMaxBits = 8;
constexpr int kLanes = 16;   // double accumulators of the fast sums
constexpr float kFloatMax = std::numeric_limits<float>::max();
constexpr float kFloatMin = std::numeric_limits<float>::min();

using kernel_checks::CheckFinite;
using kernel_checks::NonFinite;
using kernel_checks::Num;
using kernel_checks::ThrowNonFinite;

void CheckSize(const char* fn, const char* name, size_t got, size_t want) {
  kernel_checks::CheckSize(fn, name, got, want, "x");
}

// floor for |x| < 2^31, branch-free and vectorizable.
inline float Floor(float x) {
  const float t = static_cast<float>(static_cast<int32_t>(x));
  return t > x ? t - 1.0f : t;
}

// e^y for y <= 0 (clamped at −87, where e^y ≈ 1.6e−38 is still a normal float), Cephes' expf:
// y = n ln2 + r, |r| <= ln2/2 (+ rounding), e^r by a degree-7 polynomial (about 1 ulp), 2^n from the
// exponent bits.
inline float ExpNonPositive(float y) {
  y = std::max(y, -87.0f);
  // n = y·log2(e) rounded to nearest (ties to even) by the 1.5·2^23 trick: no compare, so the loops
  // calling this stay if-convertible (with Floor here GCC 12 leaves control flow in them).
  const float n = (y * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (y - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return p * scale;
}

void CheckRange(const char* fn, DsqRange r) {
  const bool ok = r.is_signed ? (r.q_max >= 1 && r.q_max <= 127) : (r.q_max >= 3 && r.q_max <= 255);
  if (!ok) {
    throw std::invalid_argument(std::string(fn) + " range {q_max = " + std::to_string(r.q_max) +
                                ", is_signed = " + (r.is_signed ? "true" : "false") +
                                "}: q_max must be in [1, 127] (signed) or [3, 255] (unsigned) (see DsqCodeRange)");
  }
}

// u finite, > 0, <= FLT_MAX and Δ = fl32(u / q_max) a normal float. Returns Δ32.
float CheckClip(const char* fn, double u, DsqRange r) {
  if (!std::isfinite(u) || !(u > 0) || u > kFloatMax ||
      !(static_cast<float>(u / r.q_max) >= kFloatMin)) {
    throw std::invalid_argument(std::string(fn) + " u = " + Num(u) +
                                ": the clip must be finite, > 0, at most FLT_MAX and u / q_max at least FLT_MIN");
  }
  return static_cast<float>(u / r.q_max);
}

void CheckAlpha(const char* fn, double alpha) {
  if (!std::isfinite(alpha) || !(alpha > 0) || !(alpha < 1)) {
    throw std::invalid_argument(std::string(fn) + " alpha = " + Num(alpha) + ": must be in (0, 1)");
  }
}


// Per-call constants of the fast path (computed in double, rounded to float once).
struct FastConsts {
  float lo, u, delta;       // clip [lo, u], Δ32
  float r_lo, r_hi;         // interval index range relative to code 0: [−q_max or 0, q_max − 1]
  float big_l;              // ln(2/α − 1) = kΔ
  float s, s2;              // 1/(1 − α), s²
  float c1;                 // Δ s k / 2 = ln(2/α − 1) s / 2 = ∂Q_S/∂x at sech² = 1
  float inv_q;              // 1 / q_max = ∂Δ/∂u
  float half_delta;         // Δ/2
  float dl_da;              // ∂ln(2/α − 1)/∂α = −2/(α(2 − α))
  float du_low;             // ∂Q_S/∂u below the clip: ∂l/∂u
};

FastConsts MakeConsts(float u, float delta, double alpha, DsqRange r) {
  FastConsts c;
  c.lo = r.is_signed ? -u : 0.0f;
  c.u = u;
  c.delta = delta;
  c.r_lo = r.is_signed ? static_cast<float>(-r.q_max) : 0.0f;
  c.r_hi = static_cast<float>(r.q_max - 1);
  const double big_l = std::log(2.0 / alpha - 1.0), s = 1.0 / (1.0 - alpha);
  c.big_l = static_cast<float>(big_l);
  c.s = static_cast<float>(s);
  c.s2 = static_cast<float>(s * s);
  c.c1 = static_cast<float>(big_l * s / 2);
  c.inv_q = static_cast<float>(1.0 / r.q_max);
  c.half_delta = delta * 0.5f;
  c.dl_da = static_cast<float>(-2.0 / (alpha * (2.0 - alpha)));
  c.du_low = r.is_signed ? -1.0f : 0.0f;
  return c;
}

// One element of the fast backward: writes grad_x, adds grad_out·∂Q_S/∂u and ·∂Q_S/∂α to the lanes.
inline void DsqBackwardElem(float xi, float gi, const FastConsts& c, float& gx, double& acc_u, double& acc_a,
                            int32_t& bad) {
  bad |= NonFinite(xi) | NonFinite(gi);
  const float t = std::min(c.u, std::max(c.lo, xi));   // NaN → lo
  const float q = t / c.delta;
  const float r = std::min(c.r_hi, std::max(c.r_lo, Floor(q)));
  const float w = q - r - 0.5f;                         // (t − m_i)/Δ
  const float z = c.big_l * w;                          // k (t − m_i)
  const float e = ExpNonPositive(-2.0f * std::fabs(z));
  const float inv_1pe = 1.0f / (1.0f + e);
  const float th = std::copysign((1.0f - e) * inv_1pe, z);
  const float sech2 = 4.0f * e * inv_1pe * inv_1pe;
  const float phi = c.s * th;
  const bool inside = (xi > c.lo) & (xi < c.u);
  const float du_in = (r + 0.5f * (phi + 1.0f) - c.c1 * sech2 * q) * c.inv_q;
  const float da_in = c.half_delta * (c.s2 * th + c.s * sech2 * w * c.dl_da);
  const float du = inside ? du_in : (xi >= c.u ? 1.0f : c.du_low);
  const float da = inside ? da_in : 0.0f;
  gx = inside ? gi * (c.c1 * sech2) : 0.0f;
  acc_u += static_cast<double>(gi * du);
  acc_a += static_cast<double>(gi * da);
}

}  // namespace

DsqRange DsqCodeRange(int bits, bool is_signed) {
  if (bits < kMinBits || bits > kMaxBits) {
    throw std::invalid_argument("DsqCodeRange bits = " + std::to_string(bits) + ": must be in [" +
                                std::to_string(kMinBits) + ", " + std::to_string(kMaxBits) + "]");
  }
  return {is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1, is_signed};
}

DsqParams DsqInit(double clip, double alpha) {
  if (!std::isfinite(clip) || !(clip > 0)) {
    throw std::invalid_argument("DsqInit clip = " + Num(clip) + ": must be finite and > 0");
  }
  CheckAlpha("DsqInit", alpha);
  return {clip, alpha};
}

DsqParams DsqInitFromValues(std::span<const float> values, int bits, bool is_signed, const RangeParams& range,
                            double alpha) {
  DsqCodeRange(bits, is_signed);   // validates bits
  CheckAlpha("DsqInitFromValues", alpha);
  CheckFinite("DsqInitFromValues", "values", values);
  double abs_max = 0;
  for (float v : values) abs_max = std::max(abs_max, is_signed ? std::fabs(static_cast<double>(v)) : static_cast<double>(v));
  if (abs_max == 0) {
    throw std::invalid_argument(std::string("DsqInitFromValues: the ") + (is_signed ? "max |v|" : "max v") + " of " +
                                std::to_string(values.size()) + " values is 0: no range to initialise u from");
  }
  return DsqInit(ChooseClip(values, abs_max, bits, is_signed, range), alpha);
}

// ---- Fast path.

void DsqForward(std::span<const float> x, float u, DsqRange range, std::span<float> out) {
  CheckRange("DsqForward", range);
  const float delta = CheckClip("DsqForward", u, range);
  CheckSize("DsqForward", "out", out.size(), x.size());
  const float lo = range.is_signed ? -u : 0.0f;
  const float code_lo = range.is_signed ? static_cast<float>(-range.q_max) : 0.0f;
  const float code_hi = static_cast<float>(range.q_max);
  const int64_t n = static_cast<int64_t>(x.size());
  const float* xp = x.data();
  float* op = out.data();
  int32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float xi = xp[i];
    bad |= NonFinite(xi);
    const float t = std::min(u, std::max(lo, xi));
    const float q = std::min(code_hi, std::max(code_lo, t / delta));
    op[i] = RoundHalfAway(q) * delta;
  }
  if (bad) ThrowNonFinite("DsqForward", "x", x);
}

void DsqCodes(std::span<const float> x, float u, DsqRange range, std::span<int16_t> codes) {
  CheckRange("DsqCodes", range);
  const float delta = CheckClip("DsqCodes", u, range);
  CheckSize("DsqCodes", "codes", codes.size(), x.size());
  CheckFinite("DsqCodes", "x", x);
  const float lo = range.is_signed ? -u : 0.0f;
  const float code_lo = range.is_signed ? static_cast<float>(-range.q_max) : 0.0f;
  const float code_hi = static_cast<float>(range.q_max);
  for (size_t i = 0; i < x.size(); ++i) {
    const float t = std::min(u, std::max(lo, x[i]));
    codes[i] = static_cast<int16_t>(RoundHalfAway(std::min(code_hi, std::max(code_lo, t / delta))));
  }
}

DsqGrads DsqBackward(std::span<const float> x, std::span<const float> grad_out, float u, float alpha,
                     DsqRange range, std::span<float> grad_x) {
  CheckRange("DsqBackward", range);
  const float delta = CheckClip("DsqBackward", u, range);
  CheckAlpha("DsqBackward", alpha);
  CheckSize("DsqBackward", "grad_out", grad_out.size(), x.size());
  CheckSize("DsqBackward", "grad_x", grad_x.size(), x.size());
  const FastConsts c = MakeConsts(u, delta, alpha, range);
  const int64_t n = static_cast<int64_t>(x.size());
  const float* xp = x.data();
  const float* gp = grad_out.data();
  float* op = grad_x.data();
  double acc_u[kLanes] = {}, acc_a[kLanes] = {};
  int32_t bad[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) DsqBackwardElem(xp[i + j], gp[i + j], c, op[i + j], acc_u[j], acc_a[j], bad[j]);
  }
  for (int j = 0; i < n; ++i, ++j) DsqBackwardElem(xp[i], gp[i], c, op[i], acc_u[j], acc_a[j], bad[j]);
  DsqGrads g;
  int32_t any_bad = 0;
  for (int j = 0; j < kLanes; ++j) {
    g.u += acc_u[j];
    g.alpha += acc_a[j];
    any_bad |= bad[j];
  }
  if (any_bad) {
    CheckFinite("DsqBackward", "x", x);
    ThrowNonFinite("DsqBackward", "grad_out", grad_out);
  }
  return g;
}

// ---- Reference.

namespace {

// The discrete decisions of one value (see the header): t, the float32 quotient's code and interval.
struct RefPoint {
  double t;      // clamp(x, l, u)
  double code;   // round(clamp(q, code range))
  double i;      // interval index, 0..n_intervals − 1
};

RefPoint Decide(double x, double u, float delta32, DsqRange r) {
  const double l = r.is_signed ? -u : 0.0;
  const double r_lo = r.is_signed ? -r.q_max : 0.0;
  RefPoint p;
  p.t = std::clamp(x, l, u);
  const double q = static_cast<float>(p.t / static_cast<double>(delta32));   // |q| <= q_max (1 + 2^-23)
  p.code = std::round(std::clamp(q, r_lo, static_cast<double>(r.q_max)));
  p.i = std::clamp(std::floor(q), r_lo, r.q_max - 1.0) - r_lo;
  return p;
}

}  // namespace

void DsqForwardReference(std::span<const double> x, double u, DsqRange range, std::span<double> out) {
  CheckRange("DsqForwardReference", range);
  const float delta32 = CheckClip("DsqForwardReference", u, range);
  CheckSize("DsqForwardReference", "out", out.size(), x.size());
  CheckFinite("DsqForwardReference", "x", x);
  const double delta = u / range.q_max;
  for (size_t k = 0; k < x.size(); ++k) out[k] = Decide(x[k], u, delta32, range).code * delta;
}

void DsqSoftForwardReference(std::span<const double> x, double u, double alpha, DsqRange range,
                             std::span<double> out) {
  CheckRange("DsqSoftForwardReference", range);
  const float delta32 = CheckClip("DsqSoftForwardReference", u, range);
  CheckAlpha("DsqSoftForwardReference", alpha);
  CheckSize("DsqSoftForwardReference", "out", out.size(), x.size());
  CheckFinite("DsqSoftForwardReference", "x", x);
  const double l = range.is_signed ? -u : 0.0;
  const double delta = u / range.q_max;
  const double s = 1.0 / (1.0 - alpha), k = std::log(2.0 / alpha - 1.0) / delta;
  for (size_t j = 0; j < x.size(); ++j) {
    const RefPoint p = Decide(x[j], u, delta32, range);
    const double m = l + (p.i + 0.5) * delta;
    const double phi = s * std::tanh(k * (p.t - m));
    out[j] = l + delta * (p.i + (phi + 1) / 2);
  }
}

DsqGrads DsqBackwardReference(std::span<const double> x, std::span<const double> grad_out, double u, double alpha,
                              DsqRange range, std::span<double> grad_x) {
  CheckRange("DsqBackwardReference", range);
  const float delta32 = CheckClip("DsqBackwardReference", u, range);
  CheckAlpha("DsqBackwardReference", alpha);
  CheckSize("DsqBackwardReference", "grad_out", grad_out.size(), x.size());
  CheckSize("DsqBackwardReference", "grad_x", grad_x.size(), x.size());
  CheckFinite("DsqBackwardReference", "x", x);
  CheckFinite("DsqBackwardReference", "grad_out", grad_out);
  const double l = range.is_signed ? -u : 0.0, dl_du = range.is_signed ? -1.0 : 0.0;
  const double delta = u / range.q_max, ddelta_du = 1.0 / range.q_max;
  const double s = 1.0 / (1.0 - alpha), ds_dalpha = s * s;
  const double big_l = std::log(2.0 / alpha - 1.0), dbig_l_dalpha = -2.0 / (alpha * (2.0 - alpha));
  const double k = big_l / delta, dk_du = -big_l / (delta * delta) * ddelta_du, dk_dalpha = dbig_l_dalpha / delta;
  DsqGrads sums;
  for (size_t j = 0; j < x.size(); ++j) {
    const double g = grad_out[j];
    double dx = 0, du, dalpha = 0;
    if (x[j] <= l) {
      du = dl_du;
    } else if (x[j] >= u) {
      du = 1;
    } else {
      const RefPoint p = Decide(x[j], u, delta32, range);
      const double m = l + (p.i + 0.5) * delta, dm_du = dl_du + (p.i + 0.5) * ddelta_du;
      const double z = k * (p.t - m);
      const double th = std::tanh(z), ch = std::cosh(z), sech2 = 1 / (ch * ch);
      const double phi = s * th;
      dx = delta / 2 * s * sech2 * k;
      du = dl_du + ddelta_du * (p.i + (phi + 1) / 2) + delta / 2 * s * sech2 * (dk_du * (p.t - m) - k * dm_du);
      dalpha = delta / 2 * (ds_dalpha * th + s * sech2 * (p.t - m) * dk_dalpha);
    }
    grad_x[j] = g * dx;
    sums.u += g * du;
    sums.alpha += g * dalpha;
  }
  return sums;
}

}  // namespace cimsim
