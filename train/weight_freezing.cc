#include "train/weight_freezing.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "common/rounding.h"
#include "train/lr_schedule.h"

namespace cimsim {

namespace {

void CheckCount(const char* fn, size_t got, int64_t want) {
  if (static_cast<int64_t>(got) != want)
    throw std::invalid_argument(std::string(fn) + ": " + std::to_string(got) + " codes for a tracker of " + std::to_string(want) + " weights");
}

}  // namespace

double FreezingThresholdAt(const WeightFreezingParams& params, double progress) {
  return CosineRamp(params.start_threshold, params.threshold, progress);
}

OscillationTracker::OscillationTracker(std::span<const float> codes, WeightCodeRange range)
    : range_(range),
      prev_code_({static_cast<int64_t>(codes.size())}),
      prev_dir_({static_cast<int64_t>(codes.size())}),
      frequency_({static_cast<int64_t>(codes.size())}),
      mean_code_({static_cast<int64_t>(codes.size())}),
      frozen_({static_cast<int64_t>(codes.size())}),
      frozen_code_({static_cast<int64_t>(codes.size())}) {
  if (range.min > -1 || range.max < 1)
    throw std::invalid_argument("OscillationTracker: codes [" + std::to_string(range.min) + ", " + std::to_string(range.max) +
                                "]: need min <= -1 and max >= 1");
  std::copy(codes.begin(), codes.end(), prev_code_.data());
  std::copy(codes.begin(), codes.end(), mean_code_.data());
}

int64_t OscillationTracker::Update(std::span<const float> codes, double momentum, double threshold) {
  CheckCount("OscillationTracker::Update", codes.size(), size());
  if (!(momentum > 0 && momentum <= 1))
    throw std::invalid_argument("OscillationTracker::Update: momentum = " + std::to_string(momentum) + ": must be in (0, 1]");
  if (!(threshold > 0) || !std::isfinite(threshold))
    throw std::invalid_argument("OscillationTracker::Update: threshold = " + std::to_string(threshold) + ": must be finite and > 0");
  const float m = static_cast<float>(momentum), keep = 1 - m, th = static_cast<float>(threshold);
  const float lo = static_cast<float>(range_.min), hi = static_cast<float>(range_.max);
  int64_t newly = 0;
  for (int64_t i = 0; i < size(); ++i) {
    const float c = codes[static_cast<size_t>(i)];
    const float d = c > prev_code_[i] ? 1.0f : c < prev_code_[i] ? -1.0f : 0.0f;
    const float oscillated = d * prev_dir_[i] < 0 ? 1.0f : 0.0f;
    frequency_[i] = m * oscillated + keep * frequency_[i];
    if (d != 0) {
      prev_dir_[i] = d;
      prev_code_[i] = c;
    }
    if (frozen_[i] == 0 && frequency_[i] > th) {
      frozen_[i] = 1;
      frozen_code_[i] = std::clamp(RoundHalfAway(mean_code_[i]), lo, hi);
      ++newly;
    }
    mean_code_[i] = m * c + keep * mean_code_[i];
  }
  return newly;
}

void OscillationTracker::Apply(std::span<float> codes) const {
  CheckCount("OscillationTracker::Apply", codes.size(), size());
  for (int64_t i = 0; i < size(); ++i)
    if (frozen_[i] != 0) codes[static_cast<size_t>(i)] = frozen_code_[i];
}

int64_t OscillationTracker::FrozenCount() const {
  int64_t n = 0;
  for (int64_t i = 0; i < size(); ++i) n += frozen_[i] != 0 ? 1 : 0;
  return n;
}

void OscillationTracker::VisitState(const std::string& prefix, const std::function<void(const std::string&, Tensor&)>& fn) {
  fn(prefix + "_prev_code", prev_code_);
  fn(prefix + "_prev_dir", prev_dir_);
  fn(prefix + "_frequency", frequency_);
  fn(prefix + "_mean_code", mean_code_);
  fn(prefix + "_frozen", frozen_);
  fn(prefix + "_frozen_code", frozen_code_);
}

}  // namespace cimsim
