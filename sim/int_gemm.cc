#include "sim/int_gemm.h"

#include <algorithm>

#if defined(__AVX512BW__) || defined(__AVX2__)
#include <immintrin.h>

#include "sim/gemm_tiles.h"
#include "sim/gemm_tiles_avx512.h"
#endif
#include "sim/gemm_contract.h"

namespace cimsim {
namespace {

#if defined(__AVX512BW__) || defined(__AVX2__)

// The vector operations the shared micro-kernel (sim/gemm_tiles.h) needs. A vector holds kLanes int32
// lanes = kLanes columns of y; loaded from x it holds kLanes column pairs (x[2kp, j], x[2kp+1, j]).
// AVX-512: the shared zmm operations (sim/gemm_tiles_avx512.h) and vpdpwssd or vpmaddwd + vpaddd.
#if defined(__AVX512BW__)
struct Isa : gemm_tiles::Avx512Tiles {
  using X = int16_t;
  static constexpr int kXPerColumn = 2;  // a column pair is two int16
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
};
#else
struct Isa {
  using V = __m256i;
  using X = int16_t;
  static constexpr int kLanes = 8;
  static constexpr int kXPerColumn = 2;
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

static_assert(PairedCodes::kColumnAlign % Isa::kLanes == 0, "kernels read whole vectors of columns");

void IntGemmSimd(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy) {
  gemm_tiles::TiledGemm<Isa, PackedWeights::kRowBlock>(
      w.data(), w.N(), w.pairs(), gemm_tiles::StridedRows<int16_t>{x.PairRow(0), 2 * x.n_stride()}, x.n(), y, ldy);
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

void IntGemmReference(const int16_t* w, int64_t N, int64_t K, const PairedCodes& x, int32_t* y, int64_t ldy) {
  GemmReferenceLoops("IntGemmReference", w, N, K, x, y, ldy);
}

void IntGemm(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy) {
  CheckGemmShapes("IntGemm", w.K(), x.K(), x.n(), ldy);
  if (GemmEmptyShape(w.N(), w.K(), x.n(), y, ldy)) return;
#if defined(__AVX512BW__) || defined(__AVX2__)
  IntGemmSimd(w, x, y, ldy);
#else
  IntGemmScalar(w, x, y, ldy);
#endif
}

}  // namespace cimsim
