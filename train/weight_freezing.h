// weight_freezing.h — iterative freezing of oscillating weights in low-bit QAT (Nagel, Fournarakis,
// Bondarenko, Blankevoort, "Overcoming Oscillations in Quantization-Aware Training", ICML 2022,
// arXiv 2203.11086, section 5.2).
//
// Why: with the straight-through estimator a latent weight near a decision threshold flips between two
// neighbouring codes from step to step (train/oscillation_dampening.h says why that hurts at 2 bits).
// Instead of pulling every weight to its bin centre (dampening), freezing watches each weight's integer
// code and fixes the code of a weight that keeps changing direction: the rest of the network trains on.
//
// State per weight i (all held in float32 tensors, so that a checkpoint carries it and a resumed run
// continues bit for bit; codes are small integers, exact in float32):
//   c_prev  the code at the last step;  d_prev ∈ {−1, 0, +1} the direction of its last change;
//   f       the oscillation frequency (EMA);  c̄ the mean code (EMA);  frozen ∈ {0, 1}, c_frozen.
// One training step t, with the codes c_t the forward pass will use (frozen codes already applied):
//   d_t = sign(c_t − c_prev)                          (0: no change)
//   o_t = 1 if d_t·d_prev = −1 (a change against the last one: an oscillation), else 0
//   f  ← m·o_t + (1 − m)·f                            (momentum m in (0, 1], e.g. 0.01)
//   if d_t ≠ 0: d_prev ← d_t;   c_prev ← c_t
//   if not frozen and f > f_th: frozen ← 1, c_frozen ← clamp(round(c̄), −Q, Q)   (round half away from 0)
//   c̄  ← m·c_t + (1 − m)·c̄                           (after the decision, as in the paper)
// At the start c_prev = c̄ = the first codes, d_prev = f = 0, nothing frozen. A weight once frozen stays
// frozen at the code it was given (the paper re-assigns round(c̄) while f stays above f_th; c̄ then
// tends to the frozen code anyway — fixing it once keeps the rule simple and the codes steady).
// The threshold follows a cosine ramp over the run's optimizer steps from f_start to f_end:
//   f_th(p) = f_end + (f_start − f_end)·(1 + cos(π·p))/2,   p = step / total steps in [0, 1],
// so a high f_start (≥ 1: f never exceeds it) freezes nothing early and the full rule acts at the end.
// How a frozen weight trains (train/fake_quantizer.h): its code is c_frozen in every forward pass, the
// export included; no gradient reaches its latent value; its step still learns, with ∂ŵ/∂s = c_frozen.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "nets/tensor.h"
#include "quant/weight_grid.h"

namespace cimsim {

struct WeightFreezingParams {
  double threshold = 0.01;       // f_end: the freezing threshold at the end of the run, in (0, 1]
  double start_threshold = 0.01;  // f_start: at the first step, > 0 (> 1 = never at the start)
  double momentum = 0.01;        // m of both EMAs, in (0, 1]
};

// f_th at progress p in [0, 1] (clamped) of the run (the cosine ramp above).
double FreezingThresholdAt(const WeightFreezingParams& params, double progress);

class OscillationTracker {
 public:
  // The state of `codes.size()` weights with codes in [range.min, range.max] (range.min <= −1,
  // range.max >= 1), started at `codes`; the second form: [−q_max, q_max].
  OscillationTracker(std::span<const float> codes, WeightCodeRange range);
  OscillationTracker(std::span<const float> codes, int q_max) : OscillationTracker(codes, WeightCodeRange{-q_max, q_max}) {}

  // One training step (the rule above) with the codes c_t of this step (frozen codes applied);
  // momentum in (0, 1], threshold > 0, codes.size() == size(), else std::invalid_argument.
  // Returns the number of weights frozen by this step.
  int64_t Update(std::span<const float> codes, double momentum, double threshold);
  // Overwrites the codes of frozen weights with their frozen codes (codes.size() == size()).
  void Apply(std::span<float> codes) const;
  bool frozen(int64_t i) const { return frozen_[i] != 0; }
  float frozen_code(int64_t i) const { return frozen_code_[i]; }
  float frequency(int64_t i) const { return frequency_[i]; }
  int64_t size() const { return frozen_.size(); }
  int64_t FrozenCount() const;
  // The state tensors, suffixes prefixed by `prefix` ("_prev_code", "_prev_dir", "_frequency",
  // "_mean_code", "_frozen", "_frozen_code"), for checkpoints.
  void VisitState(const std::string& prefix, const std::function<void(const std::string&, Tensor&)>& fn);

 private:
  WeightCodeRange range_;
  Tensor prev_code_, prev_dir_, frequency_, mean_code_, frozen_, frozen_code_;
};

}  // namespace cimsim
