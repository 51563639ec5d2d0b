#include "sim/int_gemm.h"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>
#include <utility>

namespace cimsim {
namespace {

void CheckShapes(const char* fn, int64_t w_K, const PairedCodes& x, int64_t ldy) {
  if (x.K() != w_K) {
    throw std::invalid_argument(std::string(fn) + ": x.K() = " + std::to_string(x.K()) +
                                " but the weights have K = " + std::to_string(w_K));
  }
  if (ldy < x.n()) {
    throw std::invalid_argument(std::string(fn) + ": ldy = " + std::to_string(ldy) + " must be >= n = " +
                                std::to_string(x.n()));
  }
}

#if defined(__AVX512BW__) || defined(__AVX2__)
#include <immintrin.h>

// The vector operations one micro-kernel needs. A vector holds kLanes int32 lanes = kLanes columns of
// y; loaded from x it holds kLanes column pairs (x[2kp, j], x[2kp+1, j]).
#if defined(__AVX512BW__)
struct Isa {
  using V = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileRows = 8;   // 8 rows × 3 vectors = 24 accumulators of 32 registers
  static constexpr int kMaxVectors = 3;
  static V Zero() { return _mm512_setzero_si512(); }
  static V Load(const int16_t* p) { return _mm512_loadu_si512(p); }
  static V Broadcast(int32_t pair) { return _mm512_set1_epi32(pair); }
  // acc + (w.lo·x.lo + w.hi·x.hi) per int32 lane, wrap-around.
  static V Mac(V acc, V w, V x) {
#if defined(__AVX512VNNI__)
    // The instruction itself, through inline asm: with _mm512_dpwssd_epi32, GCC 12 copies and
    // spills the accumulators of a large register tile on every step.
    asm("vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(x), "v"(w));
    return acc;
#else
    return _mm512_add_epi32(acc, _mm512_madd_epi16(w, x));
#endif
  }
  // Stores lanes [0, count), count in [1, kLanes].
  static void Store(int32_t* y, V v, int count) {
    _mm512_mask_storeu_epi32(y, static_cast<__mmask16>((1u << count) - 1u), v);
  }
};
#else
struct Isa {
  using V = __m256i;
  static constexpr int kLanes = 8;
  static constexpr int kTileRows = 4;   // 4 rows × 3 vectors = 12 accumulators of 16 registers
  static constexpr int kMaxVectors = 3;
  static V Zero() { return _mm256_setzero_si256(); }
  static V Load(const int16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V Broadcast(int32_t pair) { return _mm256_set1_epi32(pair); }
  static V Mac(V acc, V w, V x) { return _mm256_add_epi32(acc, _mm256_madd_epi16(w, x)); }
  static void Store(int32_t* y, V v, int count) {
    if (count >= kLanes) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), v);
    } else {
      alignas(32) int32_t lanes[kLanes];
      _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), v);
      std::copy(lanes, lanes + count, y);
    }
  }
};
#endif

static_assert(PackedWeights::kRowBlock % Isa::kTileRows == 0, "a tile must not straddle two row blocks");

// One register tile: y[r, c·kLanes + l] for r < R, c < C, summed over all row pairs.
// w: the tile's first pair, kRowBlock int32 per row pair; x: the tile's first column pair in row
// pair 0, x_stride int16 per row pair. The last vector of each row stores only `last_count` columns.
template <int R, int C>
void Tile(const int32_t* w, const int16_t* x, int64_t x_stride, int64_t pairs, int32_t* y, int64_t ldy,
          int last_count) {
  using V = Isa::V;
  V acc[R][C];
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) acc[r][c] = Isa::Zero();
  }
  for (int64_t kp = 0; kp < pairs; ++kp) {
    V xv[C];
    for (int c = 0; c < C; ++c) xv[c] = Isa::Load(x + 2 * Isa::kLanes * c);
    for (int r = 0; r < R; ++r) {
      const V wv = Isa::Broadcast(w[r]);
      for (int c = 0; c < C; ++c) acc[r][c] = Isa::Mac(acc[r][c], wv, xv[c]);
    }
    x += x_stride;
    w += PackedWeights::kRowBlock;
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      Isa::Store(y + r * ldy + c * Isa::kLanes, acc[r][c], c + 1 < C ? Isa::kLanes : last_count);
    }
  }
}

using TileFn = void (*)(const int32_t*, const int16_t*, int64_t, int64_t, int32_t*, int64_t, int);

template <size_t... Rows>
constexpr std::array<std::array<TileFn, Isa::kMaxVectors>, sizeof...(Rows)> MakeTiles(std::index_sequence<Rows...>) {
  return {{{{&Tile<Rows + 1, 1>, &Tile<Rows + 1, 2>, &Tile<Rows + 1, 3>}}...}};
}

// kTiles[R − 1][C − 1] is Tile<R, C>.
constexpr auto kTiles = MakeTiles(std::make_index_sequence<Isa::kTileRows>{});

void IntGemmSimd(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy) {
  const int64_t N = w.N(), n = x.n(), pairs = w.pairs(), x_stride = 2 * x.n_stride();
  const int64_t groups = (n + Isa::kLanes - 1) / Isa::kLanes;  // column vectors holding a j < n
  int64_t group = 0;
  while (group < groups) {
    // Blocks of 3 vectors; a remainder of 4 becomes 2 + 2 rather than 3 + 1.
    const int64_t left = groups - group;
    const int vectors = left >= 3 ? (left == 4 ? 2 : 3) : static_cast<int>(left);
    const int64_t j0 = group * Isa::kLanes;
    const int last_count = static_cast<int>(std::min<int64_t>(n - j0 - (vectors - 1) * Isa::kLanes, Isa::kLanes));
    const int16_t* x_block = x.PairRow(0) + 2 * j0;
    for (int64_t o0 = 0; o0 < N; o0 += Isa::kTileRows) {
      const int rows = static_cast<int>(std::min<int64_t>(Isa::kTileRows, N - o0));
      const int32_t* w_tile = w.data() + (o0 / PackedWeights::kRowBlock) * pairs * PackedWeights::kRowBlock +
                              o0 % PackedWeights::kRowBlock;
      kTiles[rows - 1][vectors - 1](w_tile, x_block, x_stride, pairs, y + o0 * ldy + j0, ldy, last_count);
    }
    group += vectors;
  }
}

#else

void IntGemmScalar(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy) {
  const int64_t n = x.n();
  for (int64_t o = 0; o < w.N(); ++o) {
    int32_t* y_row = y + o * ldy;
    std::fill(y_row, y_row + n, 0);
    for (int64_t kp = 0; kp < w.pairs(); ++kp) {
      const int32_t pair = w.Pair(o, kp);
      const int32_t lo = static_cast<int16_t>(pair & 0xffff), hi = static_cast<int16_t>(pair >> 16);
      const int16_t* xr = x.PairRow(kp);
      for (int64_t j = 0; j < n; ++j) y_row[j] += lo * xr[2 * j] + hi * xr[2 * j + 1];
    }
  }
}

#endif

}  // namespace

PackedWeights::PackedWeights(const int16_t* w, int64_t N, int64_t K) {
  Reshape(N, K);
  for (int64_t o = 0; o < N; ++o) {
    const int16_t* row = w + o * K;
    for (int64_t kp = 0; kp < pairs(); ++kp) {
      const int16_t hi = 2 * kp + 1 < K ? row[2 * kp + 1] : int16_t{0};
      SetPair(o, kp, PackPair(row[2 * kp], hi));
    }
  }
}

void PackedWeights::Reshape(int64_t N, int64_t K) {
  if (N < 0 || K < 0) {
    throw std::invalid_argument("PackedWeights: N = " + std::to_string(N) + ", K = " + std::to_string(K) +
                                "; both must be >= 0");
  }
  N_ = N;
  K_ = K;
  const auto count = static_cast<size_t>((N + kRowBlock - 1) / kRowBlock * pairs() * kRowBlock);
  if (pairs_.size() < count) pairs_.resize(count);
  std::fill(pairs_.begin(), pairs_.begin() + static_cast<std::ptrdiff_t>(count), 0);
}

void IntGemmReference(const int16_t* w, int64_t N, int64_t K, const PairedCodes& x, int32_t* y, int64_t ldy) {
  CheckShapes("IntGemmReference", K, x, ldy);
  for (int64_t o = 0; o < N; ++o) {
    for (int64_t j = 0; j < x.n(); ++j) {
      int64_t sum = 0;
      for (int64_t k = 0; k < K; ++k) sum += int64_t{w[o * K + k]} * x.Get(k, j);
      y[o * ldy + j] = static_cast<int32_t>(sum);
    }
  }
}

void IntGemm(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy) {
  CheckShapes("IntGemm", w.K(), x, ldy);
  if (w.N() == 0 || x.n() == 0) return;
  if (w.pairs() == 0) {  // K = 0: every dot product is the empty sum (and x holds no storage)
    for (int64_t o = 0; o < w.N(); ++o) std::fill(y + o * ldy, y + o * ldy + x.n(), 0);
    return;
  }
#if defined(__AVX512BW__) || defined(__AVX2__)
  IntGemmSimd(w, x, y, ldy);
#else
  IntGemmScalar(w, x, y, ldy);
#endif
}

}  // namespace cimsim
