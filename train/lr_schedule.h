// lr_schedule.h — the learning rate as a function of training progress.
//
// Progress is counted in epochs: batch b (0-based) of epoch e (0-based) with B batches per epoch is at
//   t = e + b / B.
// Kinds (η₀ = base_lr):
//   "constant":  η = η₀.
//   "step":      η = η₀ · γ^c, c = #{milestones m : m <= e}, constant within an epoch — PyTorch
//                MultiStepLR stepped once per epoch (its lr during epoch e). The power is evaluated
//                as repeated multiplication ((η₀·γ)·γ)·…, as MultiStepLR does.
//   "cosine":    η = η_min + (η₀ − η_min) · (1 + cos(π · t / T)) / 2, T = epochs, evaluated every
//                batch (CosineAnnealingLR stepped per iteration with T_max = T·B); η₀ at t = 0,
//                η_min at t = T. Past the end (t > T) the rate stays η_min.
// Linear warm-up (any kind, off when warmup_epochs = 0): while t < W = warmup_epochs, the rate above is
// multiplied by
//   f(t) = s + (1 − s) · t / W,   s = warmup_start_factor,
// which rises from s at t = 0 towards 1 at t = W (PyTorch LinearLR per iteration, but multiplying the
// main schedule instead of replacing it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cimsim {

// A value that ramps with a cosine over a run: end + (start − end)·(1 + cos(π·p))/2 at progress p in
// [0, 1] (clamped) — start at p = 0, end at p = 1 (regulariser weights, thresholds).
double CosineRamp(double start, double end, double progress);

struct LrScheduleParams {
  std::string kind = "step";          // "step" | "cosine" | "constant"
  double base_lr = 0.1;               // η₀ > 0
  std::vector<double> milestones;     // step: whole epochs >= 0, strictly increasing
  double gamma = 0.1;                 // step: γ in (0, 1]
  double min_lr = 0;                  // cosine: η_min in [0, base_lr]
  int epochs = 0;                     // cosine: T >= 1 (total epochs); >= 0 for the other kinds
  double warmup_epochs = 0;           // W >= 0 (fractions allowed)
  double warmup_start_factor = 0.1;   // s in (0, 1]

  // Throws InputError naming "<where>.<field>", the value and what is allowed (an unknown kind lists
  // the known ones).
  void Validate(const std::string& where) const;
};

class LrSchedule {
 public:
  // Validates params (InputError naming `where`).
  explicit LrSchedule(const LrScheduleParams& params, const std::string& where = "lr_schedule");

  // The rate for batch `batch` of epoch `epoch` (formulas above). epoch >= 0, batches_per_epoch >= 1,
  // 0 <= batch < batches_per_epoch, else std::invalid_argument. The result is > 0 except for a
  // cosine schedule with min_lr = 0 at (or, by rounding, just before) t = epochs and after it.
  double LearningRate(int64_t epoch, int64_t batch, int64_t batches_per_epoch) const;

  const LrScheduleParams& params() const { return params_; }

 private:
  enum class Kind { kStep, kCosine, kConstant };
  LrScheduleParams params_;
  Kind kind_;
};

}  // namespace cimsim
