// ideal_core.h — the exact integer core: y[o, j] = Σ_k w[o, k] · x[k, j] in int32, via IntGemm.
//
// Weights: codes [N, K] row-major with |w| <= 2^(weight_bits−1) − 1 (symmetric, docs/quantization.md),
// weight_bits in [2, 8]. Inputs: codes in [x_min, x_max] (e.g. [0, 255] for 8-bit activations,
// [−127, 127] for the image). The constructor proves the int32 sums cannot overflow:
//     K · (2^(weight_bits−1) − 1) · max(|x_min|, |x_max|) < 2^31,
// using the weight range the bit width allows (not the codes' actual maximum), so the guarantee is a
// property of the layer's configuration. Multiply trusts the caller that x's codes lie in
// [x_min, x_max]; it is the exact reference every other core is compared against. The view x is
// packed into the GEMM's k-pair layout (sim/paired_codes.h) in a pooled per-caller buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/scratch_pool.h"
#include "sim/int_gemm.h"
#include "sim/mvm_core.h"
#include "sim/paired_codes.h"

namespace cimsim {

class IdealCore : public MvmCore {
 public:
  // codes: N·K weight codes, row-major [N, K]. Throws std::invalid_argument naming the offending
  // value: N < 1, K < 1, codes.size() != N·K, weight_bits outside [2, 8], a code outside
  // ±(2^(weight_bits−1) − 1), x_min > x_max or outside int16, or a possible int32 overflow.
  IdealCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max);

  std::string_view Name() const override { return "ideal"; }
  int64_t Outputs() const override { return weights_.N(); }
  int64_t Depth() const override { return weights_.K(); }
  CodeRange InputRange() const override { return {x_min_, x_max_}; }
  // Exact; ignores ctx. Throws std::invalid_argument when x.K != Depth() or ldy < x.n.
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;

  int weight_bits() const { return weight_bits_; }
  int32_t x_min() const { return x_min_; }
  int32_t x_max() const { return x_max_; }

 private:
  PackedWeights weights_;
  int weight_bits_;
  int32_t x_min_, x_max_;
  mutable ScratchPool<PairedCodes> packed_;
};

}  // namespace cimsim
