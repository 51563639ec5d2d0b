// int_gemm.h — exact int16 × int16 → int32 matrix products, the arithmetic of the integer engine.
//
//     y[o, j] = Σ_{k<K} w[o, k] · x[k, j]      o < N (outputs), j < n (input vectors)
//
// w: weight codes [N, K] int16 row-major; x: input codes as PairedCodes (K × n, k-pair interleaved);
// y: int32 row-major with leading dimension ldy >= n. Only y[o, j] for j < n is written; y[o, j] for
// n <= j < ldy is left untouched. N = 0 or n = 0: nothing is written (y may be null); K = 0: y = 0.
//
// Exactness: the sums are formed in int32 with wrap-around additions, so the result equals the
// mathematical sum whenever every partial sum fits; the caller guarantees
//     K · max|w| · max|x| < 2^31
// (e.g. 8-bit weights |w| <= 127 and activations x <= 255 allow K <= 66,311). IdealCore checks it.
//
// IntGemmReference: three plain loops, the oracle. IntGemm: the fast path, bit-identical to it.
// It tiles y into register blocks of up to 8 rows × 48 columns (24 accumulators) and, for each row
// pair kp, multiplies one broadcast int32 weight pair (w[o,2kp], w[o,2kp+1]) with 16 column pairs of
// x per 512-bit load: `vpdpwssd` (_mm512_dpwssd_epi32, issued through inline asm) with AVX-512 VNNI,
// _mm512_madd_epi16 + _mm512_add_epi32 with AVX-512BW, the same with 256-bit registers and tiles of
// 4 rows × 24 columns with AVX2, a scalar loop otherwise; the choice is made at compile time
// (-march). Column tails use masked (or partial) stores. Single-threaded (callers run images in
// parallel), allocation-free, reentrant. Layers with unsigned inputs in [0, 255] have a path with
// twice the multiply-adds per instruction, sim/int8_gemm.h; IdealCore chooses between the two.
#pragma once

#include <cstdint>

#include "sim/paired_codes.h"
#include "sim/row_blocked_weights.h"

namespace cimsim {

// Weights [N, K] repacked once for IntGemm: int32 pairs, w[o, 2kp] in the low 16 bits and
// w[o, 2kp+1] in the high 16 bits (0 past K), grouped in blocks of kRowBlock rows so that one
// micro-kernel step reads kRowBlock consecutive pairs: pair (o, kp) sits at
//     ((o / kRowBlock) · Kp + kp) · kRowBlock + o % kRowBlock,
// rows past N zero (RowBlockedWeights, sim/row_blocked_weights.h, with 2 codes per lane).
class PackedWeights : public RowBlockedWeights<2> {
 public:
  PackedWeights() = default;
  // w: [N, K] row-major; N, K >= 0 (std::invalid_argument otherwise).
  PackedWeights(const int16_t* w, int64_t N, int64_t K);

  // Sets the shape and zero-fills every pair (padding included), for filling in place with SetPair;
  // never shrinks the capacity, so a buffer reused for same-or-smaller shapes does not allocate.
  void Reshape(int64_t N, int64_t K) { SetShapeZeroed(N, K, "PackedWeights"); }
  // Two codes as the int32 lane `vpmaddwd` multiplies: lo in the low 16 bits, hi in the high 16.
  static int32_t PackPair(int16_t lo, int16_t hi) {
    return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(lo)) |
                                (static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16));
  }
  // Pair (o, kp) = (w[o, 2kp], w[o, 2kp+1]) as PackPair; o < N, kp < pairs(), w[o, K] = 0 when K is odd.
  void SetPair(int64_t o, int64_t kp, int32_t pair) { SetLane(o, kp, pair); }
  using RowBlockedWeights::mutable_data;

  int64_t pairs() const { return lanes(); }
  // The pair (w[o, 2kp], w[o, 2kp+1]) for o < N, kp < pairs().
  int32_t Pair(int64_t o, int64_t kp) const { return Lane(o, kp); }
};

// The oracle: y[o, j] = Σ_k w[o,k]·x.Get(k, j) for o < N, j < x.n(). Requires x.K() == K, ldy >= x.n().
void IntGemmReference(const int16_t* w, int64_t N, int64_t K, const PairedCodes& x, int32_t* y, int64_t ldy);

// The fast path, bit-identical to IntGemmReference. Throws std::invalid_argument when x.K() != w.K()
// or ldy < x.n().
void IntGemm(const PackedWeights& w, const PairedCodes& x, int32_t* y, int64_t ldy);

}  // namespace cimsim
