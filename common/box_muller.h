// box_muller.h — raw 64-bit words to standard normals, a block at a time (Box–Muller, both outputs).
//
// For pair i (0 <= i < pairs), with w0 = bits[2i], w1 = bits[2i+1]:
//   u1 = ((w0 >> 11) + 1) · 2^−53   in (0, 1]   (53 bits; no rejection, ln never sees 0)
//   u2 = (w1 >> 11) · 2^−53         in [0, 1)
//   r  = sqrt(−2 ln u1)             in [0, sqrt(106 ln 2) ≈ 8.5717]
//   out[2i] = r · cos(2π u2),  out[2i+1] = r · sin(2π u2)
// Each output is N(0, 1) and the two of a pair are independent; every output is a pure function of
// its own two words, so a block of P pairs gives exactly (bit for bit) what P blocks of one pair give.
//
// BoxMullerBlock is the fast path: its own branch-free ln, sqrt and sincos, written as straight-line
// double arithmetic that the compiler vectorizes (GCC 12 -O3 -march=native: 8 pairs per AVX-512
// iteration):
//   ln u1:   u1 = 2^k · m with m in [√½, √2) (k from the exponent bits, m by moving k out of the
//            exponent field, both exact); f = m − 1 (exact); s = f / (2 + f), |s| <= 0.1716;
//            ln m = 2 atanh s = 2 (s + s³/3 + s⁵/5 + … + s²¹/21)  (truncation < 1e−18 relative);
//            ln u1 = k·ln 2 + ln m in one fused multiply-add.
//   sqrt:    three coupled Newton (Goldschmidt) steps for √v and 1/(2√v) from an exponent-bits
//            seed, then one residual correction (std::sqrt would keep the loop scalar: GCC guards
//            it with an errno branch unless -fno-math-errno).
//   sincos:  4·u2 = n + x with n = round(4·u2) in {0, …, 4} and x in [−½, ½], both from the integer
//            w1 >> 11 exactly (no rounding in the reduction); θ = (π/2)·x in [−π/4, π/4];
//            sin θ through θ¹⁷ and cos θ through θ¹⁸ of their Taylor series (truncation < 2e−19),
//            coefficients (π/2)^j / j! computed at compile time; then the quadrant n mod 4 swaps
//            and negates: (cos, sin)(2π u2) = (C, S), (−S, C), (−C, −S), (S, −C) for n mod 4 = 0..3.
//   Polynomials are evaluated by Estrin's scheme (short dependency chains for short blocks).
// Every multiply-add is an explicit std::fma and the rest is +, −, ×, ÷ and integer bit operations
// (all exact or correctly rounded), so the result is bit-identical however the loop is vectorized
// or blocked, and across builds (checked: the AVX-512 build, a plain x86-64 build calling the
// library fma, and -O0 give the same bits). Accuracy against the reference: |fast −
// reference| <= 1e−13 · max(1, |reference|) for every input; measured worst 3e−15 over 8M seeded
// outputs, and that is the reference's own rounding of 2π·u2 near zeros of cos and sin.
//
// BoxMullerBlockReference is the slow, obvious oracle: the same u1, u2, then std::log, std::sqrt,
// std::cos and std::sin of 2π·u2 (2π·u2 rounded to double, as anyone would write it).
//
// bits: 2·pairs words; out: 2·pairs doubles, not overlapping bits; pairs <= 0 does nothing.
#pragma once

#include <cstdint>

namespace cimsim {

void BoxMullerBlock(const uint64_t* bits, double* out, int64_t pairs);
void BoxMullerBlockReference(const uint64_t* bits, double* out, int64_t pairs);

}  // namespace cimsim
