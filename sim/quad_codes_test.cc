// QuadCodes: the k-quad layout by hand, zero padding after reuse with a larger shape, FillQuadCodes
// from row-major, vector-major and strided views (every K % 4 and column tail), no reallocation when
// a buffer is reused for a same-or-smaller shape.
#include "sim/quad_codes.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

TEST(QuadCodes, LayoutByHand) {
  QuadCodes x(6, 3);   // Kq = 2, n_stride = 64
  EXPECT_EQ(x.quads(), 2);
  EXPECT_EQ(x.n_stride(), 64);
  EXPECT_EQ(x.size(), 128);
  x.Set(0, 0, 1);
  x.Set(1, 0, 2);
  x.Set(3, 0, 255);
  x.Set(5, 2, 7);        // quad (1, 2), byte 1
  EXPECT_EQ(x.QuadRow(0)[0], 0xFF000201u);
  EXPECT_EQ(x.QuadRow(1)[2], 0x00000700u);
  EXPECT_EQ(x.data()[64 + 2], 0x00000700u);
  EXPECT_EQ(x.Get(3, 0), 255);
  EXPECT_EQ(x.Get(2, 0), 0);
  x.Set(1, 0, 9);        // Set keeps the other three codes of its quad
  EXPECT_EQ(x.QuadRow(0)[0], 0xFF000901u);
  EXPECT_EQ(QuadCodes::PackQuad(1, 2, 3, 4), 0x04030201u);
  EXPECT_THROW(QuadCodes(-1, 3), std::invalid_argument);
  EXPECT_THROW(x.Resize(3, -2), std::invalid_argument);
}

// Every code of `want` (vector-major [K, n]) is in x, and everything else in x's storage is zero.
void ExpectHolds(const QuadCodes& x, const std::vector<int16_t>& want, int64_t K, int64_t n) {
  ASSERT_EQ(x.K(), K);
  ASSERT_EQ(x.n(), n);
  for (int64_t kq = 0; kq < x.quads(); ++kq) {
    for (int64_t j = 0; j < x.n_stride(); ++j) {
      uint32_t expected = 0;
      for (int64_t b = 0; b < 4; ++b) {
        const int64_t k = 4 * kq + b;
        if (k < K && j < n) expected |= uint32_t{static_cast<uint8_t>(want[static_cast<size_t>(j * K + k)])} << (8 * b);
      }
      ASSERT_EQ(x.QuadRow(kq)[j], expected) << "quad (" << kq << ", " << j << "), K=" << K << " n=" << n;
    }
  }
}

TEST(FillQuadCodes, AllViewsEveryTail) {
  Rng rng(31);
  QuadCodes x;
  for (int64_t K : {1, 2, 3, 4, 5, 7, 8, 27, 144}) {
    for (int64_t n : {1, 15, 63, 64, 65, 130}) {
      std::vector<int16_t> vm(static_cast<size_t>(K * n));   // vector-major
      for (auto& c : vm) c = static_cast<int16_t>(rng.Below(256));
      vm[0] = 255;
      // Dirty the buffer with a larger shape first: nothing of it may survive the fill.
      x.Resize(K + 9, n + 70);
      for (int64_t k = 0; k < K + 9; ++k)
        for (int64_t j = 0; j < n + 70; ++j) x.Set(k, j, 0xAB);

      FillQuadCodes(InputCodes::VectorMajor(vm.data(), K, n), x);
      ExpectHolds(x, vm, K, n);

      const int64_t ld = n + 5;   // row-major with a row stride past n
      std::vector<int16_t> rm(static_cast<size_t>(K * ld), 77);
      for (int64_t k = 0; k < K; ++k)
        for (int64_t j = 0; j < n; ++j) rm[static_cast<size_t>(k * ld + j)] = vm[static_cast<size_t>(j * K + k)];
      x.Resize(K + 9, n + 70);
      for (int64_t k = 0; k < K + 9; ++k)
        for (int64_t j = 0; j < n + 70; ++j) x.Set(k, j, 0xCD);
      FillQuadCodes(InputCodes::RowMajor(rm.data(), K, n, ld), x);
      ExpectHolds(x, vm, K, n);

      // A general strided view (neither stride 1): every other vector of a wider vector-major array.
      std::vector<int16_t> wide(static_cast<size_t>(2 * K * n), 3);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t k = 0; k < K; ++k) wide[static_cast<size_t>(2 * j * K + k)] = vm[static_cast<size_t>(j * K + k)];
      FillQuadCodes(InputCodes{wide.data(), K, n, 1, 2 * K}, x);
      ExpectHolds(x, vm, K, n);
    }
  }
}

TEST(FillQuadCodes, ReuseDoesNotReallocate) {
  QuadCodes x(144, 1024);
  const uint32_t* before = x.data();
  std::vector<int16_t> codes(static_cast<size_t>(27 * 256), 200);
  FillQuadCodes(InputCodes::RowMajor(codes.data(), 27, 256), x);   // smaller: the buffer is kept
  EXPECT_EQ(x.data(), before);
  FillQuadCodes(InputCodes::RowMajor(codes.data(), 27, 256), x);
  EXPECT_EQ(x.data(), before);
  EXPECT_EQ(x.Get(26, 255), 200);
}

}  // namespace
}  // namespace cimsim
