#include "sim/ideal_core.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

namespace cimsim {
namespace {

// Validates the arguments and returns codes.data(), so the checks run before PackedWeights is built.
const int16_t* Validated(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                         int32_t x_max) {
  const std::string where = "IdealCore: ";
  if (N < 1) throw std::invalid_argument(where + "N = " + std::to_string(N) + " outputs; must be >= 1");
  if (K < 1) throw std::invalid_argument(where + "K = " + std::to_string(K) + " (depth); must be >= 1");
  if (static_cast<int64_t>(codes.size()) != N * K) {
    throw std::invalid_argument(where + "codes has " + std::to_string(codes.size()) + " elements; N·K = " +
                                std::to_string(N) + "·" + std::to_string(K) + " = " + std::to_string(N * K));
  }
  if (weight_bits < 2 || weight_bits > 8) {
    throw std::invalid_argument(where + "weight_bits = " + std::to_string(weight_bits) + "; must be in [2, 8]");
  }
  const int32_t w_max = (1 << (weight_bits - 1)) - 1;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (std::abs(int32_t{codes[i]}) > w_max) {
      throw std::invalid_argument(where + "weight code " + std::to_string(codes[i]) + " at [" +
                                  std::to_string(static_cast<int64_t>(i) / K) + ", " +
                                  std::to_string(static_cast<int64_t>(i) % K) + "] is outside ±" +
                                  std::to_string(w_max) + " (weight_bits = " + std::to_string(weight_bits) + ")");
    }
  }
  constexpr int32_t kInt16Min = std::numeric_limits<int16_t>::min(), kInt16Max = std::numeric_limits<int16_t>::max();
  if (x_min > x_max || x_min < kInt16Min || x_max > kInt16Max) {
    throw std::invalid_argument(where + "input code range [" + std::to_string(x_min) + ", " + std::to_string(x_max) +
                                "] must satisfy " + std::to_string(kInt16Min) + " <= x_min <= x_max <= " +
                                std::to_string(kInt16Max));
  }
  const int64_t x_abs = std::max(std::abs(int64_t{x_min}), std::abs(int64_t{x_max}));
  // K < 2^31 keeps the int64 product exact (w_max <= 127, x_abs <= 32768).
  const bool overflow = x_abs > 0 && (K >= (int64_t{1} << 31) || K * w_max * x_abs >= (int64_t{1} << 31));
  if (overflow) {
    throw std::invalid_argument(where + "int32 accumulation may overflow: K·max|w|·max|x| = " + std::to_string(K) +
                                "·" + std::to_string(w_max) + "·" + std::to_string(x_abs) +
                                " must be < 2^31 = 2147483648");
  }
  return codes.data();
}

}  // namespace

IdealCore::IdealCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                     int32_t x_max)
    : weights_(Validated(codes, N, K, weight_bits, x_min, x_max), N, K),
      weight_bits_(weight_bits),
      x_min_(x_min),
      x_max_(x_max) {}

void IdealCore::Multiply(const PairedCodes& x, int32_t* y, int64_t ldy, MvmContext& /*ctx*/) const {
  if (x.K() != Depth()) {
    throw std::invalid_argument("IdealCore::Multiply: x.K() = " + std::to_string(x.K()) + " but the core's depth is " +
                                std::to_string(Depth()));
  }
  IntGemm(weights_, x, y, ldy);
}

}  // namespace cimsim
