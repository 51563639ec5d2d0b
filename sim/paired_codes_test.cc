// PairedCodes: the k-pair interleaved layout checked element by element on hand-worked cases, zero
// padding, capacity reuse, and FillPairedCodes from a column-major array.
#include "sim/paired_codes.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

namespace cimsim {
namespace {

TEST(PairedCodes, StrideRoundsColumnsUpTo32AndRowsToPairs) {
  PairedCodes x;
  EXPECT_EQ(x.n_stride(), 0);
  x.Resize(0, 0);
  EXPECT_EQ(x.pairs(), 0);
  EXPECT_EQ(x.size(), 0);
  x.Resize(1, 1);
  EXPECT_EQ(x.n_stride(), 32);
  EXPECT_EQ(x.pairs(), 1);
  x.Resize(4, 32);
  EXPECT_EQ(x.n_stride(), 32);
  EXPECT_EQ(x.pairs(), 2);
  x.Resize(5, 33);
  EXPECT_EQ(x.K(), 5);
  EXPECT_EQ(x.n(), 33);
  EXPECT_EQ(x.n_stride(), 64);
  EXPECT_EQ(x.pairs(), 3);
  EXPECT_EQ(x.size(), 3 * 2 * 64);
  EXPECT_THROW(x.Resize(-1, 2), std::invalid_argument);
  EXPECT_THROW(x.Resize(2, -1), std::invalid_argument);
}

TEST(PairedCodes, LayoutByHand) {
  // K = 3, n = 2: n_stride = 32, two row pairs of 64 int16 each.
  PairedCodes x(3, 2);
  x.Set(0, 0, 1);
  x.Set(1, 0, 2);
  x.Set(2, 0, 3);
  x.Set(0, 1, 4);
  x.Set(1, 1, -5);
  x.Set(2, 1, 6);
  std::vector<int16_t> expected(128, 0);
  expected[0] = 1;    // (k=0, j=0): ((0·32 + 0)·2 + 0)
  expected[1] = 2;    // (1, 0)
  expected[2] = 4;    // (0, 1): ((0·32 + 1)·2 + 0)
  expected[3] = -5;   // (1, 1)
  expected[64] = 3;   // (2, 0): ((1·32 + 0)·2 + 0)
  expected[66] = 6;   // (2, 1): ((1·32 + 1)·2 + 0); 65 and 67 are the zero pad of odd K
  ASSERT_EQ(x.size(), 128);
  for (int i = 0; i < 128; ++i) EXPECT_EQ(x.data()[i], expected[static_cast<size_t>(i)]) << "element " << i;
  EXPECT_EQ(x.PairRow(1), x.data() + 64);
  EXPECT_EQ(x.PairRow(1)[2], 6);
  EXPECT_EQ(x.Get(1, 1), -5);
  EXPECT_EQ(x.Get(2, 1), 6);
}

TEST(PairedCodes, ResizeZeroFillsAndKeepsCapacity) {
  PairedCodes x(8, 100);
  for (int64_t i = 0; i < x.size(); ++i) x.data()[i] = 7;
  const int16_t* before = x.data();
  x.Resize(3, 40);
  EXPECT_EQ(x.data(), before);  // smaller: no reallocation
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], 0) << "element " << i;
  x.Resize(8, 100);
  EXPECT_EQ(x.data(), before);  // back to the old size: still no reallocation
  for (int64_t i = 0; i < x.size(); ++i) ASSERT_EQ(x.data()[i], 0) << "element " << i;
}

TEST(PairedCodes, FillFromColumnMajor) {
  const int64_t K = 5, n = 3;
  std::vector<int16_t> cols(K * n);
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < K; ++k) cols[static_cast<size_t>(j * K + k)] = static_cast<int16_t>(10 * j + k - 7);
  }
  PairedCodes x(2, 90);
  x.data()[5] = 99;  // stale content must not survive
  FillPairedCodes(cols.data(), K, n, x);
  EXPECT_EQ(x.K(), K);
  EXPECT_EQ(x.n(), n);
  int64_t nonzero = 0;
  for (int64_t i = 0; i < x.size(); ++i) nonzero += x.data()[i] != 0;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t k = 0; k < K; ++k) EXPECT_EQ(x.Get(k, j), 10 * j + k - 7) << k << ", " << j;
  }
  // The codes 10j + k − 7 are all nonzero here, and every other element (padding) is zero.
  EXPECT_EQ(nonzero, K * n);
  EXPECT_EQ(x.PairRow(2)[2 * 1 + 0], 10 * 1 + 4 - 7);  // (k=4, j=1)
  EXPECT_EQ(x.PairRow(2)[2 * 1 + 1], 0);               // pad of odd K
}

// A reused buffer full of stale codes: every view layout fills the values and zeroes all padding.
TEST(PairedCodesTest, FillFromAnyViewZeroesThePaddingOfAReusedBuffer) {
  const int64_t K = 7, n = 45;
  std::vector<int16_t> vec(static_cast<size_t>(K * n)), rows(static_cast<size_t>(K * (n + 3)), -5);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t k = 0; k < K; ++k) {
      const auto v = static_cast<int16_t>(3 * j - 11 * k + 1);
      vec[static_cast<size_t>(j * K + k)] = v;
      rows[static_cast<size_t>(k * (n + 3) + j)] = v;
    }
  for (const InputCodes& view : {InputCodes::VectorMajor(vec.data(), K, n), InputCodes::RowMajor(rows.data(), K, n, n + 3)}) {
    PairedCodes x(12, 100);
    std::fill(x.data(), x.data() + x.size(), int16_t{99});
    FillPairedCodes(view, x);
    ASSERT_EQ(x.K(), K);
    ASSERT_EQ(x.n(), n);
    for (int64_t kp = 0; kp < x.pairs(); ++kp)
      for (int64_t j = 0; j < x.n_stride(); ++j)
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t k = 2 * kp + h;
          const int16_t expected = (k < K && j < n) ? static_cast<int16_t>(3 * j - 11 * k + 1) : int16_t{0};
          ASSERT_EQ(x.PairRow(kp)[2 * j + h], expected) << "k " << k << ", j " << j;
        }
  }
}

}  // namespace
}  // namespace cimsim
