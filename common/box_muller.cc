#include "common/box_muller.h"

#include <array>
#include <bit>
#include <cmath>
#include <numbers>
#include <utility>

namespace cimsim {
namespace {

constexpr int kLogTerms = 10;     // ln m = 2s + s·z·(2/3 + 2/5 z + … + 2/21 z⁹), z = s²
constexpr int kSinCosTerms = 9;   // sin θ through θ¹⁷, cos θ through θ¹⁸

// 2/3, 2/5, …, 2/(2·kLogTerms + 1): the atanh series after its leading 2s.
constexpr std::array<double, kLogTerms> LogCoefficients() {
  std::array<double, kLogTerms> c{};
  for (int j = 0; j < kLogTerms; ++j) c[j] = 2.0L / (2 * j + 3);
  return c;
}

// a_n = (π/2)^n / n!, in long double so that each rounds once to double.
constexpr long double QuarterTurnPowerOverFactorial(int n) {
  long double a = 1.0L;
  for (int i = 1; i <= n; ++i) a = a * (std::numbers::pi_v<long double> / 2) / i;
  return a;
}

// sin((π/2)·x) = x · Σ_j (−1)^j a_{2j+1} x^{2j}.
constexpr std::array<double, kSinCosTerms> SinCoefficients() {
  std::array<double, kSinCosTerms> c{};
  for (int j = 0; j < kSinCosTerms; ++j) {
    c[j] = static_cast<double>((j % 2 ? -1 : 1) * QuarterTurnPowerOverFactorial(2 * j + 1));
  }
  return c;
}

// cos((π/2)·x) = 1 + x² · Σ_j (−1)^(j+1) a_{2j+2} x^{2j}.
constexpr std::array<double, kSinCosTerms> CosCoefficients() {
  std::array<double, kSinCosTerms> c{};
  for (int j = 0; j < kSinCosTerms; ++j) {
    c[j] = static_cast<double>((j % 2 ? 1 : -1) * QuarterTurnPowerOverFactorial(2 * j + 2));
  }
  return c;
}

constexpr std::array<double, kLogTerms> kLogC = LogCoefficients();
constexpr std::array<double, kSinCosTerms> kSinC = SinCoefficients();
constexpr std::array<double, kSinCosTerms> kCosC = CosCoefficients();

// Bits of the double nearest √½: bits(u) − bits(√½) = k·2^52 + (bits(m) − bits(√½)) for
// u = 2^k·m, m in [√½, √2), because a positive double's bits grow by 2^52 per doubling.
constexpr uint64_t kSqrtHalfBits = std::bit_cast<uint64_t>(std::numbers::sqrt2 / 2);

// Σ_j c[j]·z^j by Estrin's scheme: pair neighbours, c[2i] + c[2i+1]·z, then the same on the
// half-length polynomial in z², … — depth ⌈log2 N⌉ instead of N − 1 dependent steps, which keeps
// the short blocks of Rng::Normal's refill (16 pairs, two vector iterations) low in latency.
// Unrolled at compile time so the caller's loop stays innermost (the vectorizer takes no nests).
template <size_t I, size_t N>
inline double PairTerm(const std::array<double, N>& c, double z) {
  if constexpr (2 * I + 1 < N) {
    return std::fma(c[2 * I + 1], z, c[2 * I]);
  } else {
    return c[2 * I];
  }
}

template <size_t N, size_t... I>
inline std::array<double, (N + 1) / 2> PairTerms(const std::array<double, N>& c, double z,
                                                 std::index_sequence<I...>) {
  return {PairTerm<I>(c, z)...};
}

template <size_t N>
inline double Polynomial(const std::array<double, N>& c, double z) {
  if constexpr (N == 1) {
    return c[0];
  } else {
    return Polynomial(PairTerms(c, z, std::make_index_sequence<(N + 1) / 2>{}), z * z);
  }
}

// ln u for u in [2^−53, 1] (any positive normal double, in fact).
inline double FastLog(double u) {
  const uint64_t bits = std::bit_cast<uint64_t>(u);
  const int64_t k = static_cast<int64_t>(bits - kSqrtHalfBits) >> 52;
  const double m = std::bit_cast<double>(bits - (static_cast<uint64_t>(k) << 52));
  const double f = m - 1.0;  // exact: m in [√½, √2)
  const double s = f / (2.0 + f);
  const double z = s * s;
  const double ln_m = std::fma(s, z * Polynomial(kLogC, z), s + s);
  return std::fma(static_cast<double>(k), std::numbers::ln2, ln_m);
}

// √v for v = −2 ln u1 in [0, 74] (any non-negative normal double, in fact), within one ulp (equal to
// std::sqrt on all but 86 of 5·10^7 random inputs tried); ±0 gives ±0. std::sqrt would keep the loop
// scalar (GCC guards it with an errno branch unless -fno-math-errno).
//   Seed y ≈ 1/√v from the bits: bits(y) = kRsqrtSeed − bits(v)/2 halves and negates the exponent;
//   the constant (found by a scan over v in [1, 4), one period) minimizes the worst relative error,
//   3.42 %.
//   Three coupled Newton (Goldschmidt) steps on g ≈ √v, h ≈ 1/(2√v): e = ½ − g·h, g ← g + g·e,
//   h ← h + h·e; each squares the relative error (ε → 1.5ε²: 3.4e−2, 1.8e−3, 4.6e−6, 3.2e−11).
//   Last, g is corrected by its residual, g + h·(v − g²), leaving ~ε² (< 1e−20) before rounding.
inline double FastSqrt(double v) {
  constexpr uint64_t kRsqrtSeed = 0x5FE6EC85D4E463E0;
  const double y = std::bit_cast<double>(kRsqrtSeed - (std::bit_cast<uint64_t>(v) >> 1));
  double g = v * y, h = 0.5 * y;
  for (int step = 0; step < 3; ++step) {
    const double e = std::fma(-g, h, 0.5);
    g = std::fma(g, e, g);
    h = std::fma(h, e, h);
  }
  return std::fma(h, std::fma(-g, g, v), g);
}

// One pair: words (w0, w1) -> (r cos 2πu2, r sin 2πu2) as in the header.
inline void Pair(uint64_t w0, uint64_t w1, double& c_out, double& s_out) {
  const double u1 = static_cast<double>(static_cast<int64_t>((w0 >> 11) + 1)) * 0x1.0p-53;
  const double r = FastSqrt(-2.0 * FastLog(u1));

  // 4·u2 = j / 2^51 = n + x, n = round(j / 2^51), x = (j − n·2^51) / 2^51 in [−½, ½].
  const uint64_t j = w1 >> 11;
  const uint64_t n = (j + (uint64_t{1} << 50)) >> 51;
  const double x = static_cast<double>(static_cast<int64_t>(j - (n << 51))) * 0x1.0p-51;
  const double z = x * x;
  const uint64_t sin_bits = std::bit_cast<uint64_t>(x * Polynomial(kSinC, z));
  const uint64_t cos_bits = std::bit_cast<uint64_t>(std::fma(z, Polynomial(kCosC, z), 1.0));

  // Quadrant q = n mod 4: odd q swaps sin and cos; cos < 0 for q in {1, 2}, sin < 0 for q in {2, 3}.
  const uint64_t q = n & 3;
  const uint64_t swap = uint64_t{0} - (q & 1);  // all ones when q is odd
  const uint64_t a = (cos_bits & ~swap) | (sin_bits & swap);
  const uint64_t b = (sin_bits & ~swap) | (cos_bits & swap);
  c_out = r * std::bit_cast<double>(a ^ (((q + 1) & 2) << 62));
  s_out = r * std::bit_cast<double>(b ^ ((q & 2) << 62));
}

}  // namespace

void BoxMullerBlock(const uint64_t* bits, double* out, int64_t pairs) {
  for (int64_t i = 0; i < pairs; ++i) Pair(bits[2 * i], bits[2 * i + 1], out[2 * i], out[2 * i + 1]);
}

void BoxMullerBlockReference(const uint64_t* bits, double* out, int64_t pairs) {
  for (int64_t i = 0; i < pairs; ++i) {
    const double u1 = static_cast<double>((bits[2 * i] >> 11) + 1) * 0x1.0p-53;
    const double u2 = static_cast<double>(bits[2 * i + 1] >> 11) * 0x1.0p-53;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 2.0 * std::numbers::pi * u2;
    out[2 * i] = r * std::cos(theta);
    out[2 * i + 1] = r * std::sin(theta);
  }
}

}  // namespace cimsim
