#include "quant/weight_quantizer.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

constexpr int kMinWeightBits = 2, kMaxWeightBits = 8;

double MaxAbs(std::span<const float> v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(static_cast<double>(x)));
  return m;
}

// Population mean and standard deviation of n values given by at(k).
template <typename At>
void MeanStd(int64_t n, At at, double& mean, double& sd) {
  mean = 0;
  for (int64_t k = 0; k < n; ++k) mean += at(k);
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t k = 0; k < n; ++k) {
    const double d = at(k) - mean;
    var += d * d;
  }
  sd = std::sqrt(var / static_cast<double>(n));
}

}  // namespace

void WeightQuantParams::Validate() const {
  if (bits < kMinWeightBits || bits > kMaxWeightBits) {
    throw std::invalid_argument("WeightQuantParams bits = " + std::to_string(bits) + ": must be in [" +
                                std::to_string(kMinWeightBits) + ", " + std::to_string(kMaxWeightBits) + "]");
  }
  try {
    range.Validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("WeightQuantParams range: ") + e.what());
  }
}

QuantizedWeights QuantizeWeights(const float* w, int64_t rows, int64_t cols, const WeightQuantParams& p) {
  p.Validate();
  if (rows < 1 || cols < 1) {
    throw std::invalid_argument("QuantizeWeights shape [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                "]: rows and cols must be >= 1");
  }
  if (w == nullptr) throw std::invalid_argument("QuantizeWeights: null weights");
  const std::span<const float> all(w, static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < all.size(); ++i) {
    if (!std::isfinite(all[i])) {
      throw std::invalid_argument("QuantizeWeights weight " + std::to_string(i) + " (row " +
                                  std::to_string(static_cast<int64_t>(i) / cols) + ") = " + std::to_string(all[i]) +
                                  ": must be finite");
    }
  }

  QuantizedWeights q;
  q.rows = rows;
  q.cols = cols;
  q.codes.assign(static_cast<size_t>(rows * cols), 0);
  q.scales.assign(static_cast<size_t>(rows), 1.0);
  q.mean_shift.assign(static_cast<size_t>(rows), 0.0);
  const double max_code = std::ldexp(1.0, p.bits - 1) - 1;

  const double tensor_alpha = p.per_channel ? 0.0 : ChooseClip(all, MaxAbs(all), p.bits, true, p.range);
  for (int64_t o = 0; o < rows; ++o) {
    const std::span<const float> row = all.subspan(static_cast<size_t>(o * cols), static_cast<size_t>(cols));
    const double alpha = p.per_channel ? ChooseClip(row, MaxAbs(row), p.bits, true, p.range) : tensor_alpha;
    if (alpha == 0) continue;   // scale 1, codes 0 (already so)
    const double scale = alpha / max_code;
    int16_t* codes = q.codes.data() + o * cols;
    for (int64_t k = 0; k < cols; ++k) {
      codes[k] = static_cast<int16_t>(std::clamp(std::round(row[k] / scale), -max_code, max_code));
    }
    q.scales[o] = scale;
  }

  if (p.bias_correction) {
    for (int64_t o = 0; o < rows; ++o) {
      const float* row = w + o * cols;
      const int16_t* codes = q.codes.data() + o * cols;
      double w_mean, w_std, q_mean, q_std;
      MeanStd(cols, [&](int64_t k) { return static_cast<double>(row[k]); }, w_mean, w_std);
      MeanStd(cols, [&](int64_t k) { return static_cast<double>(codes[k]); }, q_mean, q_std);
      if (q_std > 0) q.scales[o] = w_std / q_std;
      q.mean_shift[o] = w_mean - q.scales[o] * q_mean;
    }
  }
  return q;
}

}  // namespace cimsim
