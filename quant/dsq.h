// dsq.h — DSQ fake quantization (Gong et al., "Differentiable Soft Quantization", arXiv 1908.05033)
// on zero-point-0 integer grids: forward, backward and integer codes of one range of values sharing
// one learned clip u and one learned α.
//
// Adaptation to the integer engine's grids. The paper clips to a learned [l, u] and splits it into
// 2^b − 1 intervals. Here the grid has zero point 0 and the codes of the integer engine:
//   signed (weights):      [l, u] = [−u, u], codes −q_max..q_max, q_max = 2^(b−1) − 1,
//                          Δ = u / q_max, 2·q_max intervals (2^b − 2: the symmetric grid drops one level);
//   unsigned (after ReLU): [l, u] = [0, u],  codes 0..q_max,      q_max = 2^b − 1,
//                          Δ = u / q_max, q_max intervals.
// So only u is learned (l = −u or 0), the grid points are code · Δ, and the codes are exactly those of
// a uniform quantizer with scale Δ. Learned parameters: u > 0 and α in (0, 1).
//
// The soft function. With t = clamp(x, l, u), interval i = min(⌊(t − l)/Δ⌋, n_intervals − 1),
// m_i = l + (i + 1/2)Δ, s = 1/(1 − α), k = ln(2/α − 1)/Δ (so that s·tanh(kΔ/2) = 1),
//     φ(t)   = s · tanh(k (t − m_i))  ∈ [−1, 1]
//     Q_S(x) = l + Δ (i + (φ + 1)/2)
// Q_S is continuous and increasing, equals l below l and u above u, and passes through every grid
// point at the interval boundaries.
//
// Forward (training and deployment) is HARD: the nearest grid point,
//     code(x) = round(clamp(x, l, u) / Δ),    x̂ = code · Δ      (round = half away from zero;
// the quotient is the float32 one below).
// Mathematically this is l + Δ·round((Q_S − l)/Δ) (φ < 0 ⇔ t below the midpoint m_i); the one difference
// is the tie t = m_i on the negative side, which that formula would break upwards and the integer
// engine (and this code) breaks away from zero.
//
// Backward: the gradient of the SOFT function with the interval i held fixed ("forward hard, backward
// soft"). Inside (l < x < u, strict), with z = k(t − m_i), sech² = 1 − tanh²(z):
//     ∂Q_S/∂x = Δ s k sech²/2                           (= ln(2/α − 1)·sech²/(2(1 − α)); no Δ)
//     ∂Q_S/∂u = ∂l/∂u + (∂Δ/∂u)(i + (φ+1)/2) + (Δ/2) s sech² (∂k/∂u (t − m_i) − k ∂m_i/∂u)
//               with ∂l/∂u = −1 (signed) or 0, ∂Δ/∂u = 1/q_max, ∂k/∂u = −k/u,
//               ∂m_i/∂u = ∂l/∂u + (i + 1/2)/q_max
//             = [r + (φ+1)/2 − (Δ s k/2) sech² · t/Δ] / q_max,    r = i + l/Δ (the code below t)
//     ∂Q_S/∂α = (Δ/2) (s² tanh(z) + s sech² (t − m_i) ∂k/∂α),   ∂k/∂α = −2/(α(2 − α)Δ)
// Outside (clipped; Q_S = l or u whatever α): ∂/∂x = 0, ∂/∂α = 0, ∂/∂u = 1 for x >= u and ∂l/∂u for
// x <= l (−1 signed, 0 unsigned). (x ∂x + u ∂u = Q_S: Q_S is homogeneous of degree 1 in (x, u).)
// The backward writes grad_x = grad_out · ∂Q_S/∂x and returns Σ grad_out · ∂Q_S/∂u and
// Σ grad_out · ∂Q_S/∂α over its range (doubles; the caller sums the ranges sharing u and α).
//
// Discrete decisions (code, interval i, inside/outside) are taken on the float32 quotient
//     q = fl32(t / Δ32),   Δ32 = fl32(u / q_max)     (IEEE float32 divisions, not multiplications)
// in both paths: the fast path divides in float; the reference divides in double and rounds to float,
// which for float inputs is the same number (double rounding is innocuous for a quotient: 53 >= 2·24+2).
// So for the same float inputs both paths make identical decisions and give identical codes, with no
// tolerance. The interval is i = clamp(⌊q⌋, r_lo, q_max − 1) − r_lo with r_lo = −q_max or 0. The
// reference's continuous quantities (Δ = u/q_max, t − m_i, tanh, the sums) are float64; its hard value
// is code · (u/q_max) in double, the fast one code · Δ32 in float.
//
// Fast path: float32, single-threaded, vectorized: no branches in the loops, own vectorizable
// round-half-away, floor and exp (tanh and sech² from e = exp(−2|z|): tanh = ±(1 − e)/(1 + e),
// sech² = 4e/(1 + e)², about 2 float ulps); the sums accumulate in 16 double lanes, summed in lane
// order: deterministic. Fast vs reference (same float inputs): codes and decisions identical; x̂ within
// 2^-23 relative; each gradient term within about 1e-6 + (ln(2/α − 1) + 1)(|q| + 1)·2^-23 relative to
// its magnitude — the float quotient q = t/Δ32 carries an absolute error of ~(|q| + 1)·2^-23 (Δ32 vs
// u/q_max, the division), which the slope k·Δ = ln(2/α − 1) carries into tanh (about 1e-4 for 8-bit
// unsigned codes near 255 at α = 0.2; dsq_test checks twice this bound). GCC 12 vectorizes std::round and
// std::floor only with -fno-trapping-math, hence the own helpers.
//
// All functions are pure and single-threaded. Output spans must have the input's size; an output may
// be the very same array as an input of the same type (in place), no other overlap. Invalid arguments
// throw std::invalid_argument naming the parameter and its value: bits outside 2..8, a malformed
// DsqRange, u not finite or <= 0 or outside [q_max · FLT_MIN, FLT_MAX] (Δ must be a normal float),
// α not in (0, 1), size mismatches, a non-finite x or grad_out (naming its index; outputs are then
// unspecified).
#pragma once

#include <cstdint>
#include <span>

#include "quant/range_calibration.h"

namespace cimsim {

// Codes −q_max..q_max (signed) or 0..q_max (unsigned); Δ = u / q_max.
struct DsqRange {
  int q_max = 0;          // signed: 2^(bits−1) − 1; unsigned: 2^bits − 1
  bool is_signed = true;
};

// bits in 2..8, else std::invalid_argument.
DsqRange DsqCodeRange(int bits, bool is_signed);

inline constexpr double kDsqDefaultAlpha = 0.2;

struct DsqParams {
  double u = 1;                       // clip: [−u, u] or [0, u]
  double alpha = kDsqDefaultAlpha;    // (0, 1): small α → close to hard rounding
};

// {clip, alpha}, validated (clip finite and > 0, α in (0, 1)).
DsqParams DsqInit(double clip, double alpha = kDsqDefaultAlpha);
// u = ChooseClip(values, exact max |v| (signed) or max(max v, 0) (unsigned), bits, is_signed, range),
// e.g. RangeMethod::kMax for the largest value. Throws std::invalid_argument (besides ChooseClip's
// errors) when that max is 0: no range to start from.
DsqParams DsqInitFromValues(std::span<const float> values, int bits, bool is_signed, const RangeParams& range,
                            double alpha = kDsqDefaultAlpha);

struct DsqGrads {
  double u = 0;       // Σ grad_out · ∂Q_S/∂u
  double alpha = 0;   // Σ grad_out · ∂Q_S/∂α
};

// ---- Fast path (float32).

// out[i] = x̂ = code · Δ32 (the hard forward; α does not enter).
void DsqForward(std::span<const float> x, float u, DsqRange range, std::span<float> out);
// codes[i] = code(x[i]) (for export; out[i] of DsqForward == float(codes[i]) · fl32(u / q_max)).
void DsqCodes(std::span<const float> x, float u, DsqRange range, std::span<int16_t> codes);
// grad_x[i] = grad_out[i] · ∂Q_S/∂x; returns the partial sums for u and α.
DsqGrads DsqBackward(std::span<const float> x, std::span<const float> grad_out, float u, float alpha,
                     DsqRange range, std::span<float> grad_x);

// ---- Float64 reference (plain loops over the definitions; decisions on the float32 quotient).

// The hard forward: out[i] = code · (u / q_max).
void DsqForwardReference(std::span<const double> x, double u, DsqRange range, std::span<double> out);
// The soft function: out[i] = Q_S(x[i]) (for finite-difference checks of the backward).
void DsqSoftForwardReference(std::span<const double> x, double u, double alpha, DsqRange range,
                             std::span<double> out);
DsqGrads DsqBackwardReference(std::span<const double> x, std::span<const double> grad_out, double u, double alpha,
                              DsqRange range, std::span<double> grad_x);

}  // namespace cimsim
