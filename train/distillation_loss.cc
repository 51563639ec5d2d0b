#include "train/distillation_loss.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "common/error.h"
#include "train/loss_arguments.h"

namespace cimsim {
namespace {

// The losses' shared checks, then the teacher's shape.
template <typename T>
void CheckArguments(const TensorT<T>& logits, const TensorT<T>& teacher, std::span<const int32_t> labels,
                    const char* fn) {
  CheckLogitsAndLabels(logits, labels, fn);
  if (teacher.shape() != logits.shape())
    throw std::invalid_argument(std::string(fn) + ": teacher logits " + ShapeString(teacher.shape()) +
                                " do not have the student's shape " + ShapeString(logits.shape()));
}

// log Σ_k exp(v_k · s) in double, with max subtraction.
double LogSumExp(const double* v, int64_t k, double s) {
  double m = v[0] * s;
  for (int64_t j = 1; j < k; ++j) m = std::max(m, v[j] * s);
  double sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += std::exp(v[j] * s - m);
  return m + std::log(sum);
}

std::string Num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

void DistillLossParams::Validate(const std::string& where) const {
  const std::string p = where.empty() ? "" : where + ".";
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw InputError(p + "temperature: " + Num(temperature) + " is out of range; allowed > 0 (finite)");
  if (!(weight >= 0 && weight <= 1))
    throw InputError(p + "weight: " + Num(weight) + " is out of range; allowed 0..1");
}

LossResult DistillationLossReference(const TensorD& logits, const TensorD& teacher, std::span<const int32_t> labels,
                                     const DistillLossParams& p, TensorD* grad) {
  CheckArguments(logits, teacher, labels, "DistillationLossReference");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const double T = p.temperature, a = p.weight, inv_t = 1.0 / T;
  if (grad != nullptr) grad->Resize({n, k});
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double* x = logits.data() + i * k;
    const double* t = teacher.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    if (FirstArgMax(x, k) == y) ++result.correct;
    const double lse = LogSumExp(x, k, 1.0), lse_s = LogSumExp(x, k, inv_t), lse_t = LogSumExp(t, k, inv_t);
    double kl = 0;
    for (int64_t j = 0; j < k; ++j) {
      const double log_q = t[j] * inv_t - lse_t, log_p = x[j] * inv_t - lse_s;
      kl += std::exp(log_q) * (log_q - log_p);
    }
    loss_sum += (1 - a) * (lse - x[y]) + a * T * T * kl;
    if (grad != nullptr) {
      double* g = grad->data() + i * k;
      for (int64_t j = 0; j < k; ++j) {
        const double hard = std::exp(x[j] - lse) - (j == y ? 1.0 : 0.0);
        const double soft = std::exp(x[j] * inv_t - lse_s) - std::exp(t[j] * inv_t - lse_t);
        g[j] = ((1 - a) * hard + a * T * soft) / static_cast<double>(n);
      }
    }
  }
  result.loss = loss_sum / static_cast<double>(n);
  return result;
}

LossResult DistillationLoss(const Tensor& logits, const Tensor& teacher, std::span<const int32_t> labels,
                            const DistillLossParams& p, Tensor* grad) {
  CheckArguments(logits, teacher, labels, "DistillationLoss");
  const int64_t n = logits.dim(0), k = logits.dim(1);
  const float inv_t = static_cast<float>(1.0 / p.temperature);
  const double a = p.weight, T = p.temperature;
  const float hard_scale = static_cast<float>((1 - a) / static_cast<double>(n));
  const float soft_scale = static_cast<float>(a * T / static_cast<double>(n));
  if (grad != nullptr) grad->Resize({n, k});
  // Per row, two passes without scratch memory (allocation-free): the sums s = Σ exp(x − max x),
  // ss = Σ exp((x − max x)/T), st = Σ exp((t − max t)/T) in double, then the KL term and the gradient
  // with the exponentials recomputed in float.
  LossResult result;
  double loss_sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = logits.data() + i * k;
    const float* t = teacher.data() + i * k;
    const int64_t y = labels[static_cast<size_t>(i)];
    const int64_t top = FirstArgMax(x, k);
    if (top == y) ++result.correct;
    const float mx = x[top], mt = t[FirstArgMax(t, k)];
    double s = 0, ss = 0, st = 0;
    for (int64_t j = 0; j < k; ++j) {
      s += std::exp(x[j] - mx);
      ss += std::exp((x[j] - mx) * inv_t);
      st += std::exp((t[j] - mt) * inv_t);
    }
    // log p^T_j = (x_j − mx)/T − log ss;  log q^T_j = (t_j − mt)/T − log st.
    const double log_ss = std::log(ss), log_st = std::log(st);
    const float inv_s = static_cast<float>(1.0 / s), inv_ss = static_cast<float>(1.0 / ss),
                inv_st = static_cast<float>(1.0 / st);
    float* g = grad != nullptr ? grad->data() + i * k : nullptr;
    double kl = 0;
    for (int64_t j = 0; j < k; ++j) {
      const float zs = (x[j] - mx) * inv_t, zt = (t[j] - mt) * inv_t;
      const float et = std::exp(zt);
      const double q = static_cast<double>(et) / st;
      if (q > 0) kl += q * ((static_cast<double>(zt) - log_st) - (static_cast<double>(zs) - log_ss));
      if (g != nullptr) {
        const float hard = std::exp(x[j] - mx) * inv_s - (j == y ? 1.0f : 0.0f);
        const float soft = std::exp(zs) * inv_ss - et * inv_st;
        g[j] = hard_scale * hard + soft_scale * soft;
      }
    }
    loss_sum += (1 - a) * (std::log(s) + static_cast<double>(mx) - static_cast<double>(x[y])) + a * T * T * kl;
  }
  result.loss = loss_sum / static_cast<double>(n);
  return result;
}

}  // namespace cimsim
