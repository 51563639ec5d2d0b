#include "calib/linear_fit.h"

#include <cmath>
#include <stdexcept>

namespace cimsim {

void LinearFit::Add(double measured, double ideal) {
  ++n_;
  const double dm = measured - mean_m_, di = ideal - mean_i_;
  mean_m_ += dm / static_cast<double>(n_);
  mean_i_ += di / static_cast<double>(n_);
  // Co-moment updates: (x − old mean)(y − new mean).
  s_mm_ += dm * (measured - mean_m_);
  s_mi_ += dm * (ideal - mean_i_);
  s_ii_ += di * (ideal - mean_i_);
  sum_sq_before_ += (ideal - measured) * (ideal - measured);
}

LineFit LinearFit::Result() const {
  LineFit f;
  f.count = n_;
  if (n_ == 0) return f;
  f.gain = s_mm_ > 0 ? s_mi_ / s_mm_ : 1.0;
  f.offset = mean_i_ - f.gain * mean_m_;
  f.rmse_before = std::sqrt(sum_sq_before_ / static_cast<double>(n_));
  // Residual sum of squares of the fitted line: S_ii − 2g·S_mi + g²·S_mm (the mean term is zero).
  const double rss = s_ii_ - 2 * f.gain * s_mi_ + f.gain * f.gain * s_mm_;
  f.rmse_after = std::sqrt(std::max(rss, 0.0) / static_cast<double>(n_));
  return f;
}

LineFit FitLineReference(std::span<const double> measured, std::span<const double> ideal) {
  if (measured.size() != ideal.size()) throw std::invalid_argument("FitLineReference: spans differ in size");
  LineFit f;
  f.count = static_cast<int64_t>(measured.size());
  if (measured.empty()) return f;
  const double n = static_cast<double>(measured.size());
  double mm = 0, mi = 0;
  for (size_t k = 0; k < measured.size(); ++k) {
    mm += measured[k];
    mi += ideal[k];
  }
  mm /= n;
  mi /= n;
  double s_mm = 0, s_mi = 0;
  for (size_t k = 0; k < measured.size(); ++k) {
    s_mm += (measured[k] - mm) * (measured[k] - mm);
    s_mi += (measured[k] - mm) * (ideal[k] - mi);
  }
  f.gain = s_mm > 0 ? s_mi / s_mm : 1.0;
  f.offset = mi - f.gain * mm;
  double before = 0, after = 0;
  for (size_t k = 0; k < measured.size(); ++k) {
    before += (ideal[k] - measured[k]) * (ideal[k] - measured[k]);
    const double r = ideal[k] - f.gain * measured[k] - f.offset;
    after += r * r;
  }
  f.rmse_before = std::sqrt(before / n);
  f.rmse_after = std::sqrt(after / n);
  return f;
}

}  // namespace cimsim
