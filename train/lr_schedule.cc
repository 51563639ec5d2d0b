#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "common/field_checker.h"

namespace cimsim {

double CosineRamp(double start, double end, double progress) {
  const double p = std::clamp(progress, 0.0, 1.0);
  return end + (start - end) * 0.5 * (1 + std::cos(std::numbers::pi * p));
}

void LrScheduleParams::Validate(const std::string& where) const {
  const FieldChecker check(where);
  if (kind != "step" && kind != "cosine" && kind != "constant") {
    check.Fail("kind", "\"" + kind + "\" is not a known schedule; allowed \"step\", \"cosine\", \"constant\"");
  }
  check.Above(base_lr, "base_lr", 0);
  for (size_t i = 0; i < milestones.size(); ++i) {
    const double m = milestones[i];
    const std::string field = "milestones[" + std::to_string(i) + "]";
    check.AtLeast(m, field, 0);
    if (m != std::floor(m)) check.Fail(field, ShortestNumber(m) + " is not a whole number of epochs");
    if (i > 0 && !(m > milestones[i - 1])) {
      check.Fail(field, ShortestNumber(m) + " is not above " + check.Name("milestones[" + std::to_string(i - 1) + "]") +
                            " = " + ShortestNumber(milestones[i - 1]) + "; milestones must be strictly increasing");
    }
  }
  if (!(gamma > 0 && gamma <= 1)) check.Fail("gamma", ShortestNumber(gamma) + " is out of range; allowed (0, 1]");
  check.AtLeast(min_lr, "min_lr", 0);
  if (kind == "cosine") {
    if (!(min_lr <= base_lr)) {
      check.Fail("min_lr", ShortestNumber(min_lr) + " is above " + check.Name("base_lr") + " = " + ShortestNumber(base_lr) +
                               "; allowed [0, base_lr]");
    }
    if (epochs < 1) {
      check.Fail("epochs", std::to_string(epochs) + " is out of range; kind \"cosine\" needs the total number of epochs >= 1");
    }
  } else if (epochs < 0) {
    check.Fail("epochs", std::to_string(epochs) + " is out of range; allowed >= 0");
  }
  check.AtLeast(warmup_epochs, "warmup_epochs", 0);
  if (!(warmup_start_factor > 0 && warmup_start_factor <= 1)) {
    check.Fail("warmup_start_factor", ShortestNumber(warmup_start_factor) + " is out of range; allowed (0, 1]");
  }
}

LrSchedule::LrSchedule(const LrScheduleParams& params, const std::string& where) : params_(params) {
  params_.Validate(where);
  kind_ = params_.kind == "step" ? Kind::kStep : params_.kind == "cosine" ? Kind::kCosine : Kind::kConstant;
}

double LrSchedule::LearningRate(int64_t epoch, int64_t batch, int64_t batches_per_epoch) const {
  if (epoch < 0 || batches_per_epoch < 1 || batch < 0 || batch >= batches_per_epoch) {
    throw std::invalid_argument("LrSchedule::LearningRate: epoch " + std::to_string(epoch) + ", batch " +
                                std::to_string(batch) + " of " + std::to_string(batches_per_epoch) +
                                " is not allowed; need epoch >= 0 and 0 <= batch < batches_per_epoch");
  }
  const double t = static_cast<double>(epoch) + static_cast<double>(batch) / static_cast<double>(batches_per_epoch);
  double lr = params_.base_lr;
  switch (kind_) {
    case Kind::kConstant:
      break;
    case Kind::kStep:
      for (double m : params_.milestones) {
        if (m <= static_cast<double>(epoch)) lr *= params_.gamma;
      }
      break;
    case Kind::kCosine: {
      const double total = static_cast<double>(params_.epochs);
      lr = t >= total ? params_.min_lr
                      : params_.min_lr + (params_.base_lr - params_.min_lr) * (1 + std::cos(std::numbers::pi * t / total)) / 2;
      break;
    }
  }
  if (t < params_.warmup_epochs) {
    const double s = params_.warmup_start_factor;
    lr *= s + (1 - s) * t / params_.warmup_epochs;
  }
  return lr;
}

}  // namespace cimsim
