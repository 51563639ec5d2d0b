#include "nets/im2col_quads.h"

#include <algorithm>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace cimsim {
namespace {

// q[i] = the quad of a[i], b[i], c[i], d[i]. The restrict qualifiers tell GCC that the uint32 stores
// do not alias the uint8 sources (uint8_t may alias anything). Rows are short (32, 16, 8 codes), shorter
// than the 64 codes GCC's own vectorized loop takes per step, so the loop runs in fixed blocks of 16
// and 8 that it turns into straight-line vector code (zero-extend, shift, or, one store).
template <int kBlock>
void PackBlock(const uint8_t* __restrict a, const uint8_t* __restrict b, const uint8_t* __restrict c,
               const uint8_t* __restrict d, uint32_t* __restrict q) {
#if defined(__AVX512F__)
  // GCC's own code for this loop widens in two 128-bit steps; one zero-extension per source to
  // 32-bit lanes, three shifts, three ors and one store do a block of 16 (of 8 with 256-bit registers).
  if constexpr (kBlock == 16) {
    const __m512i va = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
    const __m512i vb = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m512i vc = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(c)));
    const __m512i vd = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d)));
    const __m512i v = _mm512_or_si512(_mm512_or_si512(va, _mm512_slli_epi32(vb, 8)),
                                      _mm512_or_si512(_mm512_slli_epi32(vc, 16), _mm512_slli_epi32(vd, 24)));
    _mm512_storeu_si512(q, v);
    return;
  } else if constexpr (kBlock == 8) {
    const __m256i va = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a)));
    const __m256i vb = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
    const __m256i vc = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(c)));
    const __m256i vd = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(d)));
    const __m256i v = _mm256_or_si256(_mm256_or_si256(va, _mm256_slli_epi32(vb, 8)),
                                      _mm256_or_si256(_mm256_slli_epi32(vc, 16), _mm256_slli_epi32(vd, 24)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), v);
    return;
  }
#endif
  for (int i = 0; i < kBlock; ++i) q[i] = QuadCodes::PackQuad(a[i], b[i], c[i], d[i]);
}

void PackRow(const uint8_t* __restrict a, const uint8_t* __restrict b, const uint8_t* __restrict c,
             const uint8_t* __restrict d, uint32_t* __restrict q, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) PackBlock<16>(a + i, b + i, c + i, d + i, q + i);
  for (; i + 8 <= n; i += 8) PackBlock<8>(a + i, b + i, c + i, d + i, q + i);
  for (; i < n; ++i) q[i] = QuadCodes::PackQuad(a[i], b[i], c[i], d[i]);
}

// Stride 1, all four rows present: OH output rows of OW quads, row oy reading OW codes of each source
// at offset oy·PW. A compile-time OW (the ResNet widths) makes the body straight-line code.
template <int64_t kOW>
void PackRowsFixed(const uint8_t* const* origin, int64_t PW, int64_t OH, uint32_t* q) {
  for (int64_t oy = 0; oy < OH; ++oy) {
    const int64_t off = oy * PW;
    for (int64_t i = 0; i < kOW; i += (kOW >= 16 ? 16 : 8)) {
      if constexpr (kOW >= 16)
        PackBlock<16>(origin[0] + off + i, origin[1] + off + i, origin[2] + off + i, origin[3] + off + i, q + oy * kOW + i);
      else
        PackBlock<8>(origin[0] + off + i, origin[1] + off + i, origin[2] + off + i, origin[3] + off + i, q + oy * kOW + i);
    }
  }
}

void PackRows(const uint8_t* const* origin, int64_t PW, int64_t OH, int64_t OW, uint32_t* q) {
  switch (OW) {
    case 32: return PackRowsFixed<32>(origin, PW, OH, q);
    case 16: return PackRowsFixed<16>(origin, PW, OH, q);
    case 8: return PackRowsFixed<8>(origin, PW, OH, q);
    default:
      for (int64_t oy = 0; oy < OH; ++oy)
        PackRow(origin[0] + oy * PW, origin[1] + oy * PW, origin[2] + oy * PW, origin[3] + oy * PW, q + oy * OW, OW);
  }
}

// dst[i] = the low byte of src[i] (codes already within [0, 255]), 16 at a time with `vpmovdb`.
void NarrowRow(const int32_t* __restrict src, uint8_t* __restrict dst, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i), _mm512_cvtepi32_epi8(_mm512_loadu_si512(src + i)));
#endif
  for (; i < n; ++i) dst[i] = static_cast<uint8_t>(src[i]);
}

}  // namespace

void PadCodesU8(const int32_t* x, const ConvWindow& g, std::vector<uint8_t>& padded) {
  const int64_t C = g.channels, H = g.height, W = g.width, p = g.padding, PH = g.PaddedHeight(), PW = g.PaddedWidth();
  const auto size = static_cast<size_t>(C * PH * PW);
  if (padded.size() < size) padded.resize(size);
  // Only the border is zeroed (the buffer is shared by layers of other shapes): per channel the first
  // and last p rows, and per image row its first and last p codes.
  for (int64_t c = 0; c < C; ++c) {
    uint8_t* plane = padded.data() + c * PH * PW;
    for (int64_t i = 0; i < p * PW; ++i) plane[i] = 0, plane[(p + H) * PW + i] = 0;
    for (int64_t y = 0; y < H; ++y) {
      const int32_t* src = x + (c * H + y) * W;
      uint8_t* dst = plane + (y + p) * PW;
      for (int64_t i = 0; i < p; ++i) dst[i] = 0, dst[p + W + i] = 0;
      NarrowRow(src, dst + p, W);
    }
  }
}

void Im2ColQuads(const uint8_t* padded, const ConvWindow& g, QuadCodes& out, int64_t column0) {
  const int64_t K = g.Depth(), k = g.kernel, s = g.stride, PH = g.PaddedHeight(), PW = g.PaddedWidth();
  const int64_t OH = g.out_height, OW = g.out_width;
  // A row beyond K reads this zero, with column step 0 (its byte of the quad is 0).
  static constexpr uint8_t kZero = 0;
  for (int64_t kq = 0; kq < out.quads(); ++kq) {
    uint32_t* row = out.QuadRow(kq) + column0;
    // The window origin (position (0, 0)) of each of the quad's four rows, and its column step.
    const uint8_t* origin[4];
    int64_t step[4];
    for (int b = 0; b < 4; ++b) {
      const int64_t r = 4 * kq + b;
      if (r < K) {
        const int64_t c = r / (k * k), ky = (r / k) % k, kx = r % k;
        origin[b] = padded + (c * PH + ky) * PW + kx;
        step[b] = s;
      } else {
        origin[b] = &kZero;
        step[b] = 0;
      }
    }
    if (s == 1 && step[3] == 1) {
      // Four full rows at stride 1: contiguous reads, a loop GCC vectorizes (zero-extend, shift, or).
      PackRows(origin, PW, OH, OW, row);
      continue;
    }
    for (int64_t oy = 0; oy < OH; ++oy) {
      uint32_t* q = row + oy * OW;
      const int64_t y_off = oy * s * PW;
      const uint8_t* a = origin[0] + (step[0] ? y_off : 0);
      const uint8_t* b = origin[1] + (step[1] ? y_off : 0);
      const uint8_t* c = origin[2] + (step[2] ? y_off : 0);
      const uint8_t* d = origin[3] + (step[3] ? y_off : 0);
      for (int64_t ox = 0; ox < OW; ++ox)
        q[ox] = QuadCodes::PackQuad(a[ox * step[0]], b[ox * step[1]], c[ox * step[2]], d[ox * step[3]]);
    }
  }
}

}  // namespace cimsim
