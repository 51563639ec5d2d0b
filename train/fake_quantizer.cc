#include "train/fake_quantizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "train/oscillation_dampening.h"

namespace cimsim {
namespace {

constexpr int32_t kWideCodes = 1 << 15;

LsqRange RangeOf(int32_t lo, int32_t hi) { return LsqRange{-lo, hi}; }
DsqRange DsqRangeOf(int32_t lo, int32_t hi) { return DsqRange{hi, lo < 0}; }

}  // namespace

std::string_view ToString(QatMethod method) {
  switch (method) {
    case QatMethod::kFixed: return "fixed";
    case QatMethod::kLsq: return "lsq";
    case QatMethod::kDsq: return "dsq";
  }
  return "?";
}

ActQuantizer::ActQuantizer(QatMethod method, int32_t lo, int32_t hi, double init_scale)
    : method_(method), lo_(lo), hi_(hi) {
  if (!(init_scale > 0) || !std::isfinite(init_scale))
    throw std::invalid_argument("ActQuantizer: initial scale " + std::to_string(init_scale) + " must be > 0");
  if (!(hi > 0) || !(lo == 0 || lo == -hi)) throw std::invalid_argument("ActQuantizer: codes must be [0, hi] or [-hi, hi]");
  if (method != QatMethod::kFixed && hi >= kWideCodes)
    throw std::invalid_argument("ActQuantizer: a wide (int32) range can only have a fixed scale");
  fixed_scale_ = init_scale;
  step_[0] = static_cast<float>(init_scale);
  clip_[0] = static_cast<float>(init_scale * hi);
  alpha_[0] = static_cast<float>(kDsqDefaultAlpha);
}

double ActQuantizer::Scale() const {
  switch (method_) {
    case QatMethod::kFixed: return fixed_scale_;
    case QatMethod::kLsq: return step_[0];
    case QatMethod::kDsq: return static_cast<double>(clip_[0]) / hi_;
  }
  return fixed_scale_;
}

QuantGradPartial ActQuantizer::Backward(std::span<const float> v, std::span<const float> grad_out,
                                        std::span<float> grad_v) const {
  QuantGradPartial p;
  if (hi_ >= kWideCodes) {  // wide: no clipping within any reachable range, straight through
    std::copy(grad_out.begin(), grad_out.end(), grad_v.begin());
    return p;
  }
  switch (method_) {
    case QatMethod::kFixed:
      (void)LsqBackward(v, grad_out, static_cast<float>(fixed_scale_), RangeOf(lo_, hi_), grad_v);
      break;
    case QatMethod::kLsq:
      p.step = LsqBackward(v, grad_out, step_[0], RangeOf(lo_, hi_), grad_v);
      break;
    case QatMethod::kDsq: {
      const DsqGrads g = DsqBackward(v, grad_out, clip_[0], alpha_[0], DsqRangeOf(lo_, hi_), grad_v);
      p.clip = g.u;
      p.alpha = g.alpha;
      break;
    }
  }
  return p;
}

void ActQuantizer::SetGrads(const QuantGradPartial& total, int64_t n) {
  const double g = LsqGradScale(n, hi_);
  step_grad_[0] = static_cast<float>(total.step * g);
  clip_grad_[0] = static_cast<float>(total.clip * g);
  alpha_grad_[0] = static_cast<float>(total.alpha * g);
}

void ActQuantizer::VisitParams(const std::string& prefix, const ParamVisitor& fn) {
  if (method_ == QatMethod::kLsq) fn(prefix + "_step", step_, step_grad_);
  if (method_ == QatMethod::kDsq) {
    fn(prefix + "_clip", clip_, clip_grad_);
    fn(prefix + "_alpha", alpha_, alpha_grad_);
  }
}

void ActQuantizer::Project() {
  step_[0] = std::max(step_[0], static_cast<float>(kMinStep));
  clip_[0] = std::max(clip_[0], static_cast<float>(kMinStep * hi_));
  alpha_[0] = std::clamp(alpha_[0], static_cast<float>(kMinAlpha), static_cast<float>(1 - kMinAlpha));
}

namespace {

WeightCodeRange SymmetricCodes(int bits) {
  if (bits < 2 || bits > 8) throw std::invalid_argument("WeightQuantizer: bits " + std::to_string(bits) + " outside 2..8");
  return WeightCodes(bits, WeightGrid::kSymmetric);
}

}  // namespace

WeightQuantizer::WeightQuantizer(QatMethod method, int bits, int64_t rows, int64_t cols,
                                 const std::vector<double>& init_scales)
    : WeightQuantizer(method, SymmetricCodes(bits), rows, cols, init_scales) {}

WeightQuantizer::WeightQuantizer(QatMethod method, WeightCodeRange codes, int64_t rows, int64_t cols,
                                 const std::vector<double>& init_scales)
    : method_(method), q_n_(-codes.min), q_max_(codes.max), rows_(rows), cols_(cols), fixed_scales_(init_scales),
      step_({rows}), step_grad_({rows}), clip_({rows}), clip_grad_({rows}) {
  const bool symmetric = q_n_ == q_max_, full = q_n_ == q_max_ + 1;
  if (q_max_ < 1 || q_max_ > 127 || !(symmetric || full) || (q_max_ & (q_max_ + 1)) != 0)
    throw std::invalid_argument("WeightQuantizer: codes [" + std::to_string(codes.min) + ", " + std::to_string(codes.max) +
                                "] are not a symmetric or full grid of 2..8 bits (quant/weight_grid.h)");
  if (full && method != QatMethod::kLsq)
    throw std::invalid_argument("WeightQuantizer: the full grid [" + std::to_string(codes.min) + ", " +
                                std::to_string(codes.max) + "] is for LSQ; " + std::string(ToString(method)) +
                                " takes the symmetric grid");
  if (rows < 1 || cols < 1 || static_cast<int64_t>(init_scales.size()) != rows)
    throw std::invalid_argument("WeightQuantizer: need one initial scale per row");
  for (int64_t o = 0; o < rows; ++o) {
    const double s = init_scales[static_cast<size_t>(o)];
    if (!(s > 0) || !std::isfinite(s)) throw std::invalid_argument("WeightQuantizer: initial scale must be > 0");
    step_[o] = static_cast<float>(s);
    clip_[o] = static_cast<float>(s * q_max_);
  }
  alpha_[0] = static_cast<float>(kDsqDefaultAlpha);
  code_scratch_.resize(static_cast<size_t>(cols));
  mirrored_.assign(static_cast<size_t>(rows), 0);
}

double WeightQuantizer::Scale(int64_t row) const {
  switch (method_) {
    case QatMethod::kFixed: return fixed_scales_[static_cast<size_t>(row)];
    case QatMethod::kLsq: return step_[row];
    case QatMethod::kDsq: return static_cast<double>(clip_[row]) / q_max_;
  }
  return 1;
}

void WeightQuantizer::Codes(const float* w, float* codes) {
  std::vector<int16_t>& c = code_scratch_;
  for (int64_t o = 0; o < rows_; ++o) {
    std::span<const float> row(w + o * cols_, static_cast<size_t>(cols_));
    if (method_ == QatMethod::kDsq) {
      DsqCodes(row, clip_[o], DsqRange{q_max_, true}, c);
    } else {
      LsqCodes(row, static_cast<float>(Scale(o)), RowRange(o), c);
    }
    for (int64_t k = 0; k < cols_; ++k) codes[o * cols_ + k] = c[static_cast<size_t>(k)];
  }
  if (!freezing_) return;
  freezing_->Apply(std::span<float>(codes, static_cast<size_t>(rows_ * cols_)));
  if (q_n_ == q_max_) return;
  // Full grid: a row mirrored after its weights froze keeps them on its current range.
  for (int64_t o = 0; o < rows_; ++o) {
    const LsqRange r = RowRange(o);
    for (int64_t k = 0; k < cols_; ++k)
      codes[o * cols_ + k] = std::clamp(codes[o * cols_ + k], static_cast<float>(-r.q_n), static_cast<float>(r.q_p));
  }
}

void WeightQuantizer::Backward(const float* w, const float* grad_what, float* grad_w) {
  const double g_row = LsqGradScale(cols_, q_max_);
  double alpha_sum = 0;
  const bool dampen = dampening_ > 0 && method_ != QatMethod::kFixed;
  dampening_loss_ = 0;
  for (int64_t o = 0; o < rows_; ++o) {
    std::span<const float> row(w + o * cols_, static_cast<size_t>(cols_));
    std::span<const float> g(grad_what + o * cols_, static_cast<size_t>(cols_));
    std::span<float> gw(grad_w + o * cols_, static_cast<size_t>(cols_));
    // Frozen weights: ŵ = s·c_frozen, so their dL/dŵ goes to the step only (Σ dL/dŵ·c_frozen).
    double frozen_step = 0;
    if (freezing_) {
      for (int64_t k = 0; k < cols_; ++k) {
        const int64_t i = o * cols_ + k;
        const bool frozen = freezing_->frozen(i);
        if (frozen) frozen_step += static_cast<double>(g[static_cast<size_t>(k)]) * freezing_->frozen_code(i);
        grad_scratch_[static_cast<size_t>(k)] = frozen ? 0.0f : g[static_cast<size_t>(k)];
      }
      g = grad_scratch_;
    }
    switch (method_) {
      case QatMethod::kFixed:
        (void)LsqBackward(row, g, static_cast<float>(fixed_scales_[static_cast<size_t>(o)]), RowRange(o), gw);
        break;
      case QatMethod::kLsq:
        step_grad_[o] = static_cast<float>((LsqBackward(row, g, step_[o], RowRange(o), gw) + frozen_step) * g_row);
        break;
      case QatMethod::kDsq: {
        const DsqGrads d = DsqBackward(row, g, clip_[o], alpha_[0], DsqRange{q_max_, true}, gw);
        clip_grad_[o] = static_cast<float>((d.u + frozen_step / q_max_) * g_row);
        alpha_sum += d.alpha;
        break;
      }
    }
    if (dampen) dampening_loss_ += DampenRow(row, static_cast<float>(Scale(o)), q_max_, dampening_, gw);
    if (freezing_)
      for (int64_t k = 0; k < cols_; ++k)
        if (freezing_->frozen(o * cols_ + k)) gw[static_cast<size_t>(k)] = 0;
  }
  alpha_grad_[0] = static_cast<float>(alpha_sum * LsqGradScale(rows_ * cols_, q_max_));
}

void WeightQuantizer::SetDampening(double lambda) {
  if (!(lambda >= 0) || !std::isfinite(lambda))
    throw std::invalid_argument("WeightQuantizer::SetDampening: lambda = " + std::to_string(lambda) + ": must be finite and >= 0");
  if (lambda > 0 && q_n_ != q_max_)
    throw std::invalid_argument("WeightQuantizer::SetDampening: the dampening term is defined on the symmetric grid, not the full grid [" +
                                std::to_string(-q_n_) + ", " + std::to_string(q_max_) + "]");
  dampening_ = lambda;
}

void WeightQuantizer::VisitParams(const std::string& prefix, const ParamVisitor& fn) {
  if (method_ == QatMethod::kLsq) fn(prefix + "_step", step_, step_grad_);
  if (method_ == QatMethod::kDsq) {
    fn(prefix + "_clip", clip_, clip_grad_);
    fn(prefix + "_alpha", alpha_, alpha_grad_);
  }
}

void WeightQuantizer::EnableFreezing(std::span<const float> codes) {
  if (method_ == QatMethod::kFixed)
    throw std::invalid_argument("WeightQuantizer::EnableFreezing: a quantizer with fixed (post-training) scales does not train its codes");
  if (static_cast<int64_t>(codes.size()) != rows_ * cols_)
    throw std::invalid_argument("WeightQuantizer::EnableFreezing: " + std::to_string(codes.size()) + " codes for " +
                                std::to_string(rows_) + " x " + std::to_string(cols_) + " weights");
  freezing_.emplace(codes, WeightCodeRange{-q_n_, q_n_});  // mirrored rows included (Codes clamps per row)
  grad_scratch_.assign(static_cast<size_t>(cols_), 0.0f);
}

int64_t WeightQuantizer::TrackOscillations(std::span<const float> codes, double momentum, double threshold) {
  if (!freezing_) throw std::logic_error("WeightQuantizer::TrackOscillations: freezing is not enabled");
  return freezing_->Update(codes, momentum, threshold);
}

void WeightQuantizer::VisitState(const std::string& prefix, const std::function<void(const std::string&, Tensor&)>& fn) {
  if (freezing_) freezing_->VisitState(prefix, fn);
}

void WeightQuantizer::Project() {
  for (int64_t o = 0; o < rows_; ++o) {
    step_[o] = std::max(step_[o], static_cast<float>(kMinStep));
    clip_[o] = std::max(clip_[o], static_cast<float>(kMinStep * q_max_));
  }
  alpha_[0] = std::clamp(alpha_[0], static_cast<float>(kMinAlpha), static_cast<float>(1 - kMinAlpha));
}

}  // namespace cimsim
