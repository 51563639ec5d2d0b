// requantize_lanes.h — the vector body of RequantizeRows (quant/fixed_point.h), written once over a
// vector ISA's int32 operations. For every lane, with acc_lo/acc_hi the range where acc + bias fits
// in int32 (the saturating add with one shared bias), L = m.LeftShift(), R = m.RightShift():
//     x  = min(max(acc, acc_lo), acc_hi) + bias
//     x  = x·2^L, saturated to int32 (INT32_MAX where x > INT32_MAX >> L, INT32_MIN where x < INT32_MIN >> L)
//     y  = bits 31..62 of x·M + 2^30  (= ⌊(x·M + 2^30) / 2^31⌋: the gemmlowp nudge-and-truncate for
//          M >= 0, which never meets INT32_MIN·INT32_MIN)
//     y  = (y >> R) + [(y & (2^R − 1)) > (2^R − 1) >> 1 + (y < 0)]   (RoundingDivideByPOT: ties away from 0)
//     out = min(max(y, lo), hi)
// The 64-bit products come from mul_epi32 on the even lanes and on the odd lanes shifted down, and
// are blended back (bits 31..62 into each 32-bit lane). Each row is walked in whole vectors and one
// masked tail (the other lanes load 0 and are not stored), so a row of 8 codes costs one step.
//
// Lanes (the ISA) supplies: Int, Mask, Tail, kCount; Set1, Set1x64, Min, Max, Add, Add64, And,
// Greater (a > b per lane), Select (mask ? t : f), AddOneWhere, ShiftLeft/ShiftRight (by a count
// register), MulEven (the signed 64-bit products of the even lanes), OddDown (odd lanes to even),
// HighWords (bits 31..62 of the even and odd products into one vector), SignBit (y >> 31,
// logical), Load/Store, TailMask, LoadTail/StoreTail. Avx512Lanes: 16 lanes, mask registers.
// Avx2Lanes: 8 lanes, compare vectors (−1 where true) as masks. Both are compiled where the build
// allows (an AVX-512 build has both), so quant/fixed_point_test.cc checks each against the reference.
#pragma once

#include <cstdint>
#include <limits>

#include "quant/fixed_point.h"

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace cimsim::requantize_lanes {

#if defined(__AVX512F__)
struct Avx512Lanes {
  using Int = __m512i;
  using Mask = __mmask16;
  using Tail = __mmask16;
  static constexpr int64_t kCount = 16;
  static Int Set1(int32_t v) { return _mm512_set1_epi32(v); }
  static Int Set1x64(int64_t v) { return _mm512_set1_epi64(v); }
  static Int Min(Int a, Int b) { return _mm512_min_epi32(a, b); }
  static Int Max(Int a, Int b) { return _mm512_max_epi32(a, b); }
  static Int Add(Int a, Int b) { return _mm512_add_epi32(a, b); }
  static Int Add64(Int a, Int b) { return _mm512_add_epi64(a, b); }
  static Int And(Int a, Int b) { return _mm512_and_si512(a, b); }
  static Mask Greater(Int a, Int b) { return _mm512_cmpgt_epi32_mask(a, b); }
  static Int Select(Mask m, Int t, Int f) { return _mm512_mask_mov_epi32(f, m, t); }
  static Int AddOneWhere(Mask m, Int y) { return _mm512_mask_add_epi32(y, m, y, _mm512_set1_epi32(1)); }
  static Int ShiftLeft(Int x, __m128i count) { return _mm512_sll_epi32(x, count); }
  static Int ShiftRight(Int x, __m128i count) { return _mm512_sra_epi32(x, count); }
  static Int MulEven(Int x, Int m) { return _mm512_mul_epi32(x, m); }
  static Int OddDown(Int x) { return _mm512_srli_epi64(x, 32); }
  static Int HighWords(Int even, Int odd) {
    return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 31), _mm512_slli_epi64(odd, 1));
  }
  static Int SignBit(Int y) { return _mm512_srli_epi32(y, 31); }
  static Int Load(const int32_t* p) { return _mm512_loadu_si512(p); }
  static void Store(int32_t* p, Int v) { _mm512_storeu_si512(p, v); }
  static Tail TailMask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }
  static Int LoadTail(const int32_t* p, Tail t) { return _mm512_maskz_loadu_epi32(t, p); }
  static void StoreTail(int32_t* p, Tail t, Int v) { _mm512_mask_storeu_epi32(p, t, v); }
};
#endif

#if defined(__AVX2__)
struct Avx2Lanes {
  using Int = __m256i;
  using Mask = __m256i;
  using Tail = __m256i;
  static constexpr int64_t kCount = 8;
  static Int Set1(int32_t v) { return _mm256_set1_epi32(v); }
  static Int Set1x64(int64_t v) { return _mm256_set1_epi64x(v); }
  static Int Min(Int a, Int b) { return _mm256_min_epi32(a, b); }
  static Int Max(Int a, Int b) { return _mm256_max_epi32(a, b); }
  static Int Add(Int a, Int b) { return _mm256_add_epi32(a, b); }
  static Int Add64(Int a, Int b) { return _mm256_add_epi64(a, b); }
  static Int And(Int a, Int b) { return _mm256_and_si256(a, b); }
  static Mask Greater(Int a, Int b) { return _mm256_cmpgt_epi32(a, b); }
  static Int Select(Mask m, Int t, Int f) { return _mm256_blendv_epi8(f, t, m); }
  static Int AddOneWhere(Mask m, Int y) { return _mm256_sub_epi32(y, m); }  // m = −1 where true
  static Int ShiftLeft(Int x, __m128i count) { return _mm256_sll_epi32(x, count); }
  static Int ShiftRight(Int x, __m128i count) { return _mm256_sra_epi32(x, count); }
  static Int MulEven(Int x, Int m) { return _mm256_mul_epi32(x, m); }
  static Int OddDown(Int x) { return _mm256_srli_epi64(x, 32); }
  static Int HighWords(Int even, Int odd) {
    return _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  }
  static Int SignBit(Int y) { return _mm256_srli_epi32(y, 31); }
  static Int Load(const int32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static void Store(int32_t* p, Int v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v); }
  static Tail TailMask(int64_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int32_t>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static Int LoadTail(const int32_t* p, Tail t) { return _mm256_maskload_epi32(p, t); }
  static void StoreTail(int32_t* p, Tail t, Int v) { _mm256_maskstore_epi32(p, t, v); }
};
#endif

#if defined(__AVX512F__) || defined(__AVX2__)
// RequantizeRows (quant/fixed_point.h) on the lanes of V; the same arguments and preconditions.
template <class V>
void RequantizeRowsWith(const int32_t* acc, int64_t rows, int64_t width, int64_t acc_pitch, int32_t bias,
                        FixedPointMultiplier m, int32_t lo, int32_t hi, int32_t* out, int64_t out_pitch) {
  using Int = typename V::Int;
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();
  const int left = m.LeftShift(), right = m.RightShift();
  const Int acc_lo = V::Set1(bias < 0 ? kMin - bias : kMin), acc_hi = V::Set1(bias > 0 ? kMax - bias : kMax);
  const Int v_bias = V::Set1(bias);
  const Int shl_hi = V::Set1(kMax >> left), shl_lo = V::Set1(kMin >> left);
  const Int int_max = V::Set1(kMax), int_min = V::Set1(kMin);
  const __m128i left_count = _mm_cvtsi32_si128(left), right_count = _mm_cvtsi32_si128(right);
  const Int mult = V::Set1x64(m.multiplier), nudge = V::Set1x64(int64_t{1} << 30);
  const int32_t low_bits = static_cast<int32_t>((int64_t{1} << right) - 1);
  const Int mask = V::Set1(low_bits), half = V::Set1(low_bits >> 1);
  const Int v_lo = V::Set1(lo), v_hi = V::Set1(hi);
  auto lanes = [&](Int x) {
    x = V::Add(V::Min(V::Max(x, acc_lo), acc_hi), v_bias);
    if (left > 0) {
      const typename V::Mask over = V::Greater(x, shl_hi), under = V::Greater(shl_lo, x);
      x = V::Select(under, int_min, V::Select(over, int_max, V::ShiftLeft(x, left_count)));
    }
    const Int even = V::Add64(V::MulEven(x, mult), nudge);
    const Int odd = V::Add64(V::MulEven(V::OddDown(x), mult), nudge);
    Int y = V::HighWords(even, odd);
    if (right > 0) {
      const typename V::Mask up = V::Greater(V::And(y, mask), V::Add(half, V::SignBit(y)));
      y = V::AddOneWhere(up, V::ShiftRight(y, right_count));
    }
    return V::Min(V::Max(y, v_lo), v_hi);
  };
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * acc_pitch;
    int32_t* o = out + r * out_pitch;
    int64_t i = 0;
    for (; i + V::kCount <= width; i += V::kCount) V::Store(o + i, lanes(V::Load(a + i)));
    if (i < width) {
      const typename V::Tail tail = V::TailMask(width - i);
      V::StoreTail(o + i, tail, lanes(V::LoadTail(a + i, tail)));
    }
  }
}
#endif

}  // namespace cimsim::requantize_lanes
