// The streaming least-squares line against the two-pass reference and hand-worked cases.
#include "calib/linear_fit.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

TEST(LinearFit, HandWorked) {
  // ideal = 2·measured + 1 exactly: measured 0, 1, 2 → ideal 1, 3, 5.
  LinearFit fit;
  for (double m : {0.0, 1.0, 2.0}) fit.Add(m, 2 * m + 1);
  const LineFit f = fit.Result();
  EXPECT_DOUBLE_EQ(f.gain, 2.0);
  EXPECT_DOUBLE_EQ(f.offset, 1.0);
  EXPECT_NEAR(f.rmse_after, 0.0, 1e-12);
  // Before: errors 1, 2, 3 → sqrt((1 + 4 + 9)/3).
  EXPECT_NEAR(f.rmse_before, std::sqrt(14.0 / 3.0), 1e-12);
}

TEST(LinearFit, DegenerateInputs) {
  EXPECT_EQ(LinearFit().Result().gain, 1.0);
  LinearFit constant;
  for (double i : {4.0, 6.0}) constant.Add(3.0, i);  // measured constant: only the mean is corrected
  EXPECT_EQ(constant.Result().gain, 1.0);
  EXPECT_DOUBLE_EQ(constant.Result().offset, 2.0);
}

TEST(LinearFit, StreamingMatchesTwoPassReference) {
  Rng rng(4);
  std::vector<double> m, i;
  LinearFit fit;
  for (int k = 0; k < 5000; ++k) {
    const double x = 1e4 + 300 * rng.Normal();  // a large offset tests the centring
    const double y = 0.95 * x - 40 + 3 * rng.Normal();
    m.push_back(x);
    i.push_back(y);
    fit.Add(x, y);
  }
  const LineFit a = fit.Result(), b = FitLineReference(m, i);
  EXPECT_NEAR(a.gain, b.gain, 1e-9);
  EXPECT_NEAR(a.offset, b.offset, 1e-5);
  EXPECT_NEAR(a.rmse_before, b.rmse_before, 1e-9 * b.rmse_before);
  EXPECT_NEAR(a.rmse_after, b.rmse_after, 1e-6 * b.rmse_after);
  // Statistical (fixed seed): the fit recovers the line to within a few standard errors.
  EXPECT_NEAR(b.gain, 0.95, 5 * 3 / (300 * std::sqrt(5000.0)));
  EXPECT_NEAR(b.rmse_after, 3.0, 5 * 3.0 / std::sqrt(2 * 5000.0));
}

}  // namespace
}  // namespace cimsim
