// IntGemm (the compiled SIMD path: VNNI, AVX-512BW, AVX2 or scalar) against IntGemmReference, exact,
// over a grid of shapes that hits every row-tile and column-block remainder; hand-worked products;
// extreme codes up to the int32 bound; columns beyond n left untouched; weight packing by hand.
#include "sim/int_gemm.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "common/rng.h"
#include "sim/gemm_test_support.h"

namespace cimsim {
namespace {

using gemm_test::CheckAgainstReference;
using gemm_test::Int16Path;
using gemm_test::kPad;
using gemm_test::kSentinel;
using gemm_test::RandomCodes;
using gemm_test::Shape;

TEST(IntGemmReference, HandWorked) {
  // w = [[1, 2, 3], [-1, 0, 4]], x columns (1, 1, 1), (2, -3, 5):
  // y = [[1+2+3, 2−6+15], [−1+0+4, −2+0+20]] = [[6, 11], [3, 18]].
  const std::vector<int16_t> w = {1, 2, 3, -1, 0, 4};
  const std::vector<int16_t> cols = {1, 1, 1, 2, -3, 5};
  PairedCodes x;
  FillPairedCodes(cols.data(), 3, 2, x);
  std::vector<int32_t> y(4, kSentinel), fast(4, kSentinel);
  IntGemmReference(w.data(), 2, 3, x, y.data(), 2);
  EXPECT_EQ(y, (std::vector<int32_t>{6, 11, 3, 18}));
  IntGemm(PackedWeights(w.data(), 2, 3), x, fast.data(), 2);
  EXPECT_EQ(fast, y);
}

TEST(PackedWeights, PairsByHand) {
  // Row 0 = (1, −2, 3): pair 0 = 0x0001 | 0xFFFE << 16, pair 1 = 3 (high half is the odd-K pad).
  std::vector<int16_t> w(9 * 3, 0);
  w[0] = 1;
  w[1] = -2;
  w[2] = 3;
  w[3] = 9;          // row 1, right after row 0's odd last element: must not leak into its pad
  w[8 * 3 + 1] = 5;  // row 8 starts the second row block
  const PackedWeights p(w.data(), 9, 3);
  EXPECT_EQ(p.N(), 9);
  EXPECT_EQ(p.K(), 3);
  EXPECT_EQ(p.pairs(), 2);
  EXPECT_EQ(static_cast<uint32_t>(p.Pair(0, 0)), 0xFFFE0001u);
  EXPECT_EQ(p.Pair(0, 1), 3);
  EXPECT_EQ(p.Pair(1, 0), 9);
  EXPECT_EQ(p.Pair(8, 0), 5 << 16);
  // Layout: ((o / 8)·Kp + kp)·8 + o % 8.
  EXPECT_EQ(p.data()[(1 * 2 + 0) * 8 + 0], 5 << 16);
  EXPECT_EQ(p.data()[(0 * 2 + 1) * 8 + 0], 3);
  EXPECT_THROW(PackedWeights(w.data(), -1, 3), std::invalid_argument);
}

TEST(PackedWeights, ReshapeZeroFillsAndSetPairFillsInPlace) {
  Rng rng(17);
  const std::vector<int16_t> w = RandomCodes(11 * 7, -300, 300, rng);
  PackedWeights filled;
  filled.Reshape(20, 9);                          // a larger shape first: its pairs must not leak
  for (int64_t o = 0; o < 20; ++o) filled.SetPair(o, 0, -1);
  filled.Reshape(11, 7);
  EXPECT_EQ(filled.N(), 11);
  EXPECT_EQ(filled.K(), 7);
  for (int64_t o = 0; o < 11; ++o)
    for (int64_t kp = 0; kp < filled.pairs(); ++kp) EXPECT_EQ(filled.Pair(o, kp), 0);
  for (int64_t o = 0; o < 11; ++o)
    for (int64_t kp = 0; kp < filled.pairs(); ++kp) {
      const int16_t hi = 2 * kp + 1 < 7 ? w[static_cast<size_t>(o * 7 + 2 * kp + 1)] : int16_t{0};
      filled.SetPair(o, kp, PackedWeights::PackPair(w[static_cast<size_t>(o * 7 + 2 * kp)], hi));
    }
  const PackedWeights built(w.data(), 11, 7);
  const PairedCodes x = [&] {
    PairedCodes c(7, 40);
    for (int64_t k = 0; k < 7; ++k)
      for (int64_t j = 0; j < 40; ++j) c.Set(k, j, static_cast<int16_t>(static_cast<int>(rng.Below(512)) - 256));
    return c;
  }();
  std::vector<int32_t> a(11 * 40), b(11 * 40);
  IntGemm(filled, x, a.data(), 40);
  IntGemm(built, x, b.data(), 40);
  EXPECT_EQ(a, b);
  EXPECT_EQ(static_cast<uint32_t>(PackedWeights::PackPair(-1, 2)), 0x0002FFFFu);
  EXPECT_THROW(filled.Reshape(3, -1), std::invalid_argument);
}

class IntGemmGrid : public ::testing::TestWithParam<Shape> {};

TEST_P(IntGemmGrid, MatchesReference) {
  const auto [N, K, n] = GetParam();
  Rng rng = Rng(2024).Derive(static_cast<uint64_t>(N * 1000003 + K * 1009 + n));
  const std::vector<int16_t> w = RandomCodes(N * K, -127, 127, rng);
  const std::vector<int16_t> cols = RandomCodes(K * n, -127, 255, rng);
  CheckAgainstReference<Int16Path>(w, N, K, cols, n);
}

INSTANTIATE_TEST_SUITE_P(Shapes, IntGemmGrid,
                         ::testing::Combine(::testing::Values(1, 5, 6, 7, 16, 17, 64),
                                            ::testing::Values(1, 2, 3, 27, 144, 576, 577),
                                            ::testing::Values(1, 15, 16, 17, 31, 32, 33, 64, 1000)),
                         gemm_test::ShapeName);

// Every weight and input at the extreme of its range, at the largest grid depth: the sums are
// K·(±127)·255 and K·(±127)·(−127), worked by hand.
TEST(IntGemm, ExtremeCodesAtLargestK) {
  const int64_t N = 17, K = 577, n = 33;
  std::vector<int16_t> w(static_cast<size_t>(N * K));
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(o * K + k)] = o % 2 == 0 ? 127 : -127;
  }
  std::vector<int16_t> cols(static_cast<size_t>(K * n));
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < K; ++k) cols[static_cast<size_t>(j * K + k)] = j % 2 == 0 ? 255 : -127;
  }
  const std::vector<int32_t> y = CheckAgainstReference<Int16Path>(w, N, K, cols, n);
  const int64_t ldy = n + kPad;
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      const int32_t sign = o % 2 == 0 ? 1 : -1;
      const int32_t expected = j % 2 == 0 ? sign * 18686145 : sign * -9306433;  // 577·127·255, 577·127·127
      ASSERT_EQ(y[static_cast<size_t>(o * ldy + j)], expected) << o << ", " << j;
    }
  }
}

// The largest depth the documented bound allows for 8-bit weights and 8-bit unsigned activations:
// K = 66,311, K·127·255 = 2,147,481,735 < 2^31 = 2,147,483,648. No lane may wrap.
TEST(IntGemm, ExactUpToTheInt32Bound) {
  const int64_t N = 9, K = 66311, n = 17;
  std::vector<int16_t> w(static_cast<size_t>(N * K), 127);
  for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(8 * K + k)] = -127;  // row 8: the negative extreme
  std::vector<int16_t> cols(static_cast<size_t>(K * n), 255);
  PairedCodes x;
  FillPairedCodes(cols.data(), K, n, x);
  std::vector<int32_t> y(static_cast<size_t>(N * n));
  IntGemm(PackedWeights(w.data(), N, K), x, y.data(), n);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(y[static_cast<size_t>(o * n + j)], o == 8 ? -2147481735 : 2147481735) << o << ", " << j;
    }
  }
}

TEST(IntGemm, LdyEqualToNAndExactBuffer) { gemm_test::CheckLdyEqualToNAndExactBuffer<Int16Path>(-127, 127); }

TEST(IntGemm, EmptyShapes) { gemm_test::CheckEmptyShapes<Int16Path>(); }

TEST(IntGemm, RejectsMismatchedShapes) { gemm_test::CheckRejectsMismatchedShapes<Int16Path>(); }

}  // namespace
}  // namespace cimsim
