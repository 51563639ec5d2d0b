#include "sim/output_affine_core.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace cimsim {

void ApplyOutputAffine(const OutputAffine& affine, int32_t* y, int64_t ldy, int64_t n) {
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  for (size_t o = 0; o < affine.gain.size(); ++o) {
    const double g = affine.gain[o], b = affine.offset[o];
    int32_t* row = y + static_cast<int64_t>(o) * ldy;
    for (int64_t j = 0; j < n; ++j)
      row[j] = static_cast<int32_t>(std::llround(std::clamp(g * static_cast<double>(row[j]) + b, lo, hi)));
  }
}

OutputAffineCore::OutputAffineCore(std::unique_ptr<MvmCore> core, OutputAffine affine)
    : core_(std::move(core)), affine_(std::move(affine)) {
  if (core_ == nullptr) throw std::invalid_argument("OutputAffineCore: no core");
  const auto n = static_cast<size_t>(core_->Outputs());
  if (affine_.gain.size() != n || affine_.offset.size() != n)
    throw std::invalid_argument("OutputAffineCore: " + std::to_string(affine_.gain.size()) + " gains and " +
                                std::to_string(affine_.offset.size()) + " offsets for a core of " + std::to_string(n) +
                                " outputs");
  for (size_t o = 0; o < n; ++o)
    if (!std::isfinite(affine_.gain[o]) || !std::isfinite(affine_.offset[o]))
      throw std::invalid_argument("OutputAffineCore: output " + std::to_string(o) + " has a non-finite gain or offset");
}

void OutputAffineCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  core_->Multiply(x, y, ldy, ctx);
  ApplyOutputAffine(affine_, y, ldy, x.n);
}

}  // namespace cimsim
