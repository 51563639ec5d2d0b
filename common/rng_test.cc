// Rng: reproducibility, stream independence, and distribution checks. The distribution tests are
// statistical: fixed seeds, bounds of k standard errors stated beside each.
#include "common/rng.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace cimsim {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    differs |= x != c.NextU64();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, DeriveIsPureAndDistinct) {
  const Rng root(7);
  Rng d1 = root.Derive(3), d2 = root.Derive(3), d3 = root.Derive(4);
  Rng copy = root;
  EXPECT_EQ(copy.NextU64(), Rng(7).NextU64());  // Derive did not advance root
  const uint64_t x = d1.NextU64();
  EXPECT_EQ(x, d2.NextU64());
  EXPECT_NE(x, d3.NextU64());
  EXPECT_NE(root.Derive(1).Derive(2).NextU64(), root.Derive(2).Derive(1).NextU64());
}

TEST(Rng, UniformMeanAndVarianceStatistical) {
  Rng rng(1);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Statistical bound: 5 standard errors; sd(U) = 1/sqrt(12), sd of the sample variance ≈ 0.0745/sqrt(n).
  EXPECT_NEAR(mean, 0.5, 5 * std::sqrt(1.0 / 12 / n));
  EXPECT_NEAR(var, 1.0 / 12, 5 * 0.0745 / std::sqrt(n));
}

TEST(Rng, NormalMeanAndVarianceStatistical) {
  Rng rng(2);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.Normal();
    sum += z;
    sum2 += z * z;
  }
  const double mean = sum / n, var = sum2 / n - mean * mean;
  // Statistical bound: 5 standard errors (sd of mean 1/sqrt(n), of variance sqrt(2/n)).
  EXPECT_NEAR(mean, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(var, 1.0, 5 * std::sqrt(2.0 / n));
}

TEST(Rng, BelowIsUniformStatistical) {
  Rng rng(3);
  const int k = 7, n = 70000;
  std::vector<int> counts(k, 0);
  for (int i = 0; i < n; ++i) {
    const uint64_t v = rng.Below(k);
    ASSERT_LT(v, static_cast<uint64_t>(k));
    ++counts[v];
  }
  // Statistical bound: each count within 5 binomial standard deviations of n/k.
  const double p = 1.0 / k, sd = std::sqrt(n * p * (1 - p));
  for (int c : counts) EXPECT_NEAR(c, n * p, 5 * sd);
  EXPECT_EQ(rng.Below(1), 0u);
}

}  // namespace
}  // namespace cimsim
