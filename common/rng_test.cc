// Rng: reproducibility, stream independence, and distribution checks. The distribution tests are
// statistical: fixed seeds, bounds of k standard errors stated beside each.
#include "common/rng.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "common/box_muller.h"

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

// Bitwise equality of doubles (so −0 ≠ +0 and NaN == NaN would both be caught).
uint64_t Bits(double x) { return std::bit_cast<uint64_t>(x); }

constexpr int kB = Rng::kNormalBlock;

TEST(Rng, NormalIsBoxMullerOfTheNextBlockOfWords) {
  Rng rng(11), words_rng(11);
  for (int block = 0; block < 3; ++block) {
    uint64_t words[kB];
    for (uint64_t& w : words) w = words_rng.NextU64();
    double expected[kB];
    BoxMullerBlock(words, expected, kB / 2);
    for (int i = 0; i < kB; ++i) ASSERT_EQ(Bits(rng.Normal()), Bits(expected[i]));
  }
  EXPECT_EQ(rng.NextU64(), words_rng.NextU64());  // exactly 3 blocks of words taken
}

TEST(Rng, NormalTakesWordsOnlyWhenItsBufferIsEmpty) {
  Rng rng(12), words(12);
  std::vector<uint64_t> w(3 * kB);
  for (uint64_t& x : w) x = words.NextU64();
  std::vector<double> first(kB), second(kB);
  BoxMullerBlock(w.data(), first.data(), kB / 2);            // words 0 .. B−1
  BoxMullerBlock(w.data() + kB + 2, second.data(), kB / 2);  // words B+2 .. 2B+1

  EXPECT_EQ(Bits(rng.Normal()), Bits(first[0]));  // takes words 0 .. B−1
  EXPECT_EQ(rng.NextU64(), w[kB]);                // the word after the block
  for (int i = 1; i < kB; ++i) EXPECT_EQ(Bits(rng.Normal()), Bits(first[static_cast<size_t>(i)]));
  EXPECT_EQ(rng.NextU64(), w[kB + 1]);            // B − 1 buffered normals took no words
  EXPECT_EQ(Bits(rng.Normal()), Bits(second[0]));  // buffer empty: the next B words
  EXPECT_EQ(rng.NextU64(), w[2 * kB + 2]);
}

TEST(Rng, FillNormalEqualsNormalSequence) {
  std::vector<int64_t> lengths;
  for (int64_t n = 0; n <= 70; ++n) lengths.push_back(n);
  for (int64_t n : {127, 128, 129, 511, 512, 513, 1000, 1023, 1024, 1025, 2047, 2048, 2049, 3 * 1024 + 5}) {
    lengths.push_back(n);
  }
  std::vector<double> out;
  for (const int pre : {0, 1, 7, kB - 1, kB, kB + 1}) {
    for (const int64_t n : lengths) {
      Rng a(1000 + pre), b(1000 + pre);
      for (int i = 0; i < pre; ++i) ASSERT_EQ(Bits(a.Normal()), Bits(b.Normal()));
      out.assign(static_cast<size_t>(n) + 1, 123.0);
      a.FillNormal(out.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        ASSERT_EQ(Bits(out[static_cast<size_t>(i)]), Bits(b.Normal())) << "pre " << pre << ", n " << n << ", i " << i;
      }
      EXPECT_EQ(out[static_cast<size_t>(n)], 123.0) << "wrote past n = " << n;
      // Same state and the same buffer afterwards.
      for (int i = 0; i < 20; ++i) ASSERT_EQ(Bits(a.Normal()), Bits(b.Normal())) << "pre " << pre << ", n " << n;
      ASSERT_EQ(a.NextU64(), b.NextU64()) << "pre " << pre << ", n " << n;
    }
  }
}

TEST(Rng, InterleavedCallsGiveTheSameNumbers) {
  // Generator a makes a scripted call sequence with FillNormal; b makes the same sequence with
  // Normal() one at a time. Every returned number must agree.
  Rng script(77), a(78), b(78);
  std::vector<double> out;
  for (int step = 0; step < 3000; ++step) {
    switch (script.Below(5)) {
      case 0:
        ASSERT_EQ(Bits(a.Normal()), Bits(b.Normal())) << "step " << step;
        break;
      case 1:
        ASSERT_EQ(Bits(a.Uniform()), Bits(b.Uniform())) << "step " << step;
        break;
      case 2:
        ASSERT_EQ(a.NextU64(), b.NextU64()) << "step " << step;
        break;
      case 3:
        ASSERT_EQ(a.Below(1000), b.Below(1000)) << "step " << step;
        break;
      default: {
        const auto n = static_cast<int64_t>(script.Below(script.Below(2) ? 40 : 700));
        out.resize(static_cast<size_t>(n));
        a.FillNormal(out.data(), n);
        for (const double z : out) ASSERT_EQ(Bits(z), Bits(b.Normal())) << "step " << step;
      }
    }
  }
}

TEST(Rng, CopiesCarryTheNormalBufferAndDeriveIgnoresIt) {
  Rng a(31);
  const Rng fresh = a;
  for (int i = 0; i < 5; ++i) a.Normal();
  Rng copy = a;
  for (int i = 0; i < 40; ++i) ASSERT_EQ(Bits(copy.Normal()), Bits(a.Normal()));
  EXPECT_EQ(copy.NextU64(), a.NextU64());
  // Derive depends on the key only: not on draws made or normals buffered.
  Rng d_after = a.Derive(9), d_fresh = fresh.Derive(9);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(Bits(d_after.Normal()), Bits(d_fresh.Normal()));
  EXPECT_EQ(d_after.NextU64(), d_fresh.NextU64());
}

TEST(Rng, FillNormalRejectsNegativeCount) {
  Rng rng(1);
  EXPECT_THROW(rng.FillNormal(nullptr, -1), std::invalid_argument);
  rng.FillNormal(nullptr, 0);  // n = 0: nothing to write, no words taken
  EXPECT_EQ(rng.NextU64(), Rng(1).NextU64());
}

// FillNormalRows equals FillNormal bit for bit on every needed row, whatever the mask (none, all,
// alternating, random, single rows), the row length (odd lengths split Box–Muller pairs across rows),
// the number of normals already buffered and the length; never writes past rows·L; and leaves the
// generator (state and buffer) exactly as FillNormal does.
TEST(Rng, FillNormalRowsEqualsFillNormalOnNeededRows) {
  Rng masks(77);
  std::vector<double> expected, out;
  std::vector<uint8_t> needed;
  for (const int pre : {0, 1, 7, kB - 1}) {
    for (const int64_t L : {1, 2, 3, 31, 32, 33, 64, 256, 1000}) {
      for (const int64_t rows : {0, 1, 2, 5, 40, 128}) {
        for (int pattern = 0; pattern < 5; ++pattern) {
          needed.assign(static_cast<size_t>(rows), 0);
          for (int64_t j = 0; j < rows; ++j) {
            const bool need = pattern == 0 ? false : pattern == 1 ? true : pattern == 2 ? j % 2 == 1
                              : pattern == 3 ? masks.Uniform() < 0.3 : j == rows / 2;
            needed[static_cast<size_t>(j)] = need ? 1 : 0;
          }
          const int64_t n = rows * L;
          Rng a(500 + pre), b(500 + pre);
          for (int i = 0; i < pre; ++i) ASSERT_EQ(Bits(a.Normal()), Bits(b.Normal()));
          expected.assign(static_cast<size_t>(n), 0.0);
          out.assign(static_cast<size_t>(n) + 1, 123.0);
          b.FillNormal(expected.data(), n);
          a.FillNormalRows(out.data(), rows, L, needed.data());
          for (int64_t j = 0; j < rows; ++j) {
            if (!needed[static_cast<size_t>(j)]) continue;
            for (int64_t i = 0; i < L; ++i) {
              const size_t at = static_cast<size_t>(j * L + i);
              ASSERT_EQ(Bits(out[at]), Bits(expected[at]))
                  << "pre " << pre << ", L " << L << ", rows " << rows << ", pattern " << pattern << ", at " << at;
            }
          }
          EXPECT_EQ(out[static_cast<size_t>(n)], 123.0) << "wrote past rows·L";
          for (int i = 0; i < 40; ++i) ASSERT_EQ(Bits(a.Normal()), Bits(b.Normal())) << "L " << L << ", rows " << rows;
          ASSERT_EQ(a.NextU64(), b.NextU64()) << "L " << L << ", rows " << rows;
        }
      }
    }
  }
}

TEST(Rng, FillNormalRowsRejectsNegativeSizes) {
  Rng rng(1);
  const uint8_t needed[1] = {1};
  EXPECT_THROW(rng.FillNormalRows(nullptr, -1, 4, needed), std::invalid_argument);
  EXPECT_THROW(rng.FillNormalRows(nullptr, 1, -4, needed), std::invalid_argument);
  rng.FillNormalRows(nullptr, 0, 4, needed);   // nothing to write, no words taken
  rng.FillNormalRows(nullptr, 3, 0, needed);
  EXPECT_EQ(rng.NextU64(), Rng(1).NextU64());
}

// Standard normal CDF.
double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

TEST(Rng, NormalMomentsTailsAndKolmogorovSmirnovStatistical) {
  Rng rng(20240602);
  const int n = 1 << 20;
  std::vector<double> z(n);
  rng.FillNormal(z.data(), n / 2);
  for (int i = n / 2; i < n; ++i) z[static_cast<size_t>(i)] = rng.Normal();  // both paths in the sample
  double sum = 0, sum2 = 0, sum4 = 0, pair_product = 0;
  int64_t beyond3 = 0;
  for (int i = 0; i < n; ++i) {
    const double x = z[static_cast<size_t>(i)];
    sum += x;
    sum2 += x * x;
    sum4 += x * x * x * x;
    beyond3 += std::fabs(x) > 3;
    if (i % 2 == 1) pair_product += x * z[static_cast<size_t>(i - 1)];
  }
  const double sn = std::sqrt(static_cast<double>(n));
  // Statistical bounds, 5 standard errors each: sd(z) = 1, sd(z²) = √2, sd(z⁴) = √(105 − 9) = √96,
  // sd of the tail indicator √(p(1 − p)) with p = P(|z| > 3) = 0.0026998, sd of z₀z₁ over the
  // n/2 Box–Muller pairs = 1 (the two outputs of a pair are independent).
  EXPECT_NEAR(sum / n, 0.0, 5 / sn);
  EXPECT_NEAR(sum2 / n, 1.0, 5 * std::sqrt(2.0) / sn);
  EXPECT_NEAR(sum4 / n, 3.0, 5 * std::sqrt(96.0) / sn);
  const double p3 = 0.0026997960632601913;
  EXPECT_NEAR(static_cast<double>(beyond3) / n, p3, 5 * std::sqrt(p3 * (1 - p3)) / sn);
  EXPECT_NEAR(pair_product / (n / 2), 0.0, 5 / std::sqrt(n / 2.0));

  // Kolmogorov–Smirnov: D = sup |F_n − Φ|. Statistical bound: √n·D < 1.95, which the Kolmogorov
  // distribution exceeds with probability 0.001.
  std::sort(z.begin(), z.end());
  double d = 0;
  for (int i = 0; i < n; ++i) {
    const double f = Phi(z[static_cast<size_t>(i)]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  EXPECT_LT(sn * d, 1.95);
  EXPECT_GT(sn * d, 0.2);  // far below: the sample would be suspiciously regular (P < 1e−12)
}

}  // namespace
}  // namespace cimsim
