// oscillation_dampening.h — the oscillation-dampening regulariser of low-bit QAT (Nagel, Fournarakis,
// Bondarenko, Blankevoort, "Overcoming Oscillations in Quantization-Aware Training", ICML 2022,
// arXiv 2203.11086).
//
// Why: with the straight-through estimator a latent weight near a decision threshold of its grid flips
// between two neighbouring codes from step to step, however small the learning rate; at 2 bits each
// flip moves the weight by a whole step s (a third of the range), so the network seen by the running
// BatchNorm statistics and by the test set keeps changing to the last step. The regulariser pulls each
// latent weight towards the centre of its current bin, so weights settle instead of oscillating.
//
// For one row of weights w[0..n) sharing the step s > 0 with signed codes in [−Q, Q] (one output
// channel; train/fake_quantizer.h), with x_i = fl32(w_i / s) (the LSQ quotient, quant/lsq.h):
//   ŵ_i      = s · round(clamp(x_i, −Q, Q))              (round half away from zero; held constant)
//   R(w)     = λ · Σ_i (clip(w_i, −Q·s, Q·s) − ŵ_i)²      (weight units²)
//   ∂R/∂w_i  = 2λ · (w_i − ŵ_i)   if −Q < x_i < Q (inside, the LSQ rule), 0 outside (there clip(w_i)
//              = ±Q·s = ŵ_i, so the term and its gradient vanish); no gradient reaches s.
// ŵ is piecewise constant in w, so ∂R/∂w is R's exact derivative away from the decision thresholds
// (finite differences check it there). λ follows a cosine ramp over the run's optimizer steps:
//   λ(p) = λ_end + (λ_start − λ_end) · (1 + cos(π·p)) / 2,   p = step / total steps in [0, 1]
// (λ_start = 0 by default: no pull at the start, the full weight at the end, as in the paper's runs).
//
// Fast path: float32 arithmetic per element, double accumulation of R in element order (deterministic);
// reference: float64 except the float32 quotient for the decisions, as in quant/lsq.h. The two agree
// on the inside/outside decisions and the codes exactly; gradients to float rounding.
#pragma once

#include <cstdint>
#include <span>

namespace cimsim {

struct OscillationDampeningParams {
  double weight = 0;        // λ_end: the weight at the end of the run, >= 0
  double start_weight = 0;  // λ_start: the weight at the first step, >= 0
};

// λ at progress p in [0, 1] (clamped) of the run (the cosine ramp above).
double DampeningWeightAt(const OscillationDampeningParams& params, double progress);

// Adds ∂R/∂w to grad_w[i] (accumulates: grad_w holds the task gradient) and returns R for one row;
// lambda >= 0, s finite > 0, q >= 1, sizes equal, else std::invalid_argument.
double DampenRow(std::span<const float> w, float s, int q, double lambda, std::span<float> grad_w);
// Float64 reference of the same (decisions on fl32(w/s)).
double DampenRowReference(std::span<const double> w, double s, int q, double lambda, std::span<double> grad_w);

}  // namespace cimsim
