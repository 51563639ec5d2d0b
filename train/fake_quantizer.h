// fake_quantizer.h — the learned (or fixed) quantizers of quantization-aware training.
//
// A fake quantizer maps a real value v to s·clamp(round(v/s), lo, hi) — the real value of the integer
// code the deployed network will hold (round = half away from zero, zero point 0; nets/quantized_model.h).
// Three methods decide where s comes from and what the backward pass does:
//   kFixed — s is a constant (post-training ranges, ACIQ etc.); backward: straight-through estimator,
//            dL/dv = dL/dv̂ inside the clipping range, 0 outside; no parameter.
//   kLsq   — s is learned (LSQ, quant/lsq.h): parameter "step" = s; dL/ds = g·Σ dL/dv̂ ·
//            (round(v/s) − v/s inside, −Q_N / Q_P below / above), g = 1/√(N·Q_P), N the number of values
//            sharing the step in one batch (all elements of the tensor for an activation, one row for a
//            per-channel weight step). s is kept >= kMinStep after every update (Project).
//   kDsq   — DSQ (quant/dsq.h): parameters "clip" = u and "alpha" = α; s = u/Q_max; forward hard
//            (the same codes as rounding), backward through the soft tanh staircase; u kept >= Q_max·kMinStep
//            and α in [kMinAlpha, 1 − kMinAlpha] (Project).
// ActQuantizer quantizes a whole activation tensor with one s; WeightQuantizer a weight matrix
// [rows = output channels, cols] with one s per row. Gradients are accumulated by the caller in a
// fixed order (partials per image or per row, summed in order) and handed over with SetGrads, so that
// everything is bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nets/tensor.h"
#include "quant/dsq.h"
#include "quant/lsq.h"
#include "quant/weight_grid.h"
#include "train/weight_freezing.h"

namespace cimsim {

enum class QatMethod { kFixed, kLsq, kDsq };
std::string_view ToString(QatMethod method);  // "fixed", "lsq", "dsq"

inline constexpr double kMinStep = 1e-8;
inline constexpr double kMinAlpha = 1e-3;

// Unscaled gradient partials of one range of values (LSQ: `step`; DSQ: `clip` and `alpha`).
struct QuantGradPartial {
  double step = 0, clip = 0, alpha = 0;
  QuantGradPartial& operator+=(const QuantGradPartial& o) {
    step += o.step;
    clip += o.clip;
    alpha += o.alpha;
    return *this;
  }
};

using ParamVisitor = std::function<void(const std::string& suffix, Tensor& param, Tensor& grad)>;

class ActQuantizer {
 public:
  // Codes in [lo, hi] (lo = 0: unsigned, lo = −hi: signed); s = init_scale > 0. A "wide" quantizer
  // (|lo|, hi >= 2^15) must be kFixed.
  ActQuantizer(QatMethod method, int32_t lo, int32_t hi, double init_scale);

  QatMethod method() const { return method_; }
  int32_t lo() const { return lo_; }
  int32_t hi() const { return hi_; }
  double Scale() const;

  // grad_v = dL/dv for values v with dL/dv̂ = grad_out (one range); returns the unscaled partials.
  QuantGradPartial Backward(std::span<const float> v, std::span<const float> grad_out, std::span<float> grad_v) const;
  // Sets the parameter gradients from the partials of all n values of the batch (scaled by g for LSQ).
  void SetGrads(const QuantGradPartial& total, int64_t n);
  // Parameters with gradients, suffixes prefixed by `prefix` (e.g. "act_step").
  void VisitParams(const std::string& prefix, const ParamVisitor& fn);
  // Keeps the parameters in their domain (after an optimizer step or a load).
  void Project();

 private:
  QatMethod method_;
  int32_t lo_, hi_;
  double fixed_scale_ = 1;
  Tensor step_{1}, step_grad_{1};                     // LSQ
  Tensor clip_{1}, clip_grad_{1}, alpha_{1}, alpha_grad_{1};  // DSQ
};

class WeightQuantizer {
 public:
  // Signed codes in [codes.min, codes.max] (quant/weight_grid.h: the symmetric grid, or for kLsq the full
  // grid, LSQ's Q_N = −codes.min, Q_P = codes.max), one scale per row; init_scales[rows] > 0. The second
  // form: the symmetric grid of `bits`.
  WeightQuantizer(QatMethod method, WeightCodeRange codes, int64_t rows, int64_t cols, const std::vector<double>& init_scales);
  WeightQuantizer(QatMethod method, int bits, int64_t rows, int64_t cols, const std::vector<double>& init_scales);

  QatMethod method() const { return method_; }
  int q_max() const { return q_max_; }
  WeightCodeRange codes() const { return {-q_n_, q_max_}; }
  // A mirrored row takes its codes in [−codes().max, −codes().min] (the same on the symmetric grid).
  // For a layer whose deployed codes are the negated trained codes (BatchNorm kept in training, a
  // negative γ: QatMvm), so that the deployed codes lie in codes(). Default: no row mirrored.
  void SetRowMirrored(int64_t row, bool mirrored) { mirrored_[static_cast<size_t>(row)] = mirrored ? 1 : 0; }
  double Scale(int64_t row) const;
  // codes[rows, cols] (integers held in floats) of the weights w[rows, cols] (no allocation); with
  // freezing on, frozen weights get their frozen codes (train/weight_freezing.h).
  void Codes(const float* w, float* codes);
  // grad_w = dL/dw given dL/dŵ for the dequantized weights ŵ = s_row·code; sets the parameter gradients.
  // With a dampening weight λ > 0 (SetDampening; LSQ and DSQ only) grad_w also gets the gradient of the
  // oscillation-dampening term R (train/oscillation_dampening.h) of every row, on the row's step.
  // With freezing on, a frozen weight gets no gradient and adds dL/dŵ·c_frozen to its row's step
  // (∂ŵ/∂s = c_frozen; DSQ: ∂ŵ/∂u = c_frozen/Q).
  void Backward(const float* w, const float* grad_what, float* grad_w);
  // λ >= 0 for the following Backward calls (0: off, the default); ignored by kFixed. The dampening
  // term assumes the symmetric grid: λ > 0 on the full grid throws std::invalid_argument.
  void SetDampening(double lambda);
  double dampening() const { return dampening_; }
  // R summed over the rows in the last Backward (0 when off).
  double DampeningLoss() const { return dampening_loss_; }
  void VisitParams(const std::string& prefix, const ParamVisitor& fn);
  void Project();

  // Iterative freezing of oscillating weights (train/weight_freezing.h; LSQ and DSQ only, else
  // std::invalid_argument), tracked from `codes` [rows, cols], the current codes, on.
  void EnableFreezing(std::span<const float> codes);
  // One training step of the tracker with this step's codes (Codes' output); returns the number of
  // weights it froze. Requires EnableFreezing.
  int64_t TrackOscillations(std::span<const float> codes, double momentum, double threshold);
  const OscillationTracker* freezing() const { return freezing_ ? &*freezing_ : nullptr; }
  // The tracker's state tensors (nothing when freezing is off), suffixes prefixed by `prefix`.
  void VisitState(const std::string& prefix, const std::function<void(const std::string&, Tensor&)>& fn);

 private:
  QatMethod method_;
  int q_n_, q_max_;  // codes in [−q_n, q_max]
  int64_t rows_, cols_;
  std::vector<double> fixed_scales_;
  Tensor step_, step_grad_;                          // LSQ [rows]
  Tensor clip_, clip_grad_, alpha_{1}, alpha_grad_{1};  // DSQ: clip [rows], one alpha
  std::vector<int16_t> code_scratch_;
  std::vector<uint8_t> mirrored_;  // [rows]
  LsqRange RowRange(int64_t row) const {
    return mirrored_[static_cast<size_t>(row)] ? LsqRange{q_max_, q_n_} : LsqRange{q_n_, q_max_};
  }
  double dampening_ = 0, dampening_loss_ = 0;
  std::optional<OscillationTracker> freezing_;
  std::vector<float> grad_scratch_;  // a row's dL/dŵ with the frozen weights' entries zeroed
};

}  // namespace cimsim
