// output_affine_core.h — a core whose dot products are corrected by one affine map per output:
//     y'[o, j] = round(gain[o]·y[o, j] + offset[o]),  clamped to int32,
// y the wrapped core's dot products (MvmCore::Multiply, integer dot-product units), o the output
// (a conv's output channel), j the input vector. Rounding is to nearest, halves away from zero
// (std::llround). This is how a per-channel correction measured on the whole chip network
// (calib/output_statistics.h) reaches the layer: a new immutable core around the programmed one,
// so the integer executor's requantization after it does not change.
//
// The wrapper keeps the wrapped core's name, shape, input range and column readout (its column reads
// are still the chip's: traces and probes see them); it has no Aging(): a correction belongs to one
// read time, and a later time needs its own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/mvm_core.h"

namespace cimsim {

struct OutputAffine {
  std::vector<double> gain, offset;   // [N]
};

// y[o, j] ← round(gain[o]·y[o, j] + offset[o]) for o < N = affine.gain.size(), j < n (row-major, ldy).
void ApplyOutputAffine(const OutputAffine& affine, int32_t* y, int64_t ldy, int64_t n);

class OutputAffineCore : public MvmCore {
 public:
  // Throws std::invalid_argument when gain or offset do not have core->Outputs() finite entries.
  OutputAffineCore(std::unique_ptr<MvmCore> core, OutputAffine affine);

  std::string_view Name() const override { return core_->Name(); }
  int64_t Outputs() const override { return core_->Outputs(); }
  int64_t Depth() const override { return core_->Depth(); }
  CodeRange InputRange() const override { return core_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;
  const ColumnReadout* Readout() const override { return core_->Readout(); }

  const OutputAffine& affine() const { return affine_; }
  const MvmCore& inner() const { return *core_; }

 private:
  std::unique_ptr<MvmCore> core_;
  OutputAffine affine_;
};

}  // namespace cimsim
