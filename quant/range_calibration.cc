#include "quant/range_calibration.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <sstream>
#include <stdexcept>
#include <string>

#include "common/streams.h"

namespace cimsim {
namespace {

constexpr int kMinAciqBits = 1, kMaxAciqBits = 24;
constexpr int kMinClipBits = 2, kMaxClipBits = 16;
constexpr int kMaxMseCandidates = 65536;

// Published ACIQ constants for bits 2..8 (arXiv 1810.05723).
constexpr std::array<double, 7> kLaplaceTable = {2.83, 3.89, 5.03, 6.20, 7.41, 8.64, 9.89};
constexpr std::array<double, 7> kGaussTable = {1.71, 2.15, 2.55, 2.93, 3.28, 3.61, 3.92};

std::string Num(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

void CheckAciqBits(int bits, const char* function) {
  if (bits < kMinAciqBits || bits > kMaxAciqBits) {
    throw std::invalid_argument(std::string(function) + " bits = " + std::to_string(bits) + ": must be in [" +
                                std::to_string(kMinAciqBits) + ", " + std::to_string(kMaxAciqBits) + "]");
  }
}

// dMSE/da up to the factor 2, in units of b (σ): positive below the optimum, negative above.
double AciqSlope(double a, int bits, AciqPrior prior) {
  const double rounding = a / (3.0 * std::pow(4.0, bits));
  if (prior == AciqPrior::kLaplace) return std::exp(-a) - rounding;
  const double density = std::exp(-0.5 * a * a) / std::sqrt(2 * std::numbers::pi);
  const double tail = 0.5 * std::erfc(a / std::numbers::sqrt2);
  return 2 * (density - a * tail) - rounding;
}

// The largest code of the quantizer: 2^(bits−1) − 1 (signed) or 2^bits − 1 (unsigned).
double MaxCode(int bits, bool is_signed) { return std::ldexp(1.0, is_signed ? bits - 1 : bits) - 1; }

// Σ (x − Q_α(x))² over the values.
double QuantizationSse(std::span<const float> values, double alpha, double max_code, double min_code) {
  const double scale = alpha / max_code;
  double sse = 0;
  for (float v : values) {
    const double x = v;
    const double code = std::clamp(std::round(x / scale), min_code, max_code);
    const double e = x - scale * code;
    sse += e * e;
  }
  return sse;
}

double Percentile(std::span<const float> values, double percentile, bool is_signed) {
  std::vector<double> v(values.begin(), values.end());
  if (is_signed) {
    for (double& x : v) x = std::fabs(x);
  }
  const double rank = percentile / 100.0 * static_cast<double>(v.size() - 1);
  const size_t lo = std::min(static_cast<size_t>(rank), v.size() - 1);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lo), v.end());
  const double below = v[lo];
  if (lo + 1 >= v.size()) return below;
  const double above = *std::min_element(v.begin() + static_cast<std::ptrdiff_t>(lo) + 1, v.end());
  return below + (rank - static_cast<double>(lo)) * (above - below);
}

double MseClip(std::span<const float> values, double abs_max, int bits, bool is_signed, int candidates) {
  const double max_code = MaxCode(bits, is_signed);
  const double min_code = is_signed ? -max_code : 0.0;
  double best_alpha = abs_max, best_sse = std::numeric_limits<double>::infinity();
  for (int i = 1; i <= candidates; ++i) {
    const double alpha = abs_max * i / candidates;
    const double sse = QuantizationSse(values, alpha, max_code, min_code);
    if (sse < best_sse) {
      best_sse = sse;
      best_alpha = alpha;
    }
  }
  return best_alpha;
}

double AciqClip(std::span<const float> values, int bits, bool is_signed, AciqPrior prior) {
  const double n = static_cast<double>(values.size());
  double mean = 0;
  for (float v : values) mean += v;
  mean /= n;
  double spread = 0;
  for (float v : values) {
    const double d = v - mean;
    spread += prior == AciqPrior::kLaplace ? std::fabs(d) : d * d;
  }
  spread /= n;
  const double b = prior == AciqPrior::kLaplace ? spread : std::sqrt(spread);
  return AciqAlpha(is_signed ? bits : bits + 1, prior) * b;
}

}  // namespace

void RangeParams::Validate() const {
  if (method != RangeMethod::kMax && method != RangeMethod::kPercentile && method != RangeMethod::kMse &&
      method != RangeMethod::kAciq) {
    throw std::invalid_argument("RangeParams method = " + std::to_string(static_cast<int>(method)) +
                                ": must be one of max, percentile, mse, aciq");
  }
  if (!(percentile > 0 && percentile <= 100)) {
    throw std::invalid_argument("RangeParams percentile = " + Num(percentile) + ": must be in (0, 100]");
  }
  if (prior != AciqPrior::kLaplace && prior != AciqPrior::kGauss) {
    throw std::invalid_argument("RangeParams prior = " + std::to_string(static_cast<int>(prior)) +
                                ": must be laplace or gauss");
  }
  if (mse_candidates < 1 || mse_candidates > kMaxMseCandidates) {
    throw std::invalid_argument("RangeParams mse_candidates = " + std::to_string(mse_candidates) + ": must be in [1, " +
                                std::to_string(kMaxMseCandidates) + "]");
  }
}

double AciqAlphaSolved(int bits, AciqPrior prior) {
  CheckAciqBits(bits, "AciqAlphaSolved");
  double lo = 0, hi = 64;   // slope(0) > 0 > slope(64) for every bits in range
  while (hi - lo > 1e-12) {
    const double mid = 0.5 * (lo + hi);
    (AciqSlope(mid, bits, prior) > 0 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double AciqAlpha(int bits, AciqPrior prior) {
  CheckAciqBits(bits, "AciqAlpha");
  if (bits >= 2 && bits <= 8) {
    return (prior == AciqPrior::kLaplace ? kLaplaceTable : kGaussTable)[static_cast<size_t>(bits - 2)];
  }
  return AciqAlphaSolved(bits, prior);
}

double ChooseClip(std::span<const float> values, double abs_max, int bits, bool is_signed,
                  const RangeParams& params) {
  params.Validate();
  if (bits < kMinClipBits || bits > kMaxClipBits) {
    throw std::invalid_argument("ChooseClip bits = " + std::to_string(bits) + ": must be in [" +
                                std::to_string(kMinClipBits) + ", " + std::to_string(kMaxClipBits) + "]");
  }
  if (!std::isfinite(abs_max) || abs_max < 0) {
    throw std::invalid_argument("ChooseClip abs_max = " + Num(abs_max) + ": must be finite and >= 0");
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      throw std::invalid_argument("ChooseClip values[" + std::to_string(i) + "] = " + Num(values[i]) +
                                  ": must be finite");
    }
  }
  if (abs_max == 0) return 0;
  if (values.empty()) {
    throw std::invalid_argument("ChooseClip: no values although abs_max = " + Num(abs_max) + " > 0");
  }
  double alpha = abs_max;
  switch (params.method) {
    case RangeMethod::kMax: break;
    case RangeMethod::kPercentile: alpha = Percentile(values, params.percentile, is_signed); break;
    case RangeMethod::kMse: alpha = MseClip(values, abs_max, bits, is_signed, params.mse_candidates); break;
    case RangeMethod::kAciq: alpha = AciqClip(values, bits, is_signed, params.prior); break;
  }
  if (!(alpha > 0)) return abs_max;
  return std::min(alpha, abs_max);
}

RangeStats::RangeStats(int64_t capacity, uint64_t seed)
    : capacity_(capacity), rng_(ReservoirStream(seed)), max_(-std::numeric_limits<double>::infinity()) {
  if (capacity < 1) throw std::invalid_argument("RangeStats capacity = " + std::to_string(capacity) + ": must be >= 1");
}

void RangeStats::Add(std::span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {   // first, so a bad batch leaves *this unchanged
    if (!std::isfinite(values[i])) {
      throw std::invalid_argument("RangeStats value " + std::to_string(count_ + static_cast<int64_t>(i)) + " (index " +
                                  std::to_string(i) + " of this Add) = " + Num(values[i]) + ": must be finite");
    }
  }
  for (const float v : values) {
    max_ = std::max(max_, static_cast<double>(v));
    abs_max_ = std::max(abs_max_, std::fabs(static_cast<double>(v)));
    if (count_ < capacity_) {
      sample_.push_back(v);
    } else {
      const uint64_t j = rng_.Below(static_cast<uint64_t>(count_) + 1);
      if (j < static_cast<uint64_t>(capacity_)) sample_[j] = v;
    }
    ++count_;
  }
}

double RangeStats::RangeMax(bool is_signed) const { return is_signed ? abs_max_ : std::max(max_, 0.0); }

}  // namespace cimsim
