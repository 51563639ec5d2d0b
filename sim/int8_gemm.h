// int8_gemm.h — exact unsigned-8 × signed-8 → int32 matrix products: the integer engine's fast path
// for layers whose input codes fit in [0, 255] and whose weights fit in [−128, 127].
//
//     y[o, j] = Σ_{k<K} w[o, k] · x[k, j]      o < N (outputs), j < n (input vectors)
//
// w: weight codes [N, K] int16 row-major, each in [−128, 127] (8-bit or narrower symmetric weights);
// x: input codes as QuadCodes (sim/quad_codes.h: K × n, k-quad interleaved), each in [0, 255];
// y: int32 row-major with leading dimension ldy >= n. Only y[o, j] for j < n is written; N = 0 or
// n = 0: nothing is written (y may be null); K = 0: y = 0. The same contract as IntGemm
// (sim/int_gemm.h), which stays the path for signed inputs (the image codes in [−127, 127]).
//
// Exactness. `vpdpbusd` (_mm512_dpbusd_epi32, issued through inline asm like IntGemm's vpdpwssd)
// multiplies, per int32 lane, four zero-extended u8 codes with four sign-extended s8 codes, each
// product exact (|u·s| <= 255·128 = 32,640), and adds their sum to the lane with a wrap-around
// (non-saturating: that is vpdpbusds) int32 addition; the scalar fallback does the same in int32.
// Every partial sum is a sum of some of the K products, so |partial| <= K·max|w|·max|x|; when
//     K · max|w| · max|x| < 2^31
// no addition wraps and y is the exact sum, bit-identical to IntGemm and IntGemmReference. With the
// widest codes (|w| <= 128, x <= 255) that is K·32,640 < 2^31, i.e. K <= 65,793. (Wrap-around
// addition is exact modulo 2^32 anyway, so only the final sum would have to fit; the bound above is
// the simple sufficient condition.) The caller guarantees it: IdealCore (sim/ideal_core.h) proves
// K·(2^(weight_bits−1) − 1)·max(|x_min|, |x_max|) < 2^31 when it is built, before choosing this path
// (its symmetric weights have |w| <= 127, so K <= 66,311 for W8A8).
//
// Int8GemmReference: three plain loops in int64, the oracle. Int8Gemm: the fast path, bit-identical
// to it. With AVX-512 VNNI it tiles y into register blocks of up to 8 rows × 48 columns (24
// accumulators) and, for each row quad kq, multiplies one broadcast int32 weight quad
// (w[o, 4kq .. 4kq+3]) with 16 column quads of x per 512-bit load: 64 multiply-adds per
// instruction, twice IntGemm's 32. Without AVX-512 VNNI it is a scalar loop (vpmaddubsw would
// saturate its int16 pair sums, 2·255·128 > 2^15 − 1), so callers should then keep to IntGemm:
// kInt8GemmIsFast says which. The choice is made at compile time (-march). Column tails use masked
// stores. Single-threaded (callers run images in parallel), allocation-free, reentrant.
#pragma once

#include <cstdint>

#include "sim/quad_codes.h"
#include "sim/row_blocked_weights.h"

namespace cimsim {

#if defined(__AVX512VNNI__) && defined(__AVX512BW__)
inline constexpr bool kInt8GemmIsFast = true;
#else
inline constexpr bool kInt8GemmIsFast = false;
#endif

// Weights [N, K] repacked once for Int8Gemm: int32 quads, w[o, 4kq + b] as a two's-complement byte in
// byte b (0 past K), grouped in blocks of kRowBlock rows so that one micro-kernel step reads
// kRowBlock consecutive quads: quad (o, kq) sits at
//     ((o / kRowBlock) · Kq + kq) · kRowBlock + o % kRowBlock,
// rows past N zero (RowBlockedWeights, sim/row_blocked_weights.h, with 4 codes per lane: PackedWeights'
// layout with quads for pairs).
class PackedWeights8 : public RowBlockedWeights<4> {
 public:
  PackedWeights8() = default;
  // w: [N, K] row-major, every code in [−128, 127]; N, K >= 0. std::invalid_argument otherwise,
  // naming the offending code.
  PackedWeights8(const int16_t* w, int64_t N, int64_t K);

  // Four codes as the int32 lane `vpdpbusd` multiplies: c0 in byte 0 … c3 in byte 3.
  static int32_t PackQuad(int8_t c0, int8_t c1, int8_t c2, int8_t c3) {
    return static_cast<int32_t>(uint32_t{static_cast<uint8_t>(c0)} | (uint32_t{static_cast<uint8_t>(c1)} << 8) |
                                (uint32_t{static_cast<uint8_t>(c2)} << 16) | (uint32_t{static_cast<uint8_t>(c3)} << 24));
  }

  int64_t quads() const { return lanes(); }
  // The quad w[o, 4kq .. 4kq+3] for o < N, kq < quads().
  int32_t Quad(int64_t o, int64_t kq) const { return Lane(o, kq); }
};

// The oracle: y[o, j] = Σ_k w[o,k]·x.Get(k, j) for o < N, j < x.n(), summed in int64 and stored as
// int32. Requires x.K() == K, ldy >= x.n() (std::invalid_argument otherwise).
void Int8GemmReference(const int16_t* w, int64_t N, int64_t K, const QuadCodes& x, int32_t* y, int64_t ldy);

// The fast path, bit-identical to Int8GemmReference under the bound above. Throws
// std::invalid_argument when x.K() != w.K() or ldy < x.n().
void Int8Gemm(const PackedWeights8& w, const QuadCodes& x, int32_t* y, int64_t ldy);

// The same kernel where k-step g (row quad g) of x is not a row of a QuadCodes matrix but the uint32
// run starting at x0 + offsets[g]:
//     y[o, j] = Σ_{g<G} Σ_{b<4} w[o, 4g + b] · byte_b(x0[offsets[g] + j])      o < N, j < n,
// G = w.quads(). A direct convolution reads shifted windows of one padded input this way, without a
// lowered matrix (nets/direct_conv_u8.h). The caller guarantees that x0[offsets[g] + j] is readable
// for every g and every j below n rounded up to a multiple of 16 (whole vectors are loaded; the sums
// of the extra lanes are not stored). The same exactness bound as Int8Gemm, with K = 4·G.
// ldy >= n (std::invalid_argument otherwise).
void Int8GemmWindows(const PackedWeights8& w, const uint32_t* x0, const int64_t* offsets, int64_t n, int32_t* y,
                     int64_t ldy);
// Its oracle: w [N, K] int16 row-major (K <= 4·G codes, the rest 0), plain loops in int64.
void Int8GemmWindowsReference(const int16_t* w, int64_t N, int64_t K, const uint32_t* x0, const int64_t* offsets,
                              int64_t n, int32_t* y, int64_t ldy);

}  // namespace cimsim
