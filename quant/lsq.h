// lsq.h — LSQ fake quantization (Esser et al., "Learned Step Size Quantization", arXiv 1902.08153):
// forward, backward and integer codes of one range of values sharing one learned step s.
//
// Code range (LsqCodeRange): signed (weights) codes in [−Q_N, Q_P] = [−Q, Q], Q = 2^(bits−1) − 1
// (symmetric, zero point 0, the integer engine's weight grid); unsigned (activations after a ReLU)
// codes in [0, Q_P] = [0, 2^bits − 1]. bits in 2..8. Any LsqRange with 0 <= q_n <= q_p + 1 is
// accepted, among them the paper's full signed grid Q_N = 2^(bits−1), Q_P = 2^(bits−1) − 1
// (quant/weight_grid.h).
//
// The quotient. Every discrete decision (code, inside/outside) is taken on the float32 quotient
//     x = fl32(v / s)        (IEEE float32 division, correctly rounded — not v · (1/s)),
// in both paths: the fast path divides in float; the reference computes v / s in double and rounds
// it to float, which for float v and s is the same number (a double quotient rounded to float is the
// correctly rounded float quotient: 53 >= 2·24 + 2). So for the same float inputs the two paths give
// identical codes and identical inside/outside decisions, with no tolerance. (For double inputs that
// are not floats the reference's codes are still round(fl32(v / s)): they can differ from
// round(v / s) only where v / s lies within half a float ulp of a tie k + 1/2.)
//
// Forward:    code(v) = round(clamp(x, −Q_N, Q_P))     (round = half away from zero, std::round)
//             v̂      = code(v) · s
// (clamping before or after rounding is the same thing: the bounds are integers.)
//
// Backward (the LSQ straight-through estimator), with "inside" ⇔ −Q_N < x < Q_P (strict, as in the
// paper: a value exactly on a bound is outside, gradient 0 — for unsigned codes v <= 0 is outside):
//     ∂v̂/∂v = 1 inside, 0 outside
//     ∂v̂/∂s = round(x) − x inside;  −Q_N if x <= −Q_N;  Q_P if x >= Q_P
// It is the exact gradient of the surrogate f(v, s) = s · (v/s + c) inside (c = round(v/s) − v/s held
// constant: stop-gradient) and f = s · (−Q_N or Q_P) outside. The backward writes
// grad_v = grad_out · ∂v̂/∂v and returns the UNSCALED step-gradient partial sum
//     Σ_i grad_out_i · ∂v̂_i/∂s        (double)
// over its range. LSQ scales the step gradient by g = 1/√(N · Q_P) (LsqGradScale), N = the number of
// values sharing the step (weights: the layer's or the row's weight count; activations: the features
// per image); the caller sums the partial sums of all ranges sharing s and multiplies by g.
//
// Fast path: float32 arithmetic, single-threaded, vectorized (no branches in the loops; the rounding
// is computed without std::round, which GCC does not vectorize under the project's flags without
// -fno-trapping-math). The step-gradient sum accumulates float products in 16 double lanes, summed in
// lane order at the end: deterministic for the same inputs. Reference: float64 arithmetic except the
// float32 quotient for the decisions (above); inside, c = round(x) − v/s uses the double v/s.
// Fast vs reference (same float inputs): codes and grad_v identical; v̂ identical after rounding the
// reference's (exact) code · s to float; the step sums differ by at most ~2^-22 · Σ |grad_out|·(1 + |x|)
// (float quotient and float products).
//
// All functions are pure and single-threaded; a caller parallelizes over ranges. Output spans must have
// the input's size; an output may be the very same array as an input of the same type (in place), no
// other overlap. Invalid arguments throw std::invalid_argument naming the parameter and its value:
// bits outside 2..8, a malformed LsqRange, s not finite or <= 0, size mismatches, a non-finite v or
// grad_out (naming its index; outputs are then unspecified).
#pragma once

#include <cstdint>
#include <span>

namespace cimsim {

// Codes −q_n..q_p.
struct LsqRange {
  int q_n = 0;   // signed: 2^(bits−1) − 1 (full grid: 2^(bits−1)); unsigned: 0
  int q_p = 0;   // signed: 2^(bits−1) − 1; unsigned: 2^bits − 1
};

// bits in 2..8, else std::invalid_argument.
LsqRange LsqCodeRange(int bits, bool is_signed);

// g = 1/√(n · q_p), the LSQ step-gradient scale; n >= 1 values share the step, q_p >= 1.
double LsqGradScale(int64_t n, int q_p);

// The LSQ initial step 2 · mean|v| / √q_p (mean over `values`, in double). 0 when every value is 0
// (the caller must then pick a step: s must be > 0). Throws for empty values, a non-finite value,
// q_p < 1.
double LsqInitStep(std::span<const float> values, int q_p);

// ---- Fast path (float32).

// out[i] = v̂(v[i]) = code · s (float product).
void LsqForward(std::span<const float> v, float s, LsqRange range, std::span<float> out);
// codes[i] = code(v[i]) in [−q_n, q_p] (for export; out[i] of LsqForward == float(codes[i]) · s).
void LsqCodes(std::span<const float> v, float s, LsqRange range, std::span<int16_t> codes);
// grad_v[i] = grad_out[i] inside, 0 outside; returns Σ grad_out[i] · ∂v̂_i/∂s (unscaled).
double LsqBackward(std::span<const float> v, std::span<const float> grad_out, float s, LsqRange range,
                   std::span<float> grad_v);

// ---- Float64 reference (plain loops over the definitions; decisions on fl32(v / s), see above).

void LsqForwardReference(std::span<const double> v, double s, LsqRange range, std::span<double> out);
double LsqBackwardReference(std::span<const double> v, std::span<const double> grad_out, double s,
                            LsqRange range, std::span<double> grad_v);

}  // namespace cimsim
