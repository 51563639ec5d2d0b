// BoxMullerBlock (fast, vectorized) against BoxMullerBlockReference (std::log/cos/sin): hand-worked
// words, edge words at every reduction boundary, millions of seeded words, and independence of the
// blocking. The accuracy bound is the contract in box_muller.h: 1e−13 · max(1, |reference|).
#include "common/box_muller.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

// Word whose top 53 bits are j (u1 = (j + 1)·2^−53, u2 = j·2^−53); `low` fills the 11 ignored bits.
uint64_t Word(uint64_t j, uint64_t low = 0) { return (j << 11) | (low & 0x7FF); }

constexpr uint64_t kTwo53 = uint64_t{1} << 53;

struct Pair {
  double c, s;
};

Pair Fast(uint64_t w0, uint64_t w1) {
  const uint64_t bits[2] = {w0, w1};
  double out[2];
  BoxMullerBlock(bits, out, 1);
  return {out[0], out[1]};
}

double Error(double fast, double reference) {
  return std::fabs(fast - reference) / std::max(1.0, std::fabs(reference));
}

// Largest error of the fast block over `words` (pairs = words.size() / 2), plus the index.
std::pair<double, size_t> WorstError(const std::vector<uint64_t>& words) {
  std::vector<double> fast(words.size()), reference(words.size());
  BoxMullerBlock(words.data(), fast.data(), static_cast<int64_t>(words.size() / 2));
  BoxMullerBlockReference(words.data(), reference.data(), static_cast<int64_t>(words.size() / 2));
  std::pair<double, size_t> worst{0.0, 0};
  for (size_t i = 0; i < words.size(); ++i) {
    const double e = Error(fast[i], reference[i]);
    if (!(e <= worst.first)) worst = {e, i};  // NaN counts as worst
  }
  return worst;
}

TEST(BoxMuller, HandWorkedWords) {
  // u1 = 2^−53: r = sqrt(−2 ln 2^−53) = sqrt(106 ln 2) = 8.571674348652905.
  const double r_min_u1 = 8.571674348652905;
  const uint64_t u1_min = Word(0);
  const Pair p0 = Fast(u1_min, Word(0));                     // u2 = 0: angle 0
  EXPECT_NEAR(p0.c, r_min_u1, 1e-14 * r_min_u1);
  EXPECT_NEAR(p0.s, 0.0, 1e-15);
  const Pair p1 = Fast(u1_min, Word(kTwo53 / 4));            // u2 = 1/4: angle π/2
  EXPECT_NEAR(p1.c, 0.0, 1e-15);
  EXPECT_NEAR(p1.s, r_min_u1, 1e-14 * r_min_u1);
  const Pair p2 = Fast(u1_min, Word(kTwo53 / 2));            // u2 = 1/2: angle π
  EXPECT_NEAR(p2.c, -r_min_u1, 1e-14 * r_min_u1);
  EXPECT_NEAR(p2.s, 0.0, 1e-15);
  const Pair p3 = Fast(u1_min, Word(3 * kTwo53 / 4));        // u2 = 3/4: angle 3π/2
  EXPECT_NEAR(p3.c, 0.0, 1e-15);
  EXPECT_NEAR(p3.s, -r_min_u1, 1e-14 * r_min_u1);

  // u1 = 1/4: r = sqrt(4 ln 2) = 1.6651092223153954; u2 = 1/8: cos = sin = 1/√2.
  const Pair q = Fast(Word(kTwo53 / 4 - 1), Word(kTwo53 / 8));
  const double r_quarter = 1.6651092223153954;
  EXPECT_NEAR(q.c, r_quarter / std::sqrt(2.0), 1e-15);
  EXPECT_NEAR(q.s, r_quarter / std::sqrt(2.0), 1e-15);

  // u1 = 1 (all ones): r = 0, both outputs zero whatever u2.
  for (const uint64_t w1 : {Word(0), Word(12345), ~uint64_t{0}}) {
    const Pair z = Fast(~uint64_t{0}, w1);
    EXPECT_EQ(z.c, 0.0);
    EXPECT_EQ(z.s, 0.0);
  }

  // The 11 low bits of each word are ignored.
  const Pair a = Fast(Word(777, 0), Word(999, 0)), b = Fast(Word(777, 0x7FF), Word(999, 0x5A5));
  EXPECT_EQ(a.c, b.c);
  EXPECT_EQ(a.s, b.s);
}

TEST(BoxMuller, MatchesReferenceOnEdgeWords) {
  // u1: the extremes, every power of two 2^−k and its neighbours, and both sides of every
  // reduction boundary √½·2^−k (where the split u1 = 2^k·m switches k).
  std::vector<uint64_t> j1 = {0, 1, 2, 3, kTwo53 - 1, kTwo53 - 2, kTwo53 - 3, kTwo53 - 17};
  for (int k = 0; k <= 53; ++k) {
    const uint64_t p = kTwo53 >> k;  // (j + 1) = p gives u1 = 2^−k
    for (int64_t d = -2; d <= 2; ++d) j1.push_back(p - 1 + d);
    const auto boundary = static_cast<uint64_t>(std::ldexp(std::sqrt(0.5), 53 - k));
    for (int64_t d = -2; d <= 2; ++d) j1.push_back(boundary - 1 + d);
  }
  // u2: 0, near 1/4, 1/2, 3/4, 1 and the quadrant-rounding boundaries 1/8, 3/8, 5/8, 7/8.
  std::vector<uint64_t> j2 = {0, 1, 2, kTwo53 - 1, kTwo53 - 2, kTwo53 - 3};
  for (uint64_t eighth = 1; eighth < 8; ++eighth) {
    for (int64_t d = -3; d <= 3; ++d) j2.push_back(eighth * (kTwo53 / 8) + d);
  }
  std::vector<uint64_t> words;
  for (const uint64_t a : j1) {
    if (a >= kTwo53) continue;  // wrapped below 0 or past 2^53 − 1
    for (const uint64_t b : j2) {
      words.push_back(Word(a, b));
      words.push_back(Word(b, a));
    }
  }
  ASSERT_GT(words.size(), 20000u);
  const auto [worst, at] = WorstError(words);
  EXPECT_LE(worst, 1e-13) << "word pair " << words[at & ~size_t{1}] << ", " << words[at | 1];
}

TEST(BoxMuller, MatchesReferenceOnSeededWords) {
  Rng rng(20240601);
  std::vector<uint64_t> words(size_t{1} << 22);  // 2^21 pairs
  for (uint64_t& w : words) w = rng.NextU64();
  // A quarter of the u1 words forced close to 1 (top bits set), where ln u1 → 0 and r is small.
  for (size_t i = 0; i < words.size() / 4; i += 2) words[i] |= ~uint64_t{0} << (11 + (i / 2) % 53);
  const auto [worst, at] = WorstError(words);
  EXPECT_LE(worst, 1e-13) << "word pair " << words[at & ~size_t{1}] << ", " << words[at | 1];
}

TEST(BoxMuller, RadiusAndAngleAgreeWithLongDouble) {
  // An oracle independent of the reference's own rounding: c² + s² = −2 ln u1 and
  // atan2(s, c) = 2π·u2 (mod 2π), in long double.
  Rng rng(99);
  constexpr int kPairs = 20000;
  std::vector<uint64_t> words(2 * kPairs);
  for (uint64_t& w : words) w = rng.NextU64();
  std::vector<double> out(words.size());
  BoxMullerBlock(words.data(), out.data(), kPairs);
  const long double two_pi = 2 * std::numbers::pi_v<long double>;
  for (int i = 0; i < kPairs; ++i) {
    const long double u1 = static_cast<long double>((words[2 * i] >> 11) + 1) * 0x1.0p-53L;
    const long double u2 = static_cast<long double>(words[2 * i + 1] >> 11) * 0x1.0p-53L;
    const long double c = out[2 * i], s = out[2 * i + 1];
    const long double r2 = -2 * std::log(u1);
    ASSERT_NEAR(static_cast<double>(c * c + s * s), static_cast<double>(r2), 4e-15 * static_cast<double>(r2) + 1e-300);
    long double angle = std::atan2(s, c);
    if (angle < 0) angle += two_pi;
    long double diff = std::fabs(angle - two_pi * u2);
    diff = std::min(diff, two_pi - diff);
    // Angle error bound in absolute radians; meaningful only away from r ≈ 0.
    if (r2 > 1e-20L) {
      ASSERT_LT(static_cast<double>(diff), 1e-15) << "pair " << i;
    }
  }
}

TEST(BoxMuller, ResultDoesNotDependOnBlocking) {
  Rng rng(5);
  constexpr int kPairs = 1000;
  std::vector<uint64_t> words(2 * kPairs);
  for (uint64_t& w : words) w = rng.NextU64();
  std::vector<double> whole(2 * kPairs), pieces(2 * kPairs, -1.0);
  BoxMullerBlock(words.data(), whole.data(), kPairs);
  // Pieces of 1, 2, 3, … pairs: each output lands in vector bodies, vector remainders and scalar
  // remainders of the loop in turn.
  int64_t at = 0;
  for (int64_t len = 1; at < kPairs; ++len) {
    const int64_t take = std::min<int64_t>(len, kPairs - at);
    BoxMullerBlock(words.data() + 2 * at, pieces.data() + 2 * at, take);
    at += take;
  }
  for (int i = 0; i < 2 * kPairs; ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(whole[i]), std::bit_cast<uint64_t>(pieces[i])) << "output " << i;
  }
  // pairs = 0 writes nothing.
  double untouched = 42.0;
  BoxMullerBlock(words.data(), &untouched, 0);
  EXPECT_EQ(untouched, 42.0);
}

}  // namespace
}  // namespace cimsim
