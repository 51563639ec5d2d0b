// ColumnSumEngine: the fast path's column sums on the integer and the Eigen double back-ends
// (sim/column_sum_engine.h).
#include "sim/column_sum_engine.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

namespace cimsim {
namespace {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Sub-product size: an Eigen GEMM of at most 128 × 128 × 128 doubles packs its operands in buffers of at
// most 128 KiB, which Eigen takes from the stack (EIGEN_STACK_ALLOCATION_LIMIT), so it does not allocate.
constexpr int64_t kGemmBlock = 128;

template <typename T>
void Grow(std::vector<T>& v, int64_t size) {
  if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
}

// dst = a·b, as sub-products of at most kGemmBlock in every dimension (allocation-free, see above).
// The order of the partial sums does not matter: the grids make them exact.
template <typename Lhs, typename Rhs, typename Dst>
void BlockedProduct(const Lhs& a, const Rhs& b, Dst&& dst) {
  const int64_t depth = a.cols(), cols = b.cols();
  for (int64_t c0 = 0; c0 < cols; c0 += kGemmBlock) {
    const int64_t cw = std::min(kGemmBlock, cols - c0);
    for (int64_t k0 = 0; k0 < depth; k0 += kGemmBlock) {
      const int64_t kw = std::min(kGemmBlock, depth - k0);
      auto d = dst.middleCols(c0, cw);
      if (k0 == 0) {
        d.noalias() = a.middleCols(k0, kw) * b.block(k0, c0, kw, cw);
      } else {
        d.noalias() += a.middleCols(k0, kw) * b.block(k0, c0, kw, cw);
      }
    }
  }
}

}  // namespace

void ColumnSumEngine::Reserve(CrossbarScratch& s, bool trace) const {
  const ProgrammedArray& a = *array_;
  const CrossbarLayout& layout = a.layout();
  const TileSpan& largest = a.tiles().front().span;   // tile (0, 0) has the most rows and outputs
  const int64_t m = layout.WeightSlices() * largest.outs;
  const bool noisy = a.HasReadNoise(), integer = a.UsesIntegerGemm();
  Grow(s.magnitude, layout.SignPasses() * layout.K() * kVectorBlock);
  if (!integer) Grow(s.x, kVectorBlock * largest.rows);
  if (!integer && noisy && layout.InputSliceMax() > 1) Grow(s.x2, kVectorBlock * largest.rows);
  Grow(s.reads, kVectorBlock * (noisy ? 2 * m : m));
  if (trace) Grow(s.ideal, kVectorBlock * m);
  if (integer) Grow(s.units, GridMatrix::kMaxPlanes * kVectorBlock * m);
  if (integer) {   // the planes' largest shape, so that later (smaller) shapes do not allocate
    const bool squares = noisy && layout.InputSliceMax() > 1;
    if (s.plane.N() * s.plane.K() < kVectorBlock * largest.rows) s.plane.Reshape(kVectorBlock, largest.rows);
    if (squares && s.plane2.N() * s.plane2.K() < kVectorBlock * largest.rows) {
      s.plane2.Reshape(kVectorBlock, largest.rows);
    }
    const bool any_bytes = std::any_of(a.tiles().begin(), a.tiles().end(),
                                       [](const ArrayTile& t) { return t.mean_grid.HasBytePath(); });
    if (any_bytes && s.bytes.K() * s.bytes.n() < kVectorBlock * largest.rows) s.bytes.Resize(largest.rows, kVectorBlock);
  }
  Grow(s.x_sum, kVectorBlock);
  Grow(s.tile_bits, kVectorBlock);
  Grow(s.active, kVectorBlock);
  Grow(s.needed, kVectorBlock);
}

void ColumnSumEngine::LoadInputs(const InputCodes& x, int64_t j0, int64_t nb, CrossbarScratch& s) const {
  const int64_t K = array_->layout().K();
  const bool two_passes = array_->layout().SignPasses() == 2;
  s.block = nb;
  std::fill_n(s.x_sum.data(), nb, int64_t{0});
  for (int64_t k = 0; k < K; ++k) {
    const int16_t* src = x.data + k * x.k_stride + j0 * x.j_stride;
    const int64_t step = x.j_stride;
    uint16_t* plus = s.magnitude.data() + k * nb;
    uint16_t* minus = s.magnitude.data() + (K + k) * nb;
    for (int64_t j = 0; j < nb; ++j) {
      const int32_t code = src[j * step];
      plus[j] = static_cast<uint16_t>(std::max(code, 0));
      if (two_passes) minus[j] = static_cast<uint16_t>(std::max(-code, 0));
      s.x_sum[static_cast<size_t>(j)] += code;
    }
  }
}

void ColumnSumEngine::LoadTileBits(const TileSpan& tile, int pass, CrossbarScratch& s) const {
  const int64_t K = array_->layout().K(), nb = s.block;
  uint16_t* bits = s.tile_bits.data();
  std::fill_n(bits, nb, uint16_t{0});
  for (int64_t kl = 0; kl < tile.rows; ++kl) {
    const uint16_t* mag = s.magnitude.data() + (pass * K + tile.row0 + kl) * nb;
    for (int64_t j = 0; j < nb; ++j) bits[j] |= mag[j];
  }
}

int64_t ColumnSumEngine::ActiveVectors(int t, CrossbarScratch& s) const {
  const CrossbarLayout& layout = array_->layout();
  const int64_t nb = s.block;
  const int shift = t * layout.InputShift();
  const uint32_t mask = static_cast<uint32_t>(layout.InputMask());
  int64_t count = 0;
  for (int64_t j = 0; j < nb; ++j) {
    // (OR_k |x[k, j]|) >> shift & mask = OR_k (|x[k, j]| >> shift & mask): zero iff the slice is.
    const bool on = ((static_cast<uint32_t>(s.tile_bits[static_cast<size_t>(j)]) >> shift) & mask) != 0;
    s.needed[static_cast<size_t>(j)] = on ? 1 : 0;
    if (on) s.active[static_cast<size_t>(count++)] = static_cast<int32_t>(j);
  }
  return count;
}

void ColumnSumEngine::FillPlanes(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift,
                                 uint32_t mask) const {
  // Every vector active (the common case): row i is vector i, a contiguous loop that vectorizes.
  if (count == s.block) {
    FillPlaneRows<false>(s, tile, pass, count, shift, mask);
  } else {
    FillPlaneRows<true>(s, tile, pass, count, shift, mask);
  }
}

template <bool kGather>
void ColumnSumEngine::FillPlaneRows(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift,
                                    uint32_t mask) const {
  const int64_t K = array_->layout().K();
  const int64_t nb_stride = s.block;
  const bool squares = array_->HasReadNoise() && array_->layout().InputSliceMax() > 1;
  if (s.plane.N() != count || s.plane.K() != tile.rows) s.plane.Reshape(count, tile.rows);
  if (squares && (s.plane2.N() != count || s.plane2.K() != tile.rows)) s.plane2.Reshape(count, tile.rows);
  const int32_t* active = s.active.data();
  for (int64_t kp = 0; kp < s.plane.pairs(); ++kp) {
    const int64_t k0 = tile.row0 + 2 * kp;
    const bool second = 2 * kp + 1 < tile.rows;
    const uint16_t* mag0 = s.magnitude.data() + (pass * K + k0) * nb_stride;
    const uint16_t* mag1 = second ? mag0 + nb_stride : mag0;
    const uint32_t mask1 = second ? mask : 0;   // the odd last row's partner stays zero
    for (int64_t i0 = 0; i0 < count; i0 += PackedWeights::kRowBlock) {
      // Rows i0 .. i0 + 7 of this row pair are adjacent in the packed layout.
      int32_t* dst = s.plane.mutable_data() + s.plane.Index(i0, kp);
      int32_t* dst2 = squares ? s.plane2.mutable_data() + s.plane2.Index(i0, kp) : nullptr;
      const int64_t rows = std::min(PackedWeights::kRowBlock, count - i0);
      for (int64_t i = 0; i < rows; ++i) {
        const int64_t j = kGather ? active[i0 + i] : i0 + i;
        const uint32_t v0 = (static_cast<uint32_t>(mag0[j]) >> shift) & mask;
        const uint32_t v1 = (static_cast<uint32_t>(mag1[j]) >> shift) & mask1;
        dst[i] = static_cast<int32_t>(v0 | (v1 << 16));   // PackPair of two non-negative codes
        if (squares) dst2[i] = static_cast<int32_t>(v0 * v0 | ((v1 * v1) << 16));
      }
    }
  }
}

template <bool kGather>
void ColumnSumEngine::FillByteColumns(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift,
                                      uint32_t mask) const {
  const int64_t K = array_->layout().K();
  const int64_t nb_stride = s.block;
  s.bytes.ReshapeForFill(tile.rows, count);
  const int32_t* active = s.active.data();
  for (int64_t kq = 0; kq < s.bytes.quads(); ++kq) {
    const int64_t k0 = 4 * kq, present = std::min<int64_t>(4, tile.rows - k0);
    const uint16_t* mag[4];
    uint32_t masks[4];
    for (int64_t b = 0; b < 4; ++b) {   // a missing row of the last quad reads row k0 with mask 0
      mag[b] = s.magnitude.data() + (pass * K + tile.row0 + k0 + (b < present ? b : 0)) * nb_stride;
      masks[b] = b < present ? mask : 0;
    }
    uint32_t* dst = s.bytes.QuadRow(kq);
    for (int64_t i = 0; i < count; ++i) {
      const int64_t j = kGather ? active[i] : i;
      dst[i] = ((static_cast<uint32_t>(mag[0][j]) >> shift) & masks[0]) |
               (((static_cast<uint32_t>(mag[1][j]) >> shift) & masks[1]) << 8) |
               (((static_cast<uint32_t>(mag[2][j]) >> shift) & masks[2]) << 16) |
               (((static_cast<uint32_t>(mag[3][j]) >> shift) & masks[3]) << 24);
    }
  }
}

void ColumnSumEngine::FillDoubles(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift,
                                  uint32_t mask) const {
  const int64_t K = array_->layout().K();
  const int64_t nb_stride = s.block;
  const int32_t* active = s.active.data();
  for (int64_t kl = 0; kl < tile.rows; ++kl) {
    const uint16_t* mag = s.magnitude.data() + (pass * K + tile.row0 + kl) * nb_stride;
    double* dst = s.x.data() + kl * count;
    for (int64_t i = 0; i < count; ++i) dst[i] = static_cast<double>((static_cast<uint32_t>(mag[active[i]]) >> shift) & mask);
  }
}

bool ColumnSumEngine::UsesBytes(const ArrayTile& tile, bool ideal) const {
  // Every grid this read multiplies has a byte path, the slice fits a byte, and no X∘X plane is needed.
  const ProgrammedArray& a = *array_;
  const bool noisy = a.HasReadNoise(), binary = a.layout().InputSliceMax() <= 1;
  return a.UsesIntegerGemm() && tile.mean_grid.HasBytePath() && a.layout().InputSliceMax() <= 255 &&
         (!noisy || (binary && tile.var_grid.HasBytePath())) && (!ideal || tile.digit_grid.HasBytePath());
}

void ColumnSumEngine::ColumnSums(const ArrayTile& tile, int pass, int t, int64_t count, bool ideal,
                                 CrossbarScratch& s) const {
  if (count == 0) return;
  const CrossbarLayout& layout = array_->layout();
  const bool noisy = array_->HasReadNoise();
  const bool binary = layout.InputSliceMax() <= 1;   // then X∘X = X
  const int64_t rows = tile.span.rows, m = layout.WeightSlices() * tile.span.outs, m2 = noisy ? 2 * m : m;
  const int shift = t * layout.InputShift();
  const uint32_t mask = static_cast<uint32_t>(layout.InputMask());
  Eigen::Map<Eigen::MatrixXd> X(s.x.data(), count, rows);
  Eigen::Map<RowMatrixXd> R(s.reads.data(), count, m2);

  const bool bytes = UsesBytes(tile, ideal);
  if (bytes) {
    if (count == s.block) {
      FillByteColumns<false>(s, tile.span, pass, count, shift, mask);
    } else {
      FillByteColumns<true>(s, tile.span, pass, count, shift, mask);
    }
    tile.mean_grid.MultiplyBytes(s.bytes, s.units.data(), s.reads.data(), m2);
    if (noisy) tile.var_grid.MultiplyBytes(s.bytes, s.units.data(), s.reads.data() + m, m2);
  } else if (array_->UsesIntegerGemm()) {
    FillPlanes(s, tile.span, pass, count, shift, mask);
    tile.mean_grid.Multiply(s.plane, s.units.data(), s.reads.data(), m2);
    if (noisy) tile.var_grid.Multiply(binary ? s.plane : s.plane2, s.units.data(), s.reads.data() + m, m2);
  } else {
    FillDoubles(s, tile.span, pass, count, shift, mask);
    if (!noisy || binary) {
      BlockedProduct(X, tile.gs, R);
    } else {
      BlockedProduct(X, tile.gs.leftCols(m), R.leftCols(m));
      Eigen::Map<Eigen::MatrixXd> X2(s.x2.data(), count, rows);
      X2 = X.array().square().matrix();
      BlockedProduct(X2, tile.gs.rightCols(m), R.rightCols(m));
    }
  }
  if (noisy) {
    // Variances → σ with std::sqrt (correctly rounded, as in the reference; Eigen's vector sqrt is an
    // approximation under EIGEN_FAST_MATH). A loop of its own, so the reads' loop vectorizes.
    for (int64_t i = 0; i < count; ++i) {
      double* var = s.reads.data() + i * m2 + m;
      for (int64_t c = 0; c < m; ++c) var[c] = std::sqrt(var[c]);
    }
  }
  if (ideal) {
    Eigen::Map<RowMatrixXd> I(s.ideal.data(), count, m);
    if (bytes) {
      tile.digit_grid.MultiplyBytes(s.bytes, s.units.data(), s.ideal.data(), m);
    } else if (array_->UsesIntegerGemm()) {
      tile.digit_grid.Multiply(s.plane, s.units.data(), s.ideal.data(), m);
    } else {
      BlockedProduct(X, tile.digits, I);
    }
  }
}

}  // namespace cimsim
