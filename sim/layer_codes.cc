#include "sim/layer_codes.h"

#include <cstdlib>
#include <limits>
#include <stdexcept>

namespace cimsim {

void CheckLayerCodes(const std::string& who, std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits,
                     int max_weight_bits, int32_t x_min, int32_t x_max) {
  if (N < 1) throw std::invalid_argument(who + "N = " + std::to_string(N) + " outputs; must be >= 1");
  if (K < 1) throw std::invalid_argument(who + "K = " + std::to_string(K) + " (depth); must be >= 1");
  if (static_cast<int64_t>(codes.size()) != N * K) {
    throw std::invalid_argument(who + "codes has " + std::to_string(codes.size()) + " elements; N·K = " +
                                std::to_string(N) + "·" + std::to_string(K) + " = " + std::to_string(N * K));
  }
  if (weight_bits < 2 || weight_bits > max_weight_bits) {
    throw std::invalid_argument(who + "weight_bits = " + std::to_string(weight_bits) + "; must be in [2, " +
                                std::to_string(max_weight_bits) + "]");
  }
  const int32_t w_max = (1 << (weight_bits - 1)) - 1;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (std::abs(int32_t{codes[i]}) > w_max) {
      throw std::invalid_argument(who + "weight code " + std::to_string(codes[i]) + " at [" +
                                  std::to_string(static_cast<int64_t>(i) / K) + ", " +
                                  std::to_string(static_cast<int64_t>(i) % K) + "] is outside ±" +
                                  std::to_string(w_max) + " (weight_bits = " + std::to_string(weight_bits) + ")");
    }
  }
  constexpr int32_t kInt16Min = std::numeric_limits<int16_t>::min(), kInt16Max = std::numeric_limits<int16_t>::max();
  if (x_min > x_max || x_min < kInt16Min || x_max > kInt16Max) {
    throw std::invalid_argument(who + "input code range [" + std::to_string(x_min) + ", " + std::to_string(x_max) +
                                "] must satisfy " + std::to_string(kInt16Min) + " <= x_min <= x_max <= " +
                                std::to_string(kInt16Max));
  }
}

}  // namespace cimsim
