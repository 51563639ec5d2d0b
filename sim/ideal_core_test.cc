// IdealCore: equals a naive triple loop, reports its shape, and rejects bad construction arguments
// with messages naming the numbers.
#include "sim/ideal_core.h"

#include <gtest/gtest.h>

#include "common/test_support.h"

#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

using ::cimsim::testing::InvalidArgumentOf;

::testing::AssertionResult HasPart(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << text << "\" lacks \"" << part << "\"";
}

TEST(IdealCore, EqualsNaiveTripleLoop) {
  const int64_t N = 10, K = 64, n = 37;
  Rng rng(11);
  std::vector<int16_t> w(static_cast<size_t>(N * K)), cols(static_cast<size_t>(K * n));
  for (auto& c : w) c = static_cast<int16_t>(static_cast<int>(rng.Below(15)) - 7);  // 4-bit codes
  for (auto& c : cols) c = static_cast<int16_t>(rng.Below(256));
  const IdealCore core(w, N, K, 4, 0, 255);
  EXPECT_EQ(core.Name(), "ideal");
  EXPECT_EQ(core.Outputs(), N);
  EXPECT_EQ(core.Depth(), K);
  EXPECT_EQ(core.weight_bits(), 4);
  EXPECT_EQ(core.x_min(), 0);
  EXPECT_EQ(core.x_max(), 255);

  const InputCodes x = InputCodes::VectorMajor(cols.data(), K, n);
  const int64_t ldy = n + 2;
  std::vector<int32_t> y(static_cast<size_t>(N * ldy), -1);
  MvmContext ctx;  // no random stream: the exact core does not draw
  core.Multiply(x, y.data(), ldy, ctx);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < ldy; ++j) {
      int32_t expected = -1;  // columns past n untouched
      if (j < n) {
        expected = 0;
        for (int64_t k = 0; k < K; ++k) {
          expected += w[static_cast<size_t>(o * K + k)] * cols[static_cast<size_t>(j * K + k)];
        }
      }
      ASSERT_EQ(y[static_cast<size_t>(o * ldy + j)], expected) << o << ", " << j;
    }
  }
}

TEST(IdealCore, ImageInputRangeAndOneVector) {
  // One input vector with signed (image) codes: y = [1·(−127) + (−2)·127, 3·(−127) + 1·127].
  const std::vector<int16_t> w = {1, -2, 3, 1};
  const std::vector<int16_t> cols = {-127, 127};
  const IdealCore core(w, 2, 2, 8, -127, 127);
  const InputCodes x = InputCodes::VectorMajor(cols.data(), 2, 1);
  std::vector<int32_t> y(2);
  MvmContext ctx;
  core.Multiply(x, y.data(), 1, ctx);
  EXPECT_EQ(y, (std::vector<int32_t>{-381, -254}));
}

// The kernel follows the layer's input range: unsigned codes within [0, 255] take the u8×s8 GEMM
// when the build has VNNI; signed or wider inputs the int16 GEMM. Either way y is the naive sum
// (the extreme codes included), so the choice never shows in the results.
TEST(IdealCore, ChoosesTheKernelFromTheInputRangeAndStaysExact) {
  struct Case {
    int weight_bits;
    int32_t x_min, x_max;
    bool unsigned8;   // the range allows the u8×s8 kernel
  };
  const Case cases[] = {{8, 0, 255, true},   {4, 0, 15, true},     {8, 0, 1, true},  {8, -127, 127, false},
                        {8, -1, 255, false}, {8, 0, 256, false},   {2, 0, 255, true}};
  const int64_t N = 19, K = 147, n = 70;
  Rng rng(12);
  for (const Case& c : cases) {
    const int w_max = (1 << (c.weight_bits - 1)) - 1;
    std::vector<int16_t> w(static_cast<size_t>(N * K)), cols(static_cast<size_t>(K * n));
    for (auto& v : w) v = static_cast<int16_t>(static_cast<int>(rng.Below(static_cast<uint64_t>(2 * w_max + 1))) - w_max);
    for (auto& v : cols) v = static_cast<int16_t>(c.x_min + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(c.x_max - c.x_min + 1))));
    w[0] = static_cast<int16_t>(-w_max);
    w[1] = static_cast<int16_t>(w_max);
    cols[0] = static_cast<int16_t>(c.x_max);
    cols[1] = static_cast<int16_t>(c.x_min);
    const IdealCore core(w, N, K, c.weight_bits, c.x_min, c.x_max);
    const auto expected_kernel = kInt8GemmIsFast && c.unsigned8 ? IdealCore::Kernel::kU8S8 : IdealCore::Kernel::kInt16;
    EXPECT_EQ(core.kernel(), expected_kernel) << "[" << c.x_min << ", " << c.x_max << "]";
    EXPECT_EQ(IdealCore::ChooseKernel(c.x_min, c.x_max), expected_kernel);

    const int64_t ldy = n + 1;
    std::vector<int32_t> y(static_cast<size_t>(N * ldy), -1);
    MvmContext ctx;
    core.Multiply(InputCodes::VectorMajor(cols.data(), K, n), y.data(), ldy, ctx);
    for (int64_t o = 0; o < N; ++o) {
      for (int64_t j = 0; j < ldy; ++j) {
        int32_t expected = -1;  // columns past n untouched
        if (j < n) {
          expected = 0;
          for (int64_t k = 0; k < K; ++k) expected += w[static_cast<size_t>(o * K + k)] * cols[static_cast<size_t>(j * K + k)];
        }
        ASSERT_EQ(y[static_cast<size_t>(o * ldy + j)], expected) << "[" << c.x_min << ", " << c.x_max << "] " << o << ", " << j;
      }
    }
    // The other kernel, named explicitly where the range allows it, gives the same y.
    if (c.unsigned8) {
      for (const auto kernel : {IdealCore::Kernel::kInt16, IdealCore::Kernel::kU8S8}) {
        const IdealCore named(w, N, K, c.weight_bits, c.x_min, c.x_max, kernel);
        EXPECT_EQ(named.kernel(), kernel);
        std::vector<int32_t> y2(y.size(), -1);
        named.Multiply(InputCodes::VectorMajor(cols.data(), K, n), y2.data(), ldy, ctx);
        EXPECT_EQ(y2, y) << "[" << c.x_min << ", " << c.x_max << "]";
      }
    } else {
      EXPECT_TRUE(HasPart(InvalidArgumentOf([&] {
                            IdealCore(w, N, K, c.weight_bits, c.x_min, c.x_max, IdealCore::Kernel::kU8S8);
                          }),
                          "needs inputs within [0, 255]"));
    }
  }
}

TEST(IdealCore, RejectsBadConstruction) {
  const std::vector<int16_t> w6(6, 1);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 0, 6, 8, 0, 255); }), "N = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(std::span<const int16_t>(), 1, 0, 8, 0, 255); }), "K = 0"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 2, 4, 8, 0, 255); }), "codes has 6 elements"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 2, 3, 1, 0, 255); }), "weight_bits = 1"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 2, 3, 9, 0, 255); }), "weight_bits = 9"));

  std::vector<int16_t> w = {0, 1, 2, 3, -8, 5};  // −8 is outside ±7 for 4 bits
  const std::string msg = InvalidArgumentOf([&] { IdealCore(w, 2, 3, 4, 0, 255); });
  EXPECT_TRUE(HasPart(msg, "weight code -8 at [1, 1]"));
  EXPECT_TRUE(HasPart(msg, "±7"));
  w[4] = -7;
  EXPECT_NO_THROW(IdealCore(w, 2, 3, 4, 0, 255));
  w[0] = 128;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w, 2, 3, 8, 0, 255); }), "weight code 128"));

  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 2, 3, 8, 5, 4); }), "[5, 4]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w6, 2, 3, 8, 0, 40000); }), "[0, 40000]"));
}

TEST(IdealCore, RejectsPossibleOverflowAtTheBound) {
  // 8-bit weights (max|w| = 127), inputs [−10, 255]: K·127·255 < 2^31 holds up to K = 66,311.
  std::vector<int16_t> w(66312, 0);
  const std::string msg = InvalidArgumentOf([&] { IdealCore(w, 1, 66312, 8, -10, 255); });
  EXPECT_TRUE(HasPart(msg, "66312·127·255"));
  EXPECT_TRUE(HasPart(msg, "2^31"));
  w.pop_back();
  EXPECT_NO_THROW(IdealCore(w, 1, 66311, 8, -10, 255));
  // The negative end counts too: max(|−300|, |255|) = 300.
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { IdealCore(w, 1, 66311, 8, -300, 255); }), "66311·127·300"));
}

TEST(IdealCore, MultiplyRejectsWrongDepth) {
  const std::vector<int16_t> w(6, 1);
  const IdealCore core(w, 2, 3, 8, 0, 255);
  const std::vector<int16_t> zeros(8, 0);
  const InputCodes x = InputCodes::VectorMajor(zeros.data(), 4, 2);
  std::vector<int32_t> y(4);
  MvmContext ctx;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { core.Multiply(x, y.data(), 2, ctx); }), "x.K() = 4"));
}

}  // namespace
}  // namespace cimsim
