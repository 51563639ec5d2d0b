#include "train/oscillation_dampening.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/rounding.h"
#include "quant/kernel_checks.h"
#include "train/lr_schedule.h"

namespace cimsim {

namespace {

using kernel_checks::CheckFinite;
using kernel_checks::CheckSize;
using kernel_checks::Num;

void CheckArguments(const char* fn, double s, int q, double lambda) {
  if (!(s > 0) || !std::isfinite(s)) throw std::invalid_argument(std::string(fn) + " s = " + Num(s) + ": must be finite and > 0");
  if (q < 1) throw std::invalid_argument(std::string(fn) + " q = " + std::to_string(q) + ": must be >= 1");
  if (!(lambda >= 0) || !std::isfinite(lambda))
    throw std::invalid_argument(std::string(fn) + " lambda = " + Num(lambda) + ": must be finite and >= 0");
}

}  // namespace

double DampeningWeightAt(const OscillationDampeningParams& params, double progress) {
  return CosineRamp(params.start_weight, params.weight, progress);
}

double DampenRow(std::span<const float> w, float s, int q, double lambda, std::span<float> grad_w) {
  CheckArguments("DampenRow", s, q, lambda);
  CheckSize("DampenRow", "grad_w", grad_w.size(), w.size(), "w");
  CheckFinite("DampenRow", "w", w);
  const float lo = static_cast<float>(-q), hi = static_cast<float>(q);
  const float two_lambda = static_cast<float>(2 * lambda);
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const float x = w[i] / s;
    const float what = RoundHalfAway(std::min(hi, std::max(lo, x))) * s;
    const bool inside = (x > lo) & (x < hi);
    const float d = inside ? w[i] - what : 0.0f;
    grad_w[i] += two_lambda * d;
    sum += static_cast<double>(d) * static_cast<double>(d);
  }
  return lambda * sum;
}

double DampenRowReference(std::span<const double> w, double s, int q, double lambda, std::span<double> grad_w) {
  CheckArguments("DampenRowReference", s, q, lambda);
  CheckSize("DampenRowReference", "grad_w", grad_w.size(), w.size(), "w");
  CheckFinite("DampenRowReference", "w", w);
  double sum = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    const double x = static_cast<float>(w[i] / s);  // the decisions on the float32 quotient (header)
    const double code = std::round(std::clamp(x, static_cast<double>(-q), static_cast<double>(q)));
    const double clipped = std::clamp(w[i], -q * s, q * s);
    const bool inside = x > -q && x < q;
    const double d = clipped - code * s;
    if (inside) grad_w[i] += 2 * lambda * (w[i] - code * s);
    sum += d * d;
  }
  return lambda * sum;
}

}  // namespace cimsim
