#include "sim/ideal_core.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "sim/layer_codes.h"

namespace cimsim {
namespace {

// Validates the arguments, among them the int32 bound both kernels require (sim/int_gemm.h,
// sim/int8_gemm.h). Runs before any weights are packed.
void Validate(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
              int32_t x_max) {
  const std::string where = "IdealCore: ";
  CheckLayerCodes(where, codes, N, K, weight_bits, 8, x_min, x_max);
  const int32_t w_max = (1 << (weight_bits - 1)) - 1;
  const int64_t x_abs = std::max(std::abs(int64_t{x_min}), std::abs(int64_t{x_max}));
  // K < 2^31 keeps the int64 product exact (w_max <= 127, x_abs <= 32768).
  const bool overflow = x_abs > 0 && (K >= (int64_t{1} << 31) || K * w_max * x_abs >= (int64_t{1} << 31));
  if (overflow) {
    throw std::invalid_argument(where + "int32 accumulation may overflow: K·max|w|·max|x| = " + std::to_string(K) +
                                "·" + std::to_string(w_max) + "·" + std::to_string(x_abs) +
                                " must be < 2^31 = 2147483648");
  }
}

}  // namespace

IdealCore::IdealCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                     int32_t x_max, Kernel kernel)
    : N_(N), K_(K), weight_bits_(weight_bits), x_min_(x_min), x_max_(x_max), kernel_(kernel) {
  Validate(codes, N, K, weight_bits, x_min, x_max);
  if (kernel_ == Kernel::kU8S8 && (x_min < 0 || x_max > 255)) {
    throw std::invalid_argument("IdealCore: the u8×s8 kernel needs inputs within [0, 255], not [" +
                                std::to_string(x_min) + ", " + std::to_string(x_max) + "]");
  }
  if (kernel_ == Kernel::kU8S8) {
    weights8_ = PackedWeights8(codes.data(), N, K);
  } else {
    weights16_ = PackedWeights(codes.data(), N, K);
  }
}

void IdealCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& /*ctx*/) const {
  if (x.K != Depth()) {
    throw std::invalid_argument("IdealCore::Multiply: x.K() = " + std::to_string(x.K) + " but the core's depth is " +
                                std::to_string(Depth()));
  }
  if (kernel_ == Kernel::kU8S8) {
    const auto packed = quads_.Take();
    FillQuadCodes(x, *packed);
    Int8Gemm(weights8_, *packed, y, ldy);
  } else {
    const auto packed = paired_.Take();
    FillPairedCodes(x, *packed);
    IntGemm(weights16_, *packed, y, ldy);
  }
}

}  // namespace cimsim
