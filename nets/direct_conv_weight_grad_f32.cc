#include "nets/direct_conv_weight_grad_f32.h"

#include <algorithm>

#include "nets/direct_conv_f32.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

constexpr int kVector = 16;        // floats per register (AVX-512), and the portable path's unit
constexpr int kAccumulators = 24;  // V·S register accumulators per tile

// The plane offset of depth step (c, ky, kx) (header).
int64_t StepOffset(const ConvWindow& g, int64_t plane_stride, int64_t step) {
  const int k = g.kernel, s = g.stride;
  const int64_t c = step / (k * k), ky = step / k % k, kx = step % k;
  return ((c * s + ky % s) * s + kx % s) * plane_stride + ky / s * g.PhaseWidth() + kx / s;
}

// Writes a tile's accumulators to its output rows: out[q][16·v + l] = acc[q][v] lane l, added to
// what the row holds when accumulating. (The AVX2 tiles store 8 outputs at a time, StoreHalf below.)
#if defined(__AVX512F__)
template <int kQ, int kV>
void WriteTile(const __m512 (&acc)[kQ][kV], float* const* out, bool accumulate) {
  for (int q = 0; q < kQ; ++q)
    for (int v = 0; v < kV; ++v) {
      float* dst = out[q] + kVector * v;
      _mm512_storeu_ps(dst, accumulate ? _mm512_add_ps(_mm512_loadu_ps(dst), acc[q][v]) : acc[q][v]);
    }
}
#elif !(defined(__AVX2__) && defined(__FMA__))  // the AVX2 tiles store 8 outputs at a time (StoreHalf)
template <int kQ, int kV>
void WriteTile(const float (&acc)[kQ][kV * kVector], float* const* out, bool accumulate) {
  for (int q = 0; q < kQ; ++q)
    for (int l = 0; l < kV * kVector; ++l) out[q][l] = accumulate ? out[q][l] + acc[q][l] : acc[q][l];
}
#endif

#if !defined(__AVX512F__) && defined(__AVX2__) && defined(__FMA__)
// 8 outputs of one row: dst (+)= acc.
inline void StoreHalf(__m256 acc, float* dst, bool accumulate) {
  _mm256_storeu_ps(dst, accumulate ? _mm256_add_ps(_mm256_loadu_ps(dst), acc) : acc);
}
#endif

// One tile: out[q][16·v + l] (+)= Σ_{j < rows} xs[q][j] · grid[j·ld + 16·v + l] for q < kS, v < kV.
// grid points at the tile's first output column; out rows are ld apart.
template <int kV>
void Tile(const float* const* xs, const float* grid, int64_t ld, int64_t rows, bool accumulate, float* const* out) {
  constexpr int kS = kAccumulators / kV;
#if defined(__AVX512F__)
  __m512 acc[kS][kV] = {};
  for (int64_t j = 0; j < rows; ++j) {
    __m512 gv[kV];
    for (int v = 0; v < kV; ++v) gv[v] = _mm512_loadu_ps(grid + j * ld + kVector * v);
    for (int q = 0; q < kS; ++q) {
      const __m512 xv = _mm512_set1_ps(xs[q][j]);
      for (int v = 0; v < kV; ++v) acc[q][v] = _mm512_fmadd_ps(xv, gv[v], acc[q][v]);
    }
  }
  WriteTile<kS, kV>(acc, out, accumulate);
#elif defined(__AVX2__) && defined(__FMA__)
  // 16 registers: blocks of kQ steps × 8 outputs, each a pass over the rows (the same chains).
  constexpr int kQ = 6;
  static_assert(kS % kQ == 0, "step blocks cover the tile");
  for (int h = 0; h < 2 * kV; ++h)
    for (int q0 = 0; q0 < kS; q0 += kQ) {
      __m256 acc[kQ];
      for (__m256& a : acc) a = _mm256_setzero_ps();
      for (int64_t j = 0; j < rows; ++j) {
        const __m256 gv = _mm256_loadu_ps(grid + j * ld + 8 * h);
        for (int q = 0; q < kQ; ++q) acc[q] = _mm256_fmadd_ps(_mm256_broadcast_ss(xs[q0 + q] + j), gv, acc[q]);
      }
      for (int q = 0; q < kQ; ++q) StoreHalf(acc[q], out[q0 + q] + 8 * h, accumulate);
    }
#else
  float acc[kS][kV * kVector] = {};
  for (int64_t j = 0; j < rows; ++j)
    for (int q = 0; q < kS; ++q)
      for (int l = 0; l < kV * kVector; ++l) acc[q][l] += xs[q][j] * grid[j * ld + l];
  WriteTile<kS, kV>(acc, out, accumulate);
#endif
}

// Tiles of kV output vectors × kS steps over the whole of dWᵀ; the last step tile repeats step K − 1
// into a scratch row that is dropped.
template <int kV>
void AllTiles(const float* planes, const float* grid, int64_t ld, const ConvWindow& g, bool accumulate, float* dwt) {
  constexpr int kS = kAccumulators / kV;
  const int64_t K = g.Depth(), rows = WeightGradGridRows(g), plane_stride = FloatPlaneStride(g);
  alignas(64) float dropped[kV * kVector] = {};  // read and written by the repeated steps, never used
  for (int64_t q0 = 0; q0 < K; q0 += kS) {
    const float* xs[kS];
    for (int q = 0; q < kS; ++q) xs[q] = planes + StepOffset(g, plane_stride, std::min<int64_t>(q0 + q, K - 1));
    for (int64_t o0 = 0; o0 < ld; o0 += kV * kVector) {
      float* out[kS];
      for (int q = 0; q < kS; ++q) out[q] = q0 + q < K ? dwt + (q0 + q) * ld + o0 : dropped;
      Tile<kV>(xs, grid + o0, ld, rows, accumulate, out);
    }
  }
}

// The 3×3 tile at stride kStride (1 or 2): kCh channels × their 9 steps (c, ky, kx) × kV vectors of
// outputs. Step (c, ky, kx) reads plane (c, ky mod s, kx mod s) at row ⌊ky/s⌋, column ⌊kx/s⌋ (header),
// so one pointer per (c, ky, kx mod s) and the column as a constant displacement — few enough
// pointers to stay in registers (the generic Tile, with a pointer per step, spills them).
// first: channel c0's first plane; channel_stride = s²·FloatPlaneStride; out: row (c0·9) of dWᵀ at
// the tile's first output column.
template <int kV, int kCh, int kStride>
void Tile3x3(const float* first, int64_t channel_stride, int64_t plane_stride, int64_t pws, const float* grid,
             int64_t ld, int64_t rows, bool accumulate, float* out) {
  constexpr int kSteps = 9 * kCh;
  static_assert(kSteps * kV <= 27, "accumulators and operands fit the 32 vector registers");
  const float* p[kCh][3][kStride];
  for (int ch = 0; ch < kCh; ++ch)
    for (int ky = 0; ky < 3; ++ky)
      for (int b = 0; b < kStride; ++b)
        p[ch][ky][b] = first + ch * channel_stride + ((ky % kStride) * kStride + b) * plane_stride + ky / kStride * pws;
#if defined(__AVX512F__)
  __m512 acc[kSteps][kV] = {};
  for (int64_t j = 0; j < rows; ++j) {
    __m512 gv[kV];
    for (int v = 0; v < kV; ++v) gv[v] = _mm512_loadu_ps(grid + j * ld + kVector * v);
    for (int ch = 0; ch < kCh; ++ch)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const __m512 xv = _mm512_set1_ps(p[ch][ky][kx % kStride][j + kx / kStride]);
          for (int v = 0; v < kV; ++v) acc[(ch * 3 + ky) * 3 + kx][v] = _mm512_fmadd_ps(xv, gv[v], acc[(ch * 3 + ky) * 3 + kx][v]);
        }
  }
  float* rows_out[kSteps];
  for (int q = 0; q < kSteps; ++q) rows_out[q] = out + q * ld;
  WriteTile<kSteps, kV>(acc, rows_out, accumulate);
#elif defined(__AVX2__) && defined(__FMA__)
  // 16 registers: one channel's 9 steps × 8 outputs at a time, each a pass over the rows (the same
  // chains as above, in the same order).
  for (int ch = 0; ch < kCh; ++ch)
    for (int h = 0; h < 2 * kV; ++h) {
      __m256 acc[9];
      for (__m256& a : acc) a = _mm256_setzero_ps();
      for (int64_t j = 0; j < rows; ++j) {
        const __m256 gv = _mm256_loadu_ps(grid + j * ld + 8 * h);
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx)
            acc[ky * 3 + kx] =
                _mm256_fmadd_ps(_mm256_broadcast_ss(p[ch][ky][kx % kStride] + j + kx / kStride), gv, acc[ky * 3 + kx]);
      }
      for (int q = 0; q < 9; ++q) StoreHalf(acc[q], out + (ch * 9 + q) * ld + 8 * h, accumulate);
    }
#else
  float acc[kSteps][kV * kVector] = {};
  for (int64_t j = 0; j < rows; ++j)
    for (int ch = 0; ch < kCh; ++ch)
      for (int ky = 0; ky < 3; ++ky)
        for (int kx = 0; kx < 3; ++kx) {
          const float xv = p[ch][ky][kx % kStride][j + kx / kStride];
          for (int l = 0; l < kV * kVector; ++l) acc[(ch * 3 + ky) * 3 + kx][l] += xv * grid[j * ld + l];
        }
  float* rows_out[kSteps];
  for (int q = 0; q < kSteps; ++q) rows_out[q] = out + q * ld;
  WriteTile<kSteps, kV>(acc, rows_out, accumulate);
#endif
}

// Every 3×3 tile at stride kStride: vectors of 32 outputs (kV = 2, one channel a tile) when O_pad
// allows, else of 16 (kV = 1, kCh channels a tile, the remainder one at a time).
template <int kStride, int kCh>
void AllTiles3x3(const float* planes, const float* grid, int64_t ld, const ConvWindow& g, bool accumulate, float* dwt) {
  const int64_t rows = WeightGradGridRows(g), plane_stride = FloatPlaneStride(g), pws = g.PhaseWidth();
  const int64_t channel_stride = kStride * kStride * plane_stride, C = g.channels;
  if (ld % (2 * kVector) == 0) {
    for (int64_t c = 0; c < C; ++c)
      for (int64_t o0 = 0; o0 < ld; o0 += 2 * kVector)
        Tile3x3<2, 1, kStride>(planes + c * channel_stride, channel_stride, plane_stride, pws, grid + o0, ld, rows,
                               accumulate, dwt + c * 9 * ld + o0);
    return;
  }
  int64_t c = 0;
  for (; c + kCh <= C; c += kCh)
    for (int64_t o0 = 0; o0 < ld; o0 += kVector)
      Tile3x3<1, kCh, kStride>(planes + c * channel_stride, channel_stride, plane_stride, pws, grid + o0, ld, rows,
                               accumulate, dwt + c * 9 * ld + o0);
  for (; c < C; ++c)
    for (int64_t o0 = 0; o0 < ld; o0 += kVector)
      Tile3x3<1, 1, kStride>(planes + c * channel_stride, channel_stride, plane_stride, pws, grid + o0, ld, rows,
                             accumulate, dwt + c * 9 * ld + o0);
}

}  // namespace

int64_t WeightGradPaddedOutputs(int64_t outputs) { return (outputs + kVector - 1) / kVector * kVector; }

int64_t WeightGradGridRows(const ConvWindow& g) { return (g.out_height - 1) * g.PhaseWidth() + g.out_width; }

#if defined(__AVX512F__)
namespace {

// dst[r·ld + c] = src[c·P + r] for r, c < 16: a 16 × 16 transpose in registers (pairs of floats, then
// of doubles, then two rounds of 128-bit lanes).
void Transpose16x16(const float* src, int64_t P, float* dst, int64_t ld) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * P);
  // Per 128-bit lane L: lo = [a(4L), b(4L), a(4L+1), b(4L+1)], hi = the same of 4L+2, 4L+3 (index ≥ 16:
  // from b) — _mm512_unpacklo/hi_ps, written as permutes (GCC 12 warns inside those intrinsics).
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
  const __m512i hi = _mm512_setr_epi32(2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_permutex2var_ps(r[i], lo, r[i + 1]);
    t[i + 1] = _mm512_permutex2var_ps(r[i], hi, r[i + 1]);
  }
  // The same with pairs of floats as doubles: lo = [a(2L), b(2L)], hi = [a(2L+1), b(2L+1)] per lane L.
  const __m512i lo_d = _mm512_setr_epi64(0, 8, 2, 10, 4, 12, 6, 14);
  const __m512i hi_d = _mm512_setr_epi64(1, 9, 3, 11, 5, 13, 7, 15);
  auto lo_pd = [&](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(a), lo_d, _mm512_castps_pd(b)));
  };
  auto hi_pd = [&](__m512 a, __m512 b) {
    return _mm512_castpd_ps(_mm512_permutex2var_pd(_mm512_castps_pd(a), hi_d, _mm512_castps_pd(b)));
  };
  for (int i = 0; i < 16; i += 4) {
    r[i] = lo_pd(t[i], t[i + 2]);
    r[i + 1] = hi_pd(t[i], t[i + 2]);
    r[i + 2] = lo_pd(t[i + 1], t[i + 3]);
    r[i + 3] = hi_pd(t[i + 1], t[i + 3]);
  }
  // r[4q + m] now holds, in each 128-bit lane L, rows 4q..4q+3 of column 4L + m.
  // Lanes: even = [a.L0, a.L2, b.L0, b.L2], odd = [a.L1, a.L3, b.L1, b.L3] (_mm512_shuffle_f32x4 with
  // 0x88 and 0xdd, as permutes for the same reason).
  const __m512i even = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
  const __m512i odd = _mm512_setr_epi32(4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
  for (int i = 0; i < 4; ++i) {
    t[i] = _mm512_permutex2var_ps(r[i], even, r[i + 4]);
    t[i + 4] = _mm512_permutex2var_ps(r[i], odd, r[i + 4]);
    t[i + 8] = _mm512_permutex2var_ps(r[i + 8], even, r[i + 12]);
    t[i + 12] = _mm512_permutex2var_ps(r[i + 8], odd, r[i + 12]);
  }
  for (int i = 0; i < 8; ++i) {
    r[i] = _mm512_permutex2var_ps(t[i], even, t[i + 8]);
    r[i + 8] = _mm512_permutex2var_ps(t[i], odd, t[i + 8]);
  }
  // The first lane round pairs lanes {0, 2} and {1, 3} of rows 0–7 (and 8–15), the second joins the
  // halves: r[i] is column i, rows 0..15 in order.
  for (int i = 0; i < 16; ++i) _mm512_storeu_ps(dst + i * ld, r[i]);
}

}  // namespace
#endif

void PackWeightGradGrid(const float* grad, int64_t outputs, const ConvWindow& g, float* grid) {
  const int64_t OH = g.out_height, OW = g.out_width, P = OH * OW, pws = g.PhaseWidth();
  const int64_t ld = WeightGradPaddedOutputs(outputs), rows = WeightGradGridRows(g);
  for (int64_t oy = 0; oy < OH; ++oy) {
    int64_t o_done = 0;  // channels written by 16 × 16 blocks (every column ox of this row)
#if defined(__AVX512F__)
    if (OW % 16 == 0) {
      for (; o_done + 16 <= outputs; o_done += 16)
        for (int64_t ox = 0; ox < OW; ox += 16)
          Transpose16x16(grad + o_done * P + oy * OW + ox, P, grid + (oy * pws + ox) * ld + o_done, ld);
    }
#endif
    // The rest row by row of the grid: contiguous writes, reads strided by P (a cache line of each
    // channel's plane serves 16 consecutive rows).
    for (int64_t ox = 0; ox < OW; ++ox) {
      float* __restrict dst = grid + (oy * pws + ox) * ld;
      const float* __restrict src = grad + oy * OW + ox;
      for (int64_t o = o_done; o < outputs; ++o) dst[o] = src[o * P];
      for (int64_t o = outputs; o < ld; ++o) dst[o] = 0.0f;
    }
    const int64_t wasted_end = std::min((oy + 1) * pws, rows);  // rows with ox >= OW
    std::fill(grid + (oy * pws + OW) * ld, grid + wasted_end * ld, 0.0f);
  }
}

void DirectConvWeightGradF32(const float* planes, const float* grid, int64_t outputs, const ConvWindow& g,
                             bool accumulate, float* dwt) {
  const int64_t ld = WeightGradPaddedOutputs(outputs), vectors = ld / kVector;
  if (g.kernel == 3 && g.stride == 1) {
    AllTiles3x3<1, 3>(planes, grid, ld, g, accumulate, dwt);
  } else if (g.kernel == 3 && g.stride == 2) {
    AllTiles3x3<2, 1>(planes, grid, ld, g, accumulate, dwt);
  } else if (vectors % 4 == 0) {
    AllTiles<4>(planes, grid, ld, g, accumulate, dwt);
  } else if (vectors % 2 == 0) {
    AllTiles<2>(planes, grid, ld, g, accumulate, dwt);
  } else {
    AllTiles<1>(planes, grid, ld, g, accumulate, dwt);
  }
}

}  // namespace cimsim
