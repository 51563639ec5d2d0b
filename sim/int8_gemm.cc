#include "sim/int8_gemm.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <utility>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

void CheckShapes(const char* fn, int64_t w_K, const QuadCodes& x, int64_t ldy) {
  if (x.K() != w_K) {
    throw std::invalid_argument(std::string(fn) + ": x.K() = " + std::to_string(x.K()) +
                                " but the weights have K = " + std::to_string(w_K));
  }
  if (ldy < x.n()) {
    throw std::invalid_argument(std::string(fn) + ": ldy = " + std::to_string(ldy) + " must be >= n = " +
                                std::to_string(x.n()));
  }
}

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)

// A vector holds kLanes int32 lanes = kLanes columns of y; loaded from x it holds kLanes column quads
// (x[4kq .. 4kq+3, j]).
constexpr int kLanes = 16;
constexpr int kTileRows = 8;    // 8 rows × 3 vectors = 24 accumulators of 32 registers
constexpr int kMaxVectors = 3;
static_assert(PackedWeights8::kRowBlock % kTileRows == 0, "a tile must not straddle two row blocks");
static_assert(QuadCodes::kColumnAlign % kLanes == 0, "kernels read whole vectors of columns");

// acc + Σ_{b<4} u8(x.byte b)·s8(w.byte b) per int32 lane, wrap-around. The instruction itself through
// inline asm, as IntGemm does for vpdpwssd (GCC 12 spills a large tile's accumulators with the
// intrinsic). AT&T order: the signed source (w) first, then the unsigned one (x), then acc.
inline __m512i Mac(__m512i acc, __m512i w, __m512i x) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
  return acc;
}

// One register tile: y[r, c·kLanes + l] for r < R, c < C, summed over all row quads.
// w: the tile's first quad, kRowBlock int32 per row quad; x: the tile's first column quad in row
// quad 0, x_stride uint32 per row quad. The last vector of each row stores only `last_count` columns.
template <int R, int C>
void Tile(const int32_t* w, const uint32_t* x, int64_t x_stride, int64_t quads, int32_t* y, int64_t ldy,
          int last_count) {
  __m512i acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_si512();
  }
  for (int64_t kq = 0; kq < quads; ++kq) {
    __m512i xv[C];
    for (int c = 0; c < C; ++c) xv[c] = _mm512_loadu_si512(x + kLanes * c);
    for (int r = 0; r < R; ++r) {
      const __m512i wv = _mm512_set1_epi32(w[r]);
      for (int c = 0; c < C; ++c) acc[r][c] = Mac(acc[r][c], wv, xv[c]);
    }
    x += x_stride;
    w += PackedWeights8::kRowBlock;
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      const int count = c + 1 < C ? kLanes : last_count;
      _mm512_mask_storeu_epi32(y + r * ldy + c * kLanes, static_cast<__mmask16>((1u << count) - 1u), acc[r][c]);
    }
  }
}

using TileFn = void (*)(const int32_t*, const uint32_t*, int64_t, int64_t, int32_t*, int64_t, int);

template <size_t... Rows>
constexpr std::array<std::array<TileFn, kMaxVectors>, sizeof...(Rows)> MakeTiles(std::index_sequence<Rows...>) {
  return {{{{&Tile<Rows + 1, 1>, &Tile<Rows + 1, 2>, &Tile<Rows + 1, 3>}}...}};
}

// kTiles[R − 1][C − 1] is Tile<R, C>.
constexpr auto kTiles = MakeTiles(std::make_index_sequence<kTileRows>{});

void Int8GemmVnni(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  const int64_t N = w.N(), n = x.n(), quads = w.quads(), x_stride = x.n_stride();
  const int64_t groups = (n + kLanes - 1) / kLanes;  // column vectors holding a j < n
  int64_t group = 0;
  while (group < groups) {
    // Blocks of 3 vectors; a remainder of 4 becomes 2 + 2 rather than 3 + 1 (as IntGemm).
    const int64_t left = groups - group;
    const int vectors = left >= 3 ? (left == 4 ? 2 : 3) : static_cast<int>(left);
    const int64_t j0 = group * kLanes;
    const int last_count = static_cast<int>(std::min<int64_t>(n - j0 - (vectors - 1) * kLanes, kLanes));
    const uint32_t* x_block = x.QuadRow(0) + j0;
    for (int64_t o0 = 0; o0 < N; o0 += kTileRows) {
      const int rows = static_cast<int>(std::min<int64_t>(kTileRows, N - o0));
      const int32_t* w_tile = w.data() + (o0 / PackedWeights8::kRowBlock) * quads * PackedWeights8::kRowBlock +
                              o0 % PackedWeights8::kRowBlock;
      kTiles[rows - 1][vectors - 1](w_tile, x_block, x_stride, quads, y + o0 * ldy + j0, ldy, last_count);
    }
    group += vectors;
  }
}

#else

// The same sums lane by lane: int32 wrap-around additions (through uint32, defined behaviour) of
// exact u8·s8 products.
void Int8GemmScalar(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  const int64_t n = x.n();
  for (int64_t o = 0; o < w.N(); ++o) {
    int32_t* y_row = y + o * ldy;
    std::fill(y_row, y_row + n, 0);
    for (int64_t kq = 0; kq < w.quads(); ++kq) {
      const auto quad = static_cast<uint32_t>(w.Quad(o, kq));
      int32_t c[4];
      for (int b = 0; b < 4; ++b) c[b] = static_cast<int8_t>(static_cast<uint8_t>(quad >> (8 * b)));
      const uint32_t* xr = x.QuadRow(kq);
      for (int64_t j = 0; j < n; ++j) {
        int32_t dot = 0;  // |dot| <= 4·255·128: exact
        for (int b = 0; b < 4; ++b) dot += c[b] * static_cast<int32_t>((xr[j] >> (8 * b)) & 0xff);
        y_row[j] = static_cast<int32_t>(static_cast<uint32_t>(y_row[j]) + static_cast<uint32_t>(dot));
      }
    }
  }
}

#endif

}  // namespace

PackedWeights8::PackedWeights8(const int16_t* w, int64_t N, int64_t K) {
  if (N < 0 || K < 0) {
    throw std::invalid_argument("PackedWeights8: N = " + std::to_string(N) + ", K = " + std::to_string(K) +
                                "; both must be >= 0");
  }
  N_ = N;
  K_ = K;
  quads_.assign(static_cast<size_t>((N + kRowBlock - 1) / kRowBlock * quads() * kRowBlock), 0);
  for (int64_t o = 0; o < N; ++o) {
    const int16_t* row = w + o * K;
    for (int64_t kq = 0; kq < quads(); ++kq) {
      int8_t c[4] = {0, 0, 0, 0};  // codes past K stay 0
      for (int64_t b = 0; b < 4 && 4 * kq + b < K; ++b) {
        const int16_t code = row[4 * kq + b];
        if (code < -128 || code > 127) {
          throw std::invalid_argument("PackedWeights8: w[" + std::to_string(o) + ", " + std::to_string(4 * kq + b) +
                                      "] = " + std::to_string(code) + " is outside [-128, 127]");
        }
        c[b] = static_cast<int8_t>(code);
      }
      quads_[static_cast<size_t>(Index(o, kq))] = PackQuad(c[0], c[1], c[2], c[3]);
    }
  }
}

void Int8GemmReference(const int16_t* w, int64_t N, int64_t K, const QuadCodes& x, int32_t* y, int64_t ldy) {
  CheckShapes("Int8GemmReference", K, x, ldy);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < x.n(); ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += int64_t{w[o * K + k]} * x.Get(k, j);
      y[o * ldy + j] = static_cast<int32_t>(sum);
    }
  }
}

void Int8Gemm(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy) {
  CheckShapes("Int8Gemm", w.K(), x, ldy);
  if (w.N() == 0 || x.n() == 0) return;
  if (w.quads() == 0) {  // K = 0: every dot product is the empty sum (and x holds no storage)
    for (int64_t o = 0; o < w.N(); ++o) std::fill(y + o * ldy, y + o * ldy + x.n(), 0);
    return;
  }
#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
  Int8GemmVnni(w, x, y, ldy);
#else
  Int8GemmScalar(w, x, y, ldy);
#endif
}

}  // namespace cimsim
