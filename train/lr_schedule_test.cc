// LrSchedule: constant, step, cosine and linear warm-up values by hand, and the validation messages.
#include "train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InputErrorOf;
using ::cimsim::testing::InvalidArgumentOf;

LrScheduleParams Kind(const std::string& kind) {
  LrScheduleParams p;
  p.kind = kind;
  return p;
}

TEST(LrScheduleTest, Constant) {
  const LrSchedule s(Kind("constant"));
  EXPECT_EQ(s.LearningRate(0, 0, 10), 0.1);
  EXPECT_EQ(s.LearningRate(7, 9, 10), 0.1);
  EXPECT_EQ(s.LearningRate(1000, 0, 1), 0.1);
}

// base 0.1, milestones {2, 4}, γ 0.1: epochs 0–1 → 0.1, 2–3 → 0.1·0.1, 4+ → (0.1·0.1)·0.1, for every
// batch of the epoch (evaluated as MultiStepLR does, by repeated multiplication: exact equality).
TEST(LrScheduleTest, StepPerEpoch) {
  LrScheduleParams p = Kind("step");
  p.milestones = {2, 4};
  const LrSchedule s(p);
  for (int64_t b : {0, 5, 9}) {
    EXPECT_EQ(s.LearningRate(0, b, 10), 0.1);
    EXPECT_EQ(s.LearningRate(1, b, 10), 0.1);
    EXPECT_EQ(s.LearningRate(2, b, 10), 0.1 * 0.1);
    EXPECT_EQ(s.LearningRate(3, b, 10), 0.1 * 0.1);
    EXPECT_EQ(s.LearningRate(4, b, 10), 0.1 * 0.1 * 0.1);
    EXPECT_EQ(s.LearningRate(200, b, 10), 0.1 * 0.1 * 0.1);
  }
  // Milestone 0 applies from the start (as MultiStepLR's first step at last_epoch = 0); no milestones:
  // constant.
  p.milestones = {0};
  p.gamma = 0.5;
  EXPECT_EQ(LrSchedule(p).LearningRate(0, 0, 1), 0.05);
  p.milestones = {};
  EXPECT_EQ(LrSchedule(p).LearningRate(50, 0, 1), 0.1);
}

// base 0.1, min 0.001, T = 10 epochs, 4 batches per epoch:
//   t = 0 → 0.1; t = 2.5 (epoch 2, batch 2) → 0.001 + 0.099·(1 + cos(π/4))/2 = 0.0855017856687341;
//   t = 5 → 0.001 + 0.099/2 = 0.0505; t = 9.75 → 0.001 + 0.099·(1 + cos(0.975π))/2; t >= 10 → 0.001.
TEST(LrScheduleTest, CosinePerIteration) {
  LrScheduleParams p = Kind("cosine");
  p.min_lr = 0.001;
  p.epochs = 10;
  const LrSchedule s(p);
  EXPECT_DOUBLE_EQ(s.LearningRate(0, 0, 4), 0.1);
  EXPECT_NEAR(s.LearningRate(2, 2, 4), 0.0855017856687341, 1e-15);
  EXPECT_NEAR(s.LearningRate(5, 0, 4), 0.0505, 1e-15);
  EXPECT_NEAR(s.LearningRate(9, 3, 4), 0.001 + 0.099 * (1 + std::cos(0.975 * std::numbers::pi)) / 2, 1e-15);
  EXPECT_EQ(s.LearningRate(10, 0, 4), 0.001);
  EXPECT_EQ(s.LearningRate(12, 1, 4), 0.001);
  // Strictly decreasing over the run.
  double last = 1;
  for (int64_t e = 0; e < 10; ++e) {
    for (int64_t b = 0; b < 4; ++b) {
      const double lr = s.LearningRate(e, b, 4);
      EXPECT_LT(lr, last) << e << " " << b;
      last = lr;
    }
  }
}

// Warm-up W = 2 epochs from s = 0.1, 4 batches per epoch, constant base 0.1:
//   t = 0 → 0.1·0.1 = 0.01; t = 1 → 0.1·(0.1 + 0.9·0.5) = 0.055; t = 1.75 → 0.1·(0.1 + 0.9·0.875) =
//   0.08875; t = 2 → 0.1 (warm-up over).
// With step (milestone 1) the factor multiplies the decayed rate: t = 1.5 → 0.1·0.1·(0.1 + 0.9·0.75) =
// 0.00775. With cosine (T = 4): t = 0.5 → (0.1·(1 + cos(π/8))/2)·(0.1 + 0.9·0.25).
TEST(LrScheduleTest, LinearWarmup) {
  LrScheduleParams p = Kind("constant");
  p.warmup_epochs = 2;
  const LrSchedule s(p);
  EXPECT_NEAR(s.LearningRate(0, 0, 4), 0.01, 1e-16);
  EXPECT_NEAR(s.LearningRate(1, 0, 4), 0.055, 1e-16);
  EXPECT_NEAR(s.LearningRate(1, 3, 4), 0.08875, 1e-16);
  EXPECT_EQ(s.LearningRate(2, 0, 4), 0.1);

  p.kind = "step";
  p.milestones = {1};
  EXPECT_NEAR(LrSchedule(p).LearningRate(1, 2, 4), 0.00775, 1e-16);

  p.kind = "cosine";
  p.epochs = 4;
  EXPECT_NEAR(LrSchedule(p).LearningRate(0, 2, 4),
              0.1 * (1 + std::cos(std::numbers::pi / 8)) / 2 * (0.1 + 0.9 * 0.25), 1e-16);

  // A fractional warm-up of half an epoch; start factor 1 is no warm-up.
  p = Kind("constant");
  p.warmup_epochs = 0.5;
  p.warmup_start_factor = 0.5;
  EXPECT_NEAR(LrSchedule(p).LearningRate(0, 1, 4), 0.1 * (0.5 + 0.5 * 0.5), 1e-16);
  EXPECT_EQ(LrSchedule(p).LearningRate(0, 2, 4), 0.1);
  p.warmup_start_factor = 1;
  EXPECT_EQ(LrSchedule(p).LearningRate(0, 0, 4), 0.1);
}

TEST(LrScheduleTest, ValidateNamesTheKey) {
  const std::string where = "train.json: lr_schedule";
  auto error = [&](const LrScheduleParams& p) { return InputErrorOf([&] { p.Validate(where); }); };

  std::string m = error(Kind("linear"));
  EXPECT_TRUE(HasPart(m, "train.json: lr_schedule.kind: \"linear\""));
  EXPECT_TRUE(HasPart(m, "\"step\", \"cosine\", \"constant\""));

  LrScheduleParams p = Kind("step");
  for (double lr : {0.0, -0.1, std::nan("")}) {
    p.base_lr = lr;
    EXPECT_TRUE(HasPart(error(p), "lr_schedule.base_lr")) << lr;
  }
  p = Kind("step");
  p.milestones = {3, 3};
  m = error(p);
  EXPECT_TRUE(HasPart(m, "lr_schedule.milestones[1]: 3 is not above lr_schedule.milestones[0] = 3"));
  p.milestones = {5, 2};
  EXPECT_TRUE(HasPart(error(p), "strictly increasing"));
  p.milestones = {1.5};
  EXPECT_TRUE(HasPart(error(p), "milestones[0]: 1.5 is not a whole number"));
  p.milestones = {-1};
  EXPECT_TRUE(HasPart(error(p), "milestones[0]: -1 is out of range"));
  p.milestones = {};
  p.gamma = 0;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.gamma: 0 is out of range; allowed (0, 1]"));
  p.gamma = 1.5;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.gamma: 1.5"));

  p = Kind("cosine");
  m = error(p);  // epochs = 0
  EXPECT_TRUE(HasPart(m, "lr_schedule.epochs: 0"));
  EXPECT_TRUE(HasPart(m, "cosine"));
  p.epochs = 10;
  p.min_lr = 0.2;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.min_lr: 0.2 is above lr_schedule.base_lr = 0.1"));
  p.min_lr = -0.001;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.min_lr: -0.001"));

  p = Kind("constant");
  p.epochs = -1;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.epochs: -1"));
  p.epochs = 0;
  p.warmup_epochs = -1;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.warmup_epochs: -1"));
  p.warmup_epochs = 1;
  p.warmup_start_factor = 0;
  EXPECT_TRUE(HasPart(error(p), "lr_schedule.warmup_start_factor: 0 is out of range; allowed (0, 1]"));

  EXPECT_NO_THROW(LrScheduleParams().Validate(where));
  EXPECT_THROW(LrSchedule(Kind("exp")), InputError);
  EXPECT_TRUE(HasPart(InputErrorOf([] { LrSchedule(Kind("exp"), "cfg.json: schedule"); }), "cfg.json: schedule.kind"));
}

TEST(LrScheduleTest, BadProgressThrows) {
  const LrSchedule s(Kind("constant"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { s.LearningRate(-1, 0, 4); }), "epoch -1"));
  EXPECT_THROW(s.LearningRate(0, 4, 4), std::invalid_argument);
  EXPECT_THROW(s.LearningRate(0, -1, 4), std::invalid_argument);
  EXPECT_THROW(s.LearningRate(0, 0, 0), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
