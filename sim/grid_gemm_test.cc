// GridMatrix: the digit-plane split by hand (how many planes, which digits), a hand-worked product,
// and the fast path against plain double loops, exact, over shapes, grids and magnitudes that need
// one to four planes; non-grid values and shape mismatches throw.
#include "sim/grid_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

// n input vectors of length K as the rows of PackedWeights [n, K].
PackedWeights Inputs(int64_t K, int64_t n, int64_t max_abs, bool non_negative, Rng& rng) {
  std::vector<int16_t> x(static_cast<size_t>(n * K));
  const int64_t lo = non_negative ? 0 : -max_abs;
  for (auto& v : x) v = static_cast<int16_t>(lo + static_cast<int64_t>(rng.Below(static_cast<uint64_t>(max_abs - lo + 1))));
  return PackedWeights(x.data(), n, K);
}

// Entries u·2^−e with integer u uniform in [−max_units, max_units].
Eigen::MatrixXd GridValues(int64_t rows, int64_t cols, int64_t max_units, int e, Rng& rng) {
  Eigen::MatrixXd v(rows, cols);
  for (int64_t c = 0; c < cols; ++c)
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t u = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * max_units + 1))) - max_units;
      v(k, c) = std::ldexp(static_cast<double>(u), -e);
    }
  return v;
}

std::vector<double> Fast(const GridMatrix& g, const PackedWeights& x, int64_t ld) {
  std::vector<int32_t> units(static_cast<size_t>(g.planes() * g.cols() * x.N()));
  std::vector<double> out(static_cast<size_t>(x.N() * ld), -7.0);
  g.Multiply(x, units.data(), out.data(), ld);
  return out;
}

TEST(GridMatrix, PlaneCountFollowsTheLargestUnit) {
  const auto planes = [](double units) {   // a second row of 1 keeps the column's common factor 1
    Eigen::MatrixXd v(2, 2);
    v << units, 0.0, 1.0, 0.0;
    return GridMatrix(v, 0).planes();
  };
  EXPECT_EQ(planes(0), 1);
  EXPECT_EQ(planes(32767), 1);
  EXPECT_EQ(planes(-32768), 1);
  EXPECT_EQ(planes(32768), 2);     // 32768 = −32768 + 1·65536
  EXPECT_EQ(planes(-32769), 2);
  EXPECT_EQ(planes(2147450879.0), 2);   // 32767·65536 + 32767: the largest two-plane value
  EXPECT_EQ(planes(2147450880.0), 3);
  EXPECT_EQ(planes(std::ldexp(1.0, 50)), 4);
}

// An ideal device's column is Δ·(digits): the common factor Δ comes out, one plane holds the digits,
// and the products are still exactly the reference's.
TEST(GridMatrix, ColumnCommonFactorsComeOutAndLeaveTheProductsExact) {
  Rng rng(43);
  const int64_t rows = 128, cols = 64, n = 128;
  const std::vector<int64_t> deltas = {6425, 1, 65536, 3 * 5 * 7 * 11 * 13, 1 << 20};
  Eigen::MatrixXd v(rows, cols);
  for (int64_t c = 0; c < cols; ++c) {
    const int64_t delta = deltas[static_cast<size_t>(c) % deltas.size()];
    for (int64_t k = 0; k < rows; ++k) {
      const int64_t digit = static_cast<int64_t>(rng.Below(511)) - 255;
      v(k, c) = std::ldexp(static_cast<double>(digit * delta), -16);
    }
  }
  v.col(7).setZero();   // an all-zero column: factor 1
  v(0, 10) = std::ldexp(255.0 * 6425.0 + 1.0, -16);   // one entry off the column's step 6425: its factor drops to 1
  const GridMatrix g(v, 16);
  EXPECT_EQ(g.planes(), 2) << "column 10 (factor 1, units above 2^15) needs two planes";
  EXPECT_EQ(g.factor(7), 1);
  EXPECT_EQ(g.factor(10), 1);
  Eigen::MatrixXd ideal = v;
  ideal.col(10).setZero();
  const GridMatrix one(ideal, 16);
  EXPECT_EQ(one.planes(), 1) << "digits in [-255, 255] after the factors come out";
  for (int64_t c = 0; c < cols; ++c) {
    if (c != 7 && c != 10) {
      EXPECT_EQ(one.factor(c) % deltas[static_cast<size_t>(c) % deltas.size()], 0) << c;
    }
  }
  for (const GridMatrix* m : {&g, &one}) {
    const PackedWeights x = Inputs(rows, n, 1, true, rng);
    std::vector<double> ref(static_cast<size_t>(n * cols));
    m->MultiplyReference(x, ref.data(), cols);
    EXPECT_EQ(Fast(*m, x, cols), ref) << "planes " << m->planes();
  }
}

// The byte path (R in [−128, 127] after the common factors, u8 inputs through Int8Gemm) gives the
// reference's doubles exactly, for bit-plane inputs (0/1) and for full bytes; without AVX-512 VNNI it
// is absent and says so.
TEST(GridMatrix, BytePathEqualsTheReferenceExactly) {
  Rng rng(47);
  struct Case {
    int64_t rows, cols, n, max_digit, delta, max_x;
  };
  const std::vector<Case> cases = {{128, 64, 128, 127, 6425, 1}, {7, 3, 5, 128, 3, 255}, {576, 64, 100, 127, 1, 255},
                                   {130, 17, 129, 15, 1 << 12, 1}, {1, 1, 1, 1, 5, 1}};
  for (const Case& c : cases) {
    Eigen::MatrixXd v(c.rows, c.cols);
    for (int64_t col = 0; col < c.cols; ++col)
      for (int64_t k = 0; k < c.rows; ++k) {
        const int64_t digit = static_cast<int64_t>(rng.Below(static_cast<uint64_t>(2 * c.max_digit))) - c.max_digit;
        v(k, col) = std::ldexp(static_cast<double>(digit * c.delta), -16);   // digits in [−max, max − 1]
      }
    const GridMatrix g(v, 16);
    if (!kInt8GemmIsFast) {
      EXPECT_FALSE(g.HasBytePath());
      EXPECT_THROW(g.MultiplyBytes(QuadCodes(c.rows, 1), nullptr, nullptr, c.cols), std::logic_error);
      continue;
    }
    ASSERT_TRUE(g.HasBytePath()) << "rows " << c.rows << " max digit " << c.max_digit;
    std::vector<int16_t> x(static_cast<size_t>(c.n * c.rows));
    QuadCodes quads(c.rows, c.n);
    for (int64_t j = 0; j < c.n; ++j)
      for (int64_t k = 0; k < c.rows; ++k) {
        const auto code = static_cast<uint8_t>(rng.Below(static_cast<uint64_t>(c.max_x + 1)));
        x[static_cast<size_t>(j * c.rows + k)] = code;
        quads.Set(k, j, code);
      }
    const int64_t ld = c.cols + 3;
    std::vector<double> ref(static_cast<size_t>(c.n * ld), -7.0), fast = ref;
    g.MultiplyReference(PackedWeights(x.data(), c.n, c.rows), ref.data(), ld);
    std::vector<int32_t> units(static_cast<size_t>(c.cols * c.n));
    g.MultiplyBytes(quads, units.data(), fast.data(), ld);
    EXPECT_EQ(fast, ref) << "rows " << c.rows << " cols " << c.cols << " n " << c.n;
  }
  // A digit beyond a byte after the factor comes out: no byte path.
  Eigen::MatrixXd wide(2, 1);
  wide << 129.0, 1.0;
  EXPECT_FALSE(GridMatrix(wide, 0).HasBytePath());
}

TEST(GridMatrix, HandWorkedProductOnAQuarterGrid) {
  // V on the grid 2^−2: [[1.5, −0.25], [2, 40000]] (40000 = 160000 quarter units: two planes).
  Eigen::MatrixXd v(2, 2);
  v << 1.5, -0.25, 2.0, 40000.0;
  const GridMatrix g(v, 2);
  EXPECT_EQ(g.planes(), 2);
  const std::vector<int16_t> vectors = {1, 0, 3, -2, 0, 1};   // (1, 0), (3, −2), (0, 1)
  const std::vector<double> out = Fast(g, PackedWeights(vectors.data(), 3, 2), 2);
  const std::vector<double> expected = {1.5, -0.25, 3 * 1.5 - 2 * 2.0, 3 * -0.25 - 2 * 40000.0, 2.0, 40000.0};
  EXPECT_EQ(out, expected);
}

TEST(GridMatrix, FastEqualsReferenceExactlyAcrossShapesAndMagnitudes) {
  Rng rng(41);
  struct Case {
    int64_t rows, cols, n, max_units, max_x;
    int e;
  };
  // Sums stay below 2^53 units in every case, so the reference's double loops are exact too.
  const std::vector<Case> cases = {
      {1, 1, 1, 5, 1, 0},            {7, 3, 5, 30000, 1, 16},     {128, 64, 128, 1600000, 1, 16},
      {128, 256, 100, 1600000, 1, 16}, {16, 33, 77, 20000000, 1, 24}, {128, 40, 128, 50000, 3, 24},
      {257, 17, 31, 1 << 20, 255, 16}, {9, 5, 3, int64_t{1} << 40, 1, 30}, {4, 3, 2, int64_t{1} << 48, 7, 40},
      {65, 129, 129, 1000, 100, -3},
  };
  for (const Case& c : cases) {
    const GridMatrix g(GridValues(c.rows, c.cols, c.max_units, c.e, rng), c.e);
    ASSERT_LE(c.max_x, g.MaxInput()) << "rows " << c.rows;
    for (const bool non_negative : {true, false}) {
      const PackedWeights x = Inputs(c.rows, c.n, c.max_x, non_negative, rng);
      const int64_t ld = c.cols + 2;
      std::vector<double> ref(static_cast<size_t>(c.n * ld), -7.0);
      g.MultiplyReference(x, ref.data(), ld);
      const std::vector<double> fast = Fast(g, x, ld);
      for (size_t i = 0; i < ref.size(); ++i)
        ASSERT_EQ(fast[i], ref[i]) << "entry " << i << ", rows " << c.rows << " cols " << c.cols << " planes "
                                   << g.planes();
    }
  }
}

TEST(GridMatrix, MaxInputKeepsInt32PartialSumsExact) {
  const GridMatrix g(Eigen::MatrixXd::Zero(128, 1), 0);
  EXPECT_EQ(g.MaxInput(), 511);   // ⌊(2^31 − 1) / (128·2^15)⌋
  const GridMatrix one(Eigen::MatrixXd::Zero(1, 1), 0);
  EXPECT_EQ(one.MaxInput(), 65535);
}

TEST(GridMatrix, RejectsOffGridValuesAndShapeMismatches) {
  Eigen::MatrixXd v(2, 1);
  v << 0.5, 0.125;
  EXPECT_THROW(GridMatrix(v, 2), std::invalid_argument);   // 0.125 is not a multiple of 1/4
  EXPECT_THROW(GridMatrix(v, 61), std::invalid_argument);
  v << 0.5, std::nan("");
  EXPECT_THROW(GridMatrix(v, 2), std::invalid_argument);
  const GridMatrix g(Eigen::MatrixXd::Ones(3, 2), 0);
  std::vector<int32_t> units(16);
  std::vector<double> out(16);
  const std::vector<int16_t> zeros(8, 0);
  EXPECT_THROW(g.Multiply(PackedWeights(zeros.data(), 2, 4), units.data(), out.data(), 2), std::invalid_argument);
  EXPECT_THROW(g.Multiply(PackedWeights(zeros.data(), 2, 3), units.data(), out.data(), 1), std::invalid_argument);
  EXPECT_THROW(g.MultiplyReference(PackedWeights(zeros.data(), 2, 2), out.data(), 2), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
