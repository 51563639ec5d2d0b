#include "train/weight_average.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace cimsim {

WeightAverage::WeightAverage(std::vector<ParamRef> params, double decay) : params_(std::move(params)), decay_(decay) {
  if (!(decay > 0.0 && decay < 1.0))
    throw std::invalid_argument("weight average decay " + std::to_string(decay) + " is outside (0, 1)");
  averages_.reserve(params_.size());
  for (const ParamRef& p : params_) averages_.emplace_back(p.param->shape());
}

void WeightAverage::Update() {
  for (size_t k = 0; k < params_.size(); ++k) {
    const Tensor& p = *params_[k].param;
    Tensor& a = averages_[k];
    if (!started_) {
      std::copy_n(p.data(), p.size(), a.data());
      continue;
    }
    const double keep = decay_, take = 1.0 - decay_;
    for (int64_t i = 0; i < p.size(); ++i)
      a[i] = static_cast<float>(keep * static_cast<double>(a[i]) + take * static_cast<double>(p[i]));
  }
  started_ = true;
}

void WeightAverage::Restore() { started_ = true; }

void WeightAverage::Swap() {
  if (!started_) throw std::logic_error("WeightAverage::Swap before the first Update");
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& p = *params_[k].param;
    Tensor& a = averages_[k];
    std::swap_ranges(p.data(), p.data() + p.size(), a.data());
  }
}

}  // namespace cimsim
