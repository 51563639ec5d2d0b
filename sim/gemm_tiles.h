// gemm_tiles.h — the register-tile scaffolding IntGemm (sim/int_gemm.cc) and Int8Gemm
// (sim/int8_gemm.cc) share: one micro-kernel template and the column blocking that drives it.
//
// Both kernels compute y[o, j] = Σ_{g<G} dot(w[o, g], x[g, j]) over G k-steps, a k-step being a
// group of codes that one int32 lane holds (a row pair for int16, a row quad for u8×s8):
//   w: RowBlockedWeights (sim/row_blocked_weights.h), lane (o, g) at
//      ((o / kRowBlock)·G + g)·kRowBlock + o % kRowBlock;
//   x: k-step g is a contiguous row of Isa::X, column j's lane at row(g) + j·Isa::kXPerColumn
//      (PairedCodes: 2 int16; QuadCodes: 1 uint32). Where row g starts is a policy: StridedRows
//      (row(g) = x0 + g·stride, a packed matrix) or OffsetRows (row(g) = x0 + offsets[g], e.g. the
//      shifted windows of a direct convolution, nets/direct_conv_u8.h);
//   y: int32 row-major, leading dimension ldy.
// y is cut into column blocks of up to kMaxVectors = 3 vectors of kLanes columns (a remainder of 4
// vectors becomes 2 + 2 rather than 3 + 1) and, within a block, row tiles of up to kTileRows rows.
// Each tile keeps its R×C accumulators in registers across all G k-steps: per step it loads C
// vectors of x, broadcasts one weight lane per row and issues R·C Isa::Mac. The last vector of a
// row stores only the columns j < n (masked or partial stores), so columns n..ldy−1 stay untouched.
//
// Isa supplies the vector type and its operations:
//   V, X, kLanes, kXPerColumn, kTileRows, kMaxVectors (= 3),
//   Zero(), Load(const X*), Broadcast(int32_t), Mac(V acc, V w, V x), Store(int32_t*, V, int count).
// Only instantiated from the .cc files whose Isa is compiled in (the SIMD paths).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace cimsim::gemm_tiles {

// k-step g's row at x0 + g·stride.
template <class X>
struct StridedRows {
  const X* x0;
  int64_t stride;
  const X* Row(int64_t g) const { return x0 + g * stride; }
  StridedRows Shifted(int64_t elements) const { return {x0 + elements, stride}; }
};

// k-step g's row at x0 + offsets[g].
template <class X>
struct OffsetRows {
  const X* x0;
  const int64_t* offsets;
  const X* Row(int64_t g) const { return x0 + offsets[g]; }
  OffsetRows Shifted(int64_t elements) const { return {x0 + elements, offsets}; }
};

// One register tile: y[r, c·kLanes + l] for r < R, c < C, summed over all `steps` k-steps.
// w: the tile's first lane, kRowBlock int32 per k-step; x: the rows, shifted to the tile's first
// column. The last vector of each row stores only `last_count` columns.
template <class Isa, int64_t kRowBlock, int R, int C, class Rows>
void Tile(const int32_t* w, Rows x, int64_t steps, int32_t* y, int64_t ldy, int last_count) {
  using V = typename Isa::V;
  V acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = Isa::Zero();
  }
  for (int64_t g = 0; g < steps; ++g) {
    const typename Isa::X* row = x.Row(g);
    V xv[C];
    for (int c = 0; c < C; ++c) xv[c] = Isa::Load(row + Isa::kXPerColumn * Isa::kLanes * c);
    for (int r = 0; r < R; ++r) {
      const V wv = Isa::Broadcast(w[r]);
      for (int c = 0; c < C; ++c) acc[r][c] = Isa::Mac(acc[r][c], wv, xv[c]);
    }
    w += kRowBlock;
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      Isa::Store(y + r * ldy + c * Isa::kLanes, acc[r][c], c + 1 < C ? Isa::kLanes : last_count);
    }
  }
}

template <class Rows>
using TileFn = void (*)(const int32_t*, Rows, int64_t, int32_t*, int64_t, int);

template <class Isa, int64_t kRowBlock, class Rows, size_t... R>
constexpr std::array<std::array<TileFn<Rows>, 3>, sizeof...(R)> MakeTiles(std::index_sequence<R...>) {
  static_assert(Isa::kMaxVectors == 3, "the table below lists 1, 2 and 3 vectors");
  static_assert(kRowBlock % Isa::kTileRows == 0, "a tile must not straddle two row blocks");
  return {{{{&Tile<Isa, kRowBlock, R + 1, 1, Rows>, &Tile<Isa, kRowBlock, R + 1, 2, Rows>,
             &Tile<Isa, kRowBlock, R + 1, 3, Rows>}}...}};
}

// kTiles<Isa, kRowBlock, Rows>[R − 1][C − 1] is Tile<Isa, kRowBlock, R, C, Rows>.
template <class Isa, int64_t kRowBlock, class Rows>
inline constexpr auto kTiles = MakeTiles<Isa, kRowBlock, Rows>(std::make_index_sequence<Isa::kTileRows>{});

// y[o, j] for o < N, j < n over `steps` k-steps (the layout above); x: the rows at column 0. N, n,
// steps >= 1.
template <class Isa, int64_t kRowBlock, class Rows>
void TiledGemm(const int32_t* w, int64_t N, int64_t steps, Rows x, int64_t n, int32_t* y, int64_t ldy) {
  const int64_t groups = (n + Isa::kLanes - 1) / Isa::kLanes;  // column vectors holding a j < n
  int64_t group = 0;
  while (group < groups) {
    // Blocks of 3 vectors; a remainder of 4 becomes 2 + 2 rather than 3 + 1.
    const int64_t left = groups - group;
    const int vectors = left >= 3 ? (left == 4 ? 2 : 3) : static_cast<int>(left);
    const int64_t j0 = group * Isa::kLanes;
    const int last_count = static_cast<int>(std::min<int64_t>(n - j0 - (vectors - 1) * Isa::kLanes, Isa::kLanes));
    const Rows x_block = x.Shifted(Isa::kXPerColumn * j0);
    for (int64_t o0 = 0; o0 < N; o0 += Isa::kTileRows) {
      const int rows = static_cast<int>(std::min<int64_t>(Isa::kTileRows, N - o0));
      const int32_t* w_tile = w + (o0 / kRowBlock) * steps * kRowBlock + o0 % kRowBlock;
      kTiles<Isa, kRowBlock, Rows>[rows - 1][vectors - 1](w_tile, x_block, steps, y + o0 * ldy + j0, ldy, last_count);
    }
    group += vectors;
  }
}

}  // namespace cimsim::gemm_tiles
