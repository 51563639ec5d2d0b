// ideal_core.h — the exact integer core: y[o, j] = Σ_k w[o, k] · x[k, j] in int32, via IntGemm.
//
// Weights: codes [N, K] row-major with |w| <= 2^(weight_bits−1) − 1 (symmetric, docs/quantization.md),
// weight_bits in [2, 8]. Inputs: codes in [x_min, x_max] (e.g. [0, 255] for 8-bit activations,
// [−127, 127] for the image). The constructor proves the int32 sums cannot overflow:
//     K · (2^(weight_bits−1) − 1) · max(|x_min|, |x_max|) < 2^31,
// using the weight range the bit width allows (not the codes' actual maximum), so the guarantee is a
// property of the layer's configuration. Multiply trusts the caller that x's codes lie in
// [x_min, x_max]; it is the exact reference every other core is compared against.
//
// Kernel, chosen once per layer from its code ranges: unsigned inputs within [0, 255] (activations
// after a ReLU, A8 or narrower) with its weights (|w| <= 127, always within [−128, 127]) go through
// the u8×s8 GEMM (sim/int8_gemm.h, `vpdpbusd`, twice the multiply-adds per instruction) when the
// build has AVX-512 VNNI (kInt8GemmIsFast); everything else (signed image codes, wider inputs, builds
// without VNNI) through the int16 GEMM (sim/int_gemm.h). Both are exact under the bound above, which
// is the one both kernels' headers require, so the choice never changes y. The view x is packed into
// the kernel's layout (k-pair, sim/paired_codes.h, or k-quad, sim/quad_codes.h) in a pooled
// per-caller buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "common/scratch_pool.h"
#include "sim/int8_gemm.h"
#include "sim/int_gemm.h"
#include "sim/mvm_core.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"

namespace cimsim {

class IdealCore : public MvmCore {
 public:
  enum class Kernel { kInt16, kU8S8 };   // IntGemm, Int8Gemm

  // The kernel a layer with inputs in [x_min, x_max] uses (weights of <= 8 bits always fit s8).
  static Kernel ChooseKernel(int32_t x_min, int32_t x_max) {
    return kInt8GemmIsFast && x_min >= 0 && x_max <= 255 ? Kernel::kU8S8 : Kernel::kInt16;
  }

  // codes: N·K weight codes, row-major [N, K]. Throws std::invalid_argument naming the offending
  // value: N < 1, K < 1, codes.size() != N·K, weight_bits outside [2, 8], a code outside
  // ±(2^(weight_bits−1) − 1), x_min > x_max or outside int16, or a possible int32 overflow.
  IdealCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max)
      : IdealCore(codes, N, K, weight_bits, x_min, x_max, ChooseKernel(x_min, x_max)) {}
  // The same with the kernel named (for benchmarks and tests comparing the two): kU8S8 also throws
  // std::invalid_argument when [x_min, x_max] is not within [0, 255]; on a build without VNNI it runs
  // Int8Gemm's scalar loop (exact, slow).
  IdealCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max,
            Kernel kernel);

  std::string_view Name() const override { return "ideal"; }
  int64_t Outputs() const override { return N_; }
  int64_t Depth() const override { return K_; }
  CodeRange InputRange() const override { return {x_min_, x_max_}; }
  // Exact; ignores ctx. Throws std::invalid_argument when x.K != Depth() or ldy < x.n.
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;

  int weight_bits() const { return weight_bits_; }
  int32_t x_min() const { return x_min_; }
  int32_t x_max() const { return x_max_; }
  Kernel kernel() const { return kernel_; }

 private:
  int64_t N_, K_;
  int weight_bits_;
  int32_t x_min_, x_max_;
  Kernel kernel_;
  PackedWeights weights16_;    // the packed weights of kernel kInt16 (empty otherwise)
  PackedWeights8 weights8_;    // the packed weights of kernel kU8S8 (empty otherwise)
  mutable ScratchPool<PairedCodes> paired_;
  mutable ScratchPool<QuadCodes> quads_;
};

}  // namespace cimsim
