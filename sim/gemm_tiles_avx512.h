// gemm_tiles_avx512.h — the AVX-512 vector operations both exact GEMMs give the shared micro-kernel
// (sim/gemm_tiles.h): everything of its Isa but the multiply-accumulate and the x element type.
//
// A vector is one zmm register of kLanes = 16 int32 lanes, i.e. 16 columns of y; loaded from x it
// holds 16 column lanes (a pair of int16 codes for IntGemm, a quad of u8 codes for Int8Gemm).
// Tiles are up to kTileRows = 8 rows × kMaxVectors = 3 vectors: 24 accumulators of the 32 zmm
// registers, leaving room for the 3 x vectors and a broadcast weight lane. Stores are masked, so a
// column tail writes only its `count` lanes.
//
// A kernel's Isa derives from Avx512Tiles and adds X, kXPerColumn and Mac(acc, w, x).
#pragma once

#if defined(__AVX512F__)
#include <immintrin.h>

#include <cstdint>

namespace cimsim::gemm_tiles {

struct Avx512Tiles {
  using V = __m512i;
  static constexpr int kLanes = 16;
  static constexpr int kTileRows = 8;  // 8 rows × 3 vectors = 24 accumulators of 32 registers
  static constexpr int kMaxVectors = 3;
  static V Zero() { return _mm512_setzero_si512(); }
  // 16 column lanes of x from p (unaligned).
  static V Load(const void* p) { return _mm512_loadu_si512(p); }
  // One weight lane (pair or quad) in every int32 lane.
  static V Broadcast(int32_t lane) { return _mm512_set1_epi32(lane); }
  // Stores lanes [0, count), count in [1, kLanes].
  static void Store(int32_t* y, V v, int count) {
    _mm512_mask_storeu_epi32(y, static_cast<__mmask16>((1u << count) - 1u), v);
  }
};

}  // namespace cimsim::gemm_tiles

#endif  // __AVX512F__
