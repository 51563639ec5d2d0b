// WeightAverage (train/weight_average.h): the first update copies the parameters, later ones are
// a ← d·a + (1 − d)·p rounded once from float64 (checked against that expression step by step),
// Swap exchanges parameters and averages (twice restores both), and bad use is refused.
#include "train/weight_average.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

void Randomize(Tensor& t, Rng& rng) {
  for (int64_t i = 0; i < t.size(); ++i) t[i] = static_cast<float>(rng.Normal());
}

TEST(WeightAverage, FollowsItsDefinitionStepByStep) {
  Tensor w({3, 4}), w_grad({3, 4}), b({5}), b_grad({5});
  const std::vector<ParamRef> params = {{"w", &w, &w_grad}, {"b", &b, &b_grad}};
  const double d = 0.9;
  WeightAverage average(params, d);
  EXPECT_FALSE(average.started());
  Rng rng(7);
  std::vector<std::vector<float>> expected(2);
  for (int step = 0; step < 5; ++step) {
    Randomize(w, rng);
    Randomize(b, rng);
    average.Update();
    for (size_t k = 0; k < params.size(); ++k) {
      const Tensor& p = *params[k].param;
      std::vector<float>& e = expected[k];
      if (step == 0) {
        e.assign(p.data(), p.data() + p.size());
      } else {
        for (int64_t i = 0; i < p.size(); ++i)
          e[static_cast<size_t>(i)] =
              static_cast<float>(d * static_cast<double>(e[static_cast<size_t>(i)]) + (1.0 - d) * static_cast<double>(p[i]));
      }
      const Tensor& a = average.averages()[k];
      for (int64_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i], e[static_cast<size_t>(i)]) << params[k].name << " step " << step;
    }
  }
  EXPECT_TRUE(average.started());
  // Step 5's average differs from the parameters (else Swap would prove nothing).
  ASSERT_NE(average.averages()[0][0], w[0]);
  const Tensor w_now = w, a_now = average.averages()[0];
  average.Swap();
  for (int64_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(w[i], a_now[i]);
    EXPECT_EQ(average.averages()[0][i], w_now[i]);
  }
  average.Swap();
  for (int64_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i], w_now[i]);
}

TEST(WeightAverage, RefusesABadDecayAndASwapBeforeAnyUpdate) {
  Tensor w({2}), g({2});
  for (const double d : {0.0, 1.0, -0.5, 1.5}) EXPECT_THROW(WeightAverage({{"w", &w, &g}}, d), std::invalid_argument) << d;
  WeightAverage average({{"w", &w, &g}}, 0.99);
  EXPECT_THROW(average.Swap(), std::logic_error);
}

}  // namespace
}  // namespace cimsim
