// layer_codes.h — the argument checks every MvmCore constructor shares.
//
// A core receives N·K weight codes [N, K] row-major of weight_bits bits (codes within
// ±(2^(weight_bits−1) − 1)) and the range [x_min, x_max] of the input codes (int16). CheckLayerCodes
// throws std::invalid_argument, prefixed by `who` ("IdealCore: "), naming the first violated rule:
// N >= 1, K >= 1, codes.size() == N·K, weight_bits in [2, max_weight_bits], every code in range (its
// [row, column]), int16_min <= x_min <= x_max <= int16_max.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace cimsim {

void CheckLayerCodes(const std::string& who, std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits,
                     int max_weight_bits, int32_t x_min, int32_t x_max);

}  // namespace cimsim
