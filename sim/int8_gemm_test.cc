// Int8Gemm (the compiled path: AVX-512 VNNI `vpdpbusd` or scalar) against Int8GemmReference and
// against the int16 IntGemm, bit-exact, over a grid of shapes that hits every row-tile and
// column-block remainder and every K % 4; extreme codes (0/255 × −128/127) worked by hand; exact
// at the documented int32 bound K = 65,793; columns beyond n left untouched; weight packing by hand.
#include "sim/int8_gemm.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"
#include "sim/gemm_test_support.h"

namespace cimsim {
namespace {

using gemm_test::Int16Path;
using gemm_test::Int8Path;
using gemm_test::kPad;
using gemm_test::kSentinel;
using gemm_test::RandomCodes;
using gemm_test::Shape;

// Int8Gemm and Int8GemmReference, and IntGemm (int16, on the same codes), on w [N, K] and cols
// (vector-major [K, n]) into sentinel-filled buffers with ldy = n + kPad; all three must agree
// everywhere and leave the pad columns alone. Returns Int8Gemm's output.
std::vector<int32_t> CheckAgainstReference(const std::vector<int16_t>& w, int64_t N, int64_t K,
                                           const std::vector<int16_t>& cols, int64_t n) {
  return gemm_test::CheckAgainstReference<Int8Path, Int16Path>(w, N, K, cols, n);
}

TEST(Int8GemmReference, HandWorked) {
  // w = [[1, −2, 3], [−128, 0, 127]], x columns (1, 1, 1), (255, 0, 2):
  // y = [[1−2+3, 255+0+6], [−128+0+127, −32640+0+254]] = [[2, 261], [−1, −32386]].
  const std::vector<int16_t> w = {1, -2, 3, -128, 0, 127};
  const std::vector<int16_t> cols = {1, 1, 1, 255, 0, 2};
  QuadCodes x;
  FillQuadCodes(InputCodes::VectorMajor(cols.data(), 3, 2), x);
  std::vector<int32_t> y(4, kSentinel), fast(4, kSentinel);
  Int8GemmReference(w.data(), 2, 3, x, y.data(), 2);
  EXPECT_EQ(y, (std::vector<int32_t>{2, 261, -1, -32386}));
  Int8Gemm(PackedWeights8(w.data(), 2, 3), x, fast.data(), 2);
  EXPECT_EQ(fast, y);
}

TEST(PackedWeights8, QuadsByHand) {
  // Row 0 = (1, −2, 3, −128, 127): quad 0 = bytes 01 FE 03 80, quad 1 = 7F (the rest is K padding).
  std::vector<int16_t> w(9 * 5, 0);
  const int16_t row0[5] = {1, -2, 3, -128, 127};
  for (int k = 0; k < 5; ++k) w[static_cast<size_t>(k)] = row0[k];
  w[5] = 9;          // row 1, right after row 0's partial last quad: must not leak into its padding
  w[8 * 5 + 2] = 5;  // row 8 starts the second row block
  const PackedWeights8 p(w.data(), 9, 5);
  EXPECT_EQ(p.N(), 9);
  EXPECT_EQ(p.K(), 5);
  EXPECT_EQ(p.quads(), 2);
  EXPECT_EQ(static_cast<uint32_t>(p.Quad(0, 0)), 0x8003FE01u);
  EXPECT_EQ(p.Quad(0, 1), 0x7F);
  EXPECT_EQ(p.Quad(1, 0), 9);
  EXPECT_EQ(p.Quad(8, 0), 5 << 16);
  // Layout: ((o / 8)·Kq + kq)·8 + o % 8.
  EXPECT_EQ(p.data()[(1 * 2 + 0) * 8 + 0], 5 << 16);
  EXPECT_EQ(p.data()[(0 * 2 + 1) * 8 + 0], 0x7F);
  EXPECT_EQ(static_cast<uint32_t>(PackedWeights8::PackQuad(-1, 2, 0, -128)), 0x800002FFu);
}

TEST(PackedWeights8, RejectsCodesOutsideS8) {
  std::vector<int16_t> w = {0, 1, 2, 128};
  try {
    PackedWeights8(w.data(), 2, 2);
    FAIL() << "128 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("w[1, 1] = 128"), std::string::npos) << e.what();
  }
  w[3] = -129;
  EXPECT_THROW(PackedWeights8(w.data(), 2, 2), std::invalid_argument);
  w[3] = -128;
  EXPECT_NO_THROW(PackedWeights8(w.data(), 2, 2));
  EXPECT_THROW(PackedWeights8(w.data(), -1, 2), std::invalid_argument);
}

class Int8GemmGrid : public ::testing::TestWithParam<Shape> {};

TEST_P(Int8GemmGrid, MatchesReference) {
  const auto [N, K, n] = GetParam();
  Rng rng = Rng(2025).Derive(static_cast<uint64_t>(N * 1000003 + K * 1009 + n));
  const std::vector<int16_t> w = RandomCodes(N * K, -128, 127, rng);
  const std::vector<int16_t> cols = RandomCodes(K * n, 0, 255, rng);
  CheckAgainstReference(w, N, K, cols, n);
}

// N: every tile-row remainder (1..8) and a second row block; K: every K % 4, odd K, one quad,
// ResNet-20's depths (27, 144, 288, 576) and 577; n: every column-vector and block remainder.
INSTANTIATE_TEST_SUITE_P(Shapes, Int8GemmGrid,
                         ::testing::Combine(::testing::Values(1, 3, 7, 8, 9, 17, 64),
                                            ::testing::Values(1, 2, 3, 4, 5, 6, 7, 27, 144, 577),
                                            ::testing::Values(1, 15, 16, 17, 33, 48, 49, 64, 65, 80, 1000)),
                         gemm_test::ShapeName);

// Narrow codes (W4A4: |w| <= 7, x in [0, 15]) take the same path and must agree as well.
TEST(Int8Gemm, FourBitCodes) {
  Rng rng(44);
  const int64_t N = 32, K = 288, n = 256;
  CheckAgainstReference(RandomCodes(N * K, -7, 7, rng), N, K, RandomCodes(K * n, 0, 15, rng), n);
}

// Every weight and input at an extreme of its range: each y is K·w·x, worked by hand.
TEST(Int8Gemm, ExtremeCodes) {
  const int64_t N = 17, K = 579, n = 35;
  const int16_t w_of[4] = {127, -128, 0, -1}, x_of[3] = {255, 0, 1};
  std::vector<int16_t> w(static_cast<size_t>(N * K)), cols(static_cast<size_t>(K * n));
  for (int64_t o = 0; o < N; ++o)
    for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(o * K + k)] = w_of[o % 4];
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < K; ++k) cols[static_cast<size_t>(j * K + k)] = x_of[j % 3];
  const std::vector<int32_t> y = CheckAgainstReference(w, N, K, cols, n);
  const int64_t ldy = n + kPad;
  for (int64_t o = 0; o < N; ++o)
    for (int64_t j = 0; j < n; ++j)
      ASSERT_EQ(y[static_cast<size_t>(o * ldy + j)], int32_t{579} * w_of[o % 4] * x_of[j % 3]) << o << ", " << j;
  // 579·127·255 = 18,750,915 and 579·(−128)·255 = −18,898,560: the extremes of this case.
  EXPECT_EQ(y[0], 18750915);
  EXPECT_EQ(y[static_cast<size_t>(ldy)], -18898560);
}

// The largest depth the bound in int8_gemm.h allows for the widest codes: K = 65,793,
// K·128·255 = 2,147,483,520 < 2^31 = 2,147,483,648 (K + 1 would not be). No lane may wrap, neither
// for w = −128 nor for w = 127 (K·127·255 = 2,130,706,305).
TEST(Int8Gemm, ExactUpToTheInt32Bound) {
  const int64_t N = 9, K = 65793, n = 17;
  std::vector<int16_t> w(static_cast<size_t>(N * K), -128);
  for (int64_t k = 0; k < K; ++k) w[static_cast<size_t>(8 * K + k)] = 127;  // row 8 (second row block)
  const std::vector<int16_t> cols(static_cast<size_t>(K * n), 255);
  QuadCodes x;
  FillQuadCodes(InputCodes::VectorMajor(cols.data(), K, n), x);
  std::vector<int32_t> y(static_cast<size_t>(N * n)), ref(y.size());
  Int8Gemm(PackedWeights8(w.data(), N, K), x, y.data(), n);
  Int8GemmReference(w.data(), N, K, x, ref.data(), n);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(y[static_cast<size_t>(o * n + j)], o == 8 ? 2130706305 : -2147483520) << o << ", " << j;
    }
  }
  EXPECT_EQ(y, ref);
}

TEST(Int8Gemm, LdyEqualToNAndExactBuffer) { gemm_test::CheckLdyEqualToNAndExactBuffer<Int8Path>(-128, 127); }

TEST(Int8Gemm, EmptyShapes) { gemm_test::CheckEmptyShapes<Int8Path>(); }

TEST(Int8Gemm, RejectsMismatchedShapes) { gemm_test::CheckRejectsMismatchedShapes<Int8Path>(); }

// Int8GemmWindows: k-step g reads the uint32 run at x0 + offsets[g] (overlapping, out of order and
// repeated offsets, as a direct convolution's shifted windows are); fast == oracle exactly, for tile
// shapes with and without row and column tails, and columns n..ldy−1 untouched.
TEST(Int8GemmWindows, MatchesItsReferenceOnShiftedOverlappingWindows) {
  Rng rng(41);
  for (int64_t N : {1, 7, 8, 16, 19}) {
    for (int64_t n : {1, 15, 16, 17, 48, 64, 100}) {
      for (int64_t G : {1, 3, 9, 36}) {
        SCOPED_TRACE(::testing::Message() << "N " << N << ", n " << n << ", G " << G);
        const int64_t span = 400;
        std::vector<uint32_t> x(static_cast<size_t>(span + n + 16));
        for (uint32_t& v : x) v = static_cast<uint32_t>(rng.NextU64());
        std::vector<int64_t> offsets(static_cast<size_t>(G));
        for (int64_t& o : offsets) o = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(span)));
        if (G > 1) offsets[1] = offsets[0];  // a repeated window
        const int64_t K = 4 * G - (G % 2);   // last quad partly unused when G is odd
        std::vector<int16_t> w(static_cast<size_t>(N * K));
        for (int16_t& v : w) v = static_cast<int16_t>(static_cast<int64_t>(rng.Below(256)) - 128);
        const int64_t ldy = n + 3;
        std::vector<int32_t> got(static_cast<size_t>(N * ldy), 77), want(static_cast<size_t>(N * ldy), 77);
        Int8GemmWindows(PackedWeights8(w.data(), N, K), x.data(), offsets.data(), n, got.data(), ldy);
        Int8GemmWindowsReference(w.data(), N, K, x.data(), offsets.data(), n, want.data(), ldy);
        ASSERT_EQ(got, want);
      }
    }
  }
}

TEST(Int8GemmWindows, RejectsLdyBelowN) {
  const std::vector<int16_t> w(4, 1);
  const std::vector<uint32_t> x(32, 0);
  const std::vector<int64_t> offsets = {0};
  std::vector<int32_t> y(8);
  EXPECT_THROW(Int8GemmWindows(PackedWeights8(w.data(), 1, 4), x.data(), offsets.data(), 8, y.data(), 7),
               std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
