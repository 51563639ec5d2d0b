#include "nets/direct_conv_f32.h"

#include <algorithm>
#include <cstring>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

constexpr int kVector = 16;  // floats per register (AVX-512), and the portable path's unit

// Calls fn(step, xp) for every depth step (c, ky, kx) in order, xp = x0 + the step's plane offset.
// The offsets are kept incrementally (no division in the loop): kx = s·shift + phase b, and likewise
// for rows: ky = s·shift + phase a, plane (c, a, ·) starts at (c·s + a)·s·plane_stride.
template <typename Fn>
inline __attribute__((always_inline)) void ForEachStep(const float* x0, const ConvWindow& g, int64_t plane_stride,
                                                       Fn&& fn) {
  const int k = g.kernel, s = g.stride;
  const int64_t pws = g.PhaseWidth();
  const int64_t phase_step = plane_stride;  // the next column phase b + 1: the next plane
  const int64_t wrap = 1 - (s - 1) * plane_stride;  // phase s − 1 → phase 0 of the next column
  const int64_t row_phase_step = s * plane_stride, row_wrap = pws - (s - 1) * s * plane_stride;
  int64_t step = 0;
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* row = x0 + c * s * s * plane_stride;
    for (int ky = 0, a = 0; ky < k; ++ky) {
      const float* xp = row;
      if (++a < s) {
        row += row_phase_step;
      } else {
        a = 0;
        row += row_wrap;
      }
      for (int kx = 0, b = 0; kx < k; ++kx, ++step) {
        fn(step, xp);
        if (++b < s) {
          xp += phase_step;
        } else {
          b = 0;
          xp += wrap;
        }
      }
    }
  }
}

// One register tile: out[r·kDirectConvColumns + j] = Σ_steps rows[r][step] · planes[offset(step) + j0 + j]
// for r < 8 and j < 16·kVecs, the steps in (c, ky, kx) order. x0 = planes + j0; rows[r]: the OIHW
// weight row of the tile's output r (its K weights are read in order, broadcast one by one).
// With AVX-512 or AVX2 every output is one fused multiply-add chain over the steps in order: AVX-512
// holds the whole tile (8 × kVecs registers); AVX2 (16 registers) walks the steps once per block of
// 4 outputs × 16 columns (8 accumulators), the same chains, so the two give the same bits. The scalar
// loop (built with -ffp-contract=off) rounds each product before adding it. DirectConvF32.
// EveryOutputIsItsChainBitForBit holds each build to its chain (kDirectConvFusedChains).
template <int kVecs>
void Tile(const float* x0, const float* const* rows, const ConvWindow& g, int64_t plane_stride, float* out) {
#if defined(__AVX512F__)
  __m512 acc[kDirectConvOutputs][kVecs];
  for (auto& row : acc)
    for (__m512& a : row) a = _mm512_setzero_ps();
  ForEachStep(x0, g, plane_stride, [&](int64_t step, const float* xp) {
    __m512 xv[kVecs];
    for (int v = 0; v < kVecs; ++v) xv[v] = _mm512_loadu_ps(xp + kVector * v);
    for (int r = 0; r < kDirectConvOutputs; ++r) {
      const __m512 wr = _mm512_set1_ps(rows[r][step]);
      for (int v = 0; v < kVecs; ++v) acc[r][v] = _mm512_fmadd_ps(wr, xv[v], acc[r][v]);
    }
  });
  for (int r = 0; r < kDirectConvOutputs; ++r)
    for (int v = 0; v < kVecs; ++v) _mm512_storeu_ps(out + r * kDirectConvColumns + kVector * v, acc[r][v]);
#elif defined(__AVX2__) && defined(__FMA__)
  constexpr int kRows = 4;
  static_assert(kDirectConvOutputs % kRows == 0, "row blocks cover the tile");
  for (int r0 = 0; r0 < kDirectConvOutputs; r0 += kRows)
    for (int v = 0; v < kVecs; ++v) {
      __m256 acc[kRows][2];
      for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
      const float* const* w = rows + r0;
      ForEachStep(x0 + kVector * v, g, plane_stride, [&](int64_t step, const float* xp) {
        const __m256 lo = _mm256_loadu_ps(xp), hi = _mm256_loadu_ps(xp + 8);
        for (int r = 0; r < kRows; ++r) {
          const __m256 wr = _mm256_broadcast_ss(w[r] + step);
          acc[r][0] = _mm256_fmadd_ps(wr, lo, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(wr, hi, acc[r][1]);
        }
      });
      for (int r = 0; r < kRows; ++r) {
        float* dst = out + (r0 + r) * kDirectConvColumns + kVector * v;
        _mm256_storeu_ps(dst, acc[r][0]);
        _mm256_storeu_ps(dst + 8, acc[r][1]);
      }
    }
#else
  float acc[kDirectConvOutputs][kVecs * kVector] = {};
  ForEachStep(x0, g, plane_stride, [&](int64_t step, const float* xp) {
    for (int r = 0; r < kDirectConvOutputs; ++r)
      for (int j = 0; j < kVecs * kVector; ++j) acc[r][j] += rows[r][step] * xp[j];
  });
  for (int r = 0; r < kDirectConvOutputs; ++r) std::memcpy(out + r * kDirectConvColumns, acc[r], sizeof(acc[r]));
#endif
}

static_assert(kDirectConvColumns == 3 * kVector, "Tile<1..3> covers a column block");

// One channel's planes at stride 1: the padded image, row by row — top border rows and the first
// left border, then per image row its pixels and the right border of this row together with the
// left border of the next (contiguous), then the bottom rows and the tail.
// kWidth > 0 fixes W at compile time: the row copy is then a few vector moves, where a runtime-length
// copy became a library call per 32-, 16- or 8-float row.
template <int64_t kWidth>
void PadPlane(const float* __restrict image, int64_t H, int64_t W_runtime, int64_t p, int64_t stride,
              float* __restrict plane) {
  const int64_t W = kWidth > 0 ? kWidth : W_runtime, PW = W + 2 * p;
  float* dst = plane;
  for (int64_t i = 0; i < p * PW + p; ++i) *dst++ = 0.0f;
  for (int64_t y = 0; y < H; ++y) {
    const float* src = image + y * W;
    if constexpr (kWidth > 0) {
      std::memcpy(dst, src, kWidth * sizeof(float));
      dst += kWidth;
    } else {
      for (int64_t i = 0; i < W; ++i) *dst++ = src[i];
    }
    for (int64_t i = 0; i < 2 * p; ++i) *dst++ = 0.0f;
  }
  for (float* end = plane + stride, *q = dst - p; q < end; ++q) *q = 0.0f;  // from the last row's right border
}

void PadPlane(const float* image, int64_t H, int64_t W, int64_t p, int64_t stride, float* plane) {
  switch (W) {
    case 32: return PadPlane<32>(image, H, W, p, stride, plane);
    case 16: return PadPlane<16>(image, H, W, p, stride, plane);
    case 8: return PadPlane<8>(image, H, W, p, stride, plane);
    default: return PadPlane<0>(image, H, W, p, stride, plane);
  }
}

// One channel's s² phase planes at stride s: plane (a, b) row y2 holds input row s·y2 + a − p at
// columns x2 with input column s·x2 + b − p inside [0, W) — a range [x0, x1) that does not depend
// on the row — and zeros elsewhere. kStride > 0 fixes s at compile time (the gather of s = 2 then
// vectorizes).
template <int kStride>
void PhasePlanes(const float* __restrict image, const ConvWindow& g, int64_t s_runtime, int64_t stride,
                 float* __restrict planes) {
  const int64_t s = kStride > 0 ? kStride : s_runtime, H = g.height, W = g.width, p = g.padding;
  const int64_t PHs = g.PhaseHeight(), PWs = g.PhaseWidth();
  for (int64_t a = 0; a < s; ++a)
    for (int64_t b = 0; b < s; ++b) {
      float* plane = planes + (a * s + b) * stride;
      const int64_t x0 = std::clamp<int64_t>((p - b + s - 1) / s, 0, PWs);
      const int64_t x1 = std::clamp<int64_t>((W + p - b + s - 1) / s, x0, PWs);
      for (int64_t y2 = 0; y2 < PHs; ++y2) {
        float* dst = plane + y2 * PWs;
        const int64_t y = s * y2 + a - p;  // the input row, if inside
        if (y < 0 || y >= H) {
          for (int64_t x2 = 0; x2 < PWs; ++x2) dst[x2] = 0.0f;
          continue;
        }
        const float* src = image + y * W + b - p;
        for (int64_t x2 = 0; x2 < x0; ++x2) dst[x2] = 0.0f;
        for (int64_t x2 = x0; x2 < x1; ++x2) dst[x2] = src[s * x2];
        for (int64_t x2 = x1; x2 < PWs; ++x2) dst[x2] = 0.0f;
      }
      for (int64_t i = PHs * PWs; i < stride; ++i) plane[i] = 0.0f;
    }
}

}  // namespace

int64_t FloatPlaneStride(const ConvWindow& g) {
  return (g.PhaseHeight() * g.PhaseWidth() + kDirectConvColumns + kVector - 1) / kVector * kVector;
}

int64_t FloatPlanesSize(const ConvWindow& g) { return g.channels * g.stride * g.stride * FloatPlaneStride(g); }

void PackFloatPlanes(const float* x, const ConvWindow& g, float* planes) {
  const int64_t H = g.height, W = g.width, s = g.stride, stride = FloatPlaneStride(g);
  for (int64_t c = 0; c < g.channels; ++c) {
    const float* image = x + c * H * W;
    float* own = planes + c * s * s * stride;
    if (s == 1) {
      PadPlane(image, H, W, g.padding, stride, own);
    } else if (s == 2) {
      PhasePlanes<2>(image, g, s, stride, own);
    } else {
      PhasePlanes<0>(image, g, s, stride, own);
    }
  }
}

void DirectConvF32(const float* planes, const float* w, int64_t outputs, const ConvWindow& g, const float* bias,
                   float* y) {
  const int64_t K = g.Depth(), pws = g.PhaseWidth(), OW = g.out_width, P = g.out_height * OW;
  const int64_t columns = (g.out_height - 1) * pws + OW, stride = FloatPlaneStride(g);
  const int64_t tiles = (outputs + kDirectConvOutputs - 1) / kDirectConvOutputs;
  alignas(64) float out[kDirectConvOutputs * kDirectConvColumns];
  for (int64_t j0 = 0; j0 < columns; j0 += kDirectConvColumns) {
    const int64_t n = std::min<int64_t>(kDirectConvColumns, columns - j0);
    for (int64_t t = 0; t < tiles; ++t) {
      // Rows past the last output repeat it; their sums are computed and dropped.
      const float* rows[kDirectConvOutputs];
      for (int r = 0; r < kDirectConvOutputs; ++r) rows[r] = w + std::min(t * kDirectConvOutputs + r, outputs - 1) * K;
      if (n > 2 * kVector) {
        Tile<3>(planes + j0, rows, g, stride, out);
      } else if (n > kVector) {
        Tile<2>(planes + j0, rows, g, stride, out);
      } else {
        Tile<1>(planes + j0, rows, g, stride, out);
      }
      // Scatter the grid rows oy that the block [j0, j0 + n) touches: columns ox < OW only.
      const int valid = static_cast<int>(std::min<int64_t>(kDirectConvOutputs, outputs - t * kDirectConvOutputs));
      for (int64_t oy = j0 / pws; oy * pws < j0 + n; ++oy) {
        const int64_t ox0 = std::max<int64_t>(j0 - oy * pws, 0), ox1 = std::min<int64_t>(j0 + n - oy * pws, OW);
        if (ox0 >= ox1) continue;
        for (int r = 0; r < valid; ++r) {
          const int64_t o = t * kDirectConvOutputs + r;
          const float* src = out + r * kDirectConvColumns + (oy * pws + ox0 - j0);
          float* dst = y + o * P + oy * OW + ox0;
          const float add = bias != nullptr ? bias[o] : 0.0f;  // no bias: + 0 (changes only −0 to +0)
          for (int64_t i = 0; i < ox1 - ox0; ++i) dst[i] = src[i] + add;
        }
      }
    }
  }
}

}  // namespace cimsim
