#include "train/sgd.h"

#include <cmath>
#include <stdexcept>
#include <unordered_set>
#include <utility>

#include "common/field_checker.h"

namespace cimsim {
namespace {

// The update loops, one per case, so that each inner loop is branch-free and vectorizes.
// d = g + wd·p; p −= lr·d.
void PlainStep(float* p, const float* g, int64_t n, float wd, float lr) {
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * p[i];
    p[i] = p[i] - lr * d;
  }
}

// First momentum step: b = d.
void FirstMomentumStep(float* p, const float* g, float* b, int64_t n, float wd, float mu, float lr, bool nesterov) {
  if (nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      b[i] = d;
      p[i] = p[i] - lr * (d + mu * d);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      b[i] = d;
      p[i] = p[i] - lr * d;
    }
  }
}

// Later momentum steps: b = μ·b + d.
void MomentumStep(float* p, const float* g, float* b, int64_t n, float wd, float mu, float lr, bool nesterov) {
  if (nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      const float nb = mu * b[i] + d;
      b[i] = nb;
      p[i] = p[i] - lr * (d + mu * nb);
    }
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const float d = g[i] + wd * p[i];
      const float nb = mu * b[i] + d;
      b[i] = nb;
      p[i] = p[i] - lr * nb;
    }
  }
}

}  // namespace

void SgdParams::Validate(const std::string& where) const {
  const FieldChecker check(where);
  if (!(momentum >= 0 && momentum < 1)) {
    check.Fail("momentum", ShortestNumber(momentum) + " is out of range; allowed [0, 1)");
  }
  check.AtLeast(weight_decay, "weight_decay", 0);
  if (nesterov && momentum == 0) {
    check.Fail("nesterov", "true needs momentum > 0, but " + check.Name("momentum") + " = 0");
  }
}

Sgd::Sgd(std::vector<SgdEntry> entries, const SgdParams& params) : entries_(std::move(entries)), params_(params) {
  params_.Validate("sgd");
  std::unordered_set<const Tensor*> seen;
  for (const SgdEntry& e : entries_) {
    if (e.param == nullptr || e.grad == nullptr) {
      throw std::invalid_argument("Sgd: parameter \"" + e.name + "\" has a null " +
                                  (e.param == nullptr ? "parameter" : "gradient") + " tensor");
    }
    if (e.grad->shape() != e.param->shape()) {
      throw std::invalid_argument("Sgd: parameter \"" + e.name + "\" is " + ShapeString(e.param->shape()) +
                                  " but its gradient is " + ShapeString(e.grad->shape()));
    }
    if (!seen.insert(e.param).second) {
      throw std::invalid_argument("Sgd: parameter \"" + e.name + "\" is listed twice");
    }
  }
  if (params_.momentum != 0) {
    buffers_.reserve(entries_.size());
    for (const SgdEntry& e : entries_) buffers_.emplace_back(e.param->shape());
  }
}

void Sgd::set_steps(int64_t steps) {
  if (steps < 0) throw std::invalid_argument("Sgd::set_steps: " + std::to_string(steps) + " < 0");
  steps_ = steps;
}

void Sgd::Step(double lr) {
  if (!(lr > 0) || !std::isfinite(lr)) {
    throw std::invalid_argument("Sgd::Step: learning rate " + ShortestNumber(lr) + " is not allowed; use a finite lr > 0");
  }
  const bool momentum = params_.momentum != 0;
  for (size_t k = 0; k < entries_.size(); ++k) {
    const SgdEntry& e = entries_[k];
    if (e.grad->shape() != e.param->shape() || (momentum && buffers_[k].shape() != e.param->shape())) {
      throw std::logic_error("Sgd::Step: parameter \"" + e.name + "\" " + ShapeString(e.param->shape()) +
                             " no longer matches its gradient " + ShapeString(e.grad->shape()) +
                             (momentum ? " or momentum buffer " + ShapeString(buffers_[k].shape()) : std::string()));
    }
  }
  const float decay = static_cast<float>(params_.weight_decay);
  const float mu = static_cast<float>(params_.momentum);
  const float lr_f = static_cast<float>(lr);
  for (size_t k = 0; k < entries_.size(); ++k) {
    const SgdEntry& e = entries_[k];
    const float wd = e.weight_decay ? decay : 0.0f;
    float* p = e.param->data();
    const float* g = e.grad->data();
    const int64_t n = e.param->size();
    if (!momentum) {
      PlainStep(p, g, n, wd, lr_f);
    } else if (steps_ == 0) {
      FirstMomentumStep(p, g, buffers_[k].data(), n, wd, mu, lr_f, params_.nesterov);
    } else {
      MomentumStep(p, g, buffers_[k].data(), n, wd, mu, lr_f, params_.nesterov);
    }
  }
  ++steps_;
}

}  // namespace cimsim
