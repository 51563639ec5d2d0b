// external_core.h — an MvmCore whose dot products come from an external chip (hil/external_chip.h).
//
// Built by ExternalChip::Program; Name() "external". Multiply sends x to the chip in MULTIPLY messages
// (at most ChipLayer::vectors_per_message vectors each) with a seed for the chip's noise of the call:
// ExternalCallSeed(*ctx.rng), one word per Multiply call (ExternalChip::Multiply derives the seeds of
// further messages from it, ExternalMessageSeed; common/streams.h), so the same stream gives the same
// numbers whatever thread makes the call. ctx.rng is therefore required (std::invalid_argument without
// it), as for any core that may draw noise.
//
// Result "results": y is the chip's answer, int32 [N, n]; Readout() is null.
//
// Result "reads": the chip returns one ADC code per read, in the READS order (hil/protocol.h)
//     code[j, p, t, i],  i = ReadoutGeometry::Index(tile_row, s, o),
// and the host applies the digital periphery of sim/crossbar_core.h (differential signed digits):
//     corrected = fma(gain_i, code·lsb_i, offset_i)          (ColumnCorrection i; default gain 1, offset 0)
//     y[o, j]   = sat_int32(round_half_away(Σ_{tile_row, p, t, s} (p ? −1 : 1)·2^(s·c + t·b)·corrected))
// with c = weight_slice_bits and b = input_slice_bits as PROGRAMMED reported them (b = 0 for a DAC). With
// an exact chip (lsb 1, a wide ADC: chip_server.py's ideal device) this is Σ_k w[o, k]·x[k, j] exactly.
// Readout() offers the geometry, ADC bits and lsb the chip reported; the ADC ranges (lsb·2^(B−1)) are the
// chip's own and cannot be set (AdcRangesSettable() false); corrections are host-side, so
// WithReadout(settings, where) returns a new ExternalCore sharing the session and the programmed layer
// with the new corrections (nothing is programmed again); as sim/column_readout.h, it throws
// std::invalid_argument (prefixed by `where` and the layer) for a wrong count or a non-finite
// correction and std::logic_error for ADC ranges.
//
// Traces (result "reads", ctx.trace non-null): one MvmRead per read, in the READS order (vector j,
// pass p, input slice t, then readout column (tile_row, s, o)), vector = the call's column index,
// tile_col = o / outputs_per_tile, ideal = Σ_k x_t[k]·d_s[k] over the tile's rows computed by the host
// (it knows the weights and the mapping), analog = code·lsb (the chip returns no analog value),
// corrected as above.
//
// Thread safety: const once built; Multiply may run concurrently (the session serialises requests).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hil/external_chip.h"
#include "sim/column_readout.h"
#include "sim/mvm_core.h"

namespace cimsim::hil {

class ExternalCore final : public MvmCore, public ColumnReadout {
 public:
  // corrections: one per readout column for a "reads" chip (empty for "results"); checked by the caller.
  ExternalCore(std::shared_ptr<ExternalChip> chip, std::shared_ptr<const ChipLayer> layer,
               std::vector<ColumnCorrection> corrections);

  std::string_view Name() const override { return "external"; }
  int64_t Outputs() const override { return layer_->N; }
  int64_t Depth() const override { return layer_->K; }
  CodeRange InputRange() const override { return layer_->range; }
  // Throws std::invalid_argument for x.K != Depth(), ldy < x.n or a null ctx.rng; InputError when
  // the chip fails (hil/external_chip.h).
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;
  const ColumnReadout* Readout() const override;

  // ColumnReadout (meaningful for a "reads" chip only).
  ReadoutGeometry Geometry() const override { return layer_->Geometry(); }
  int AdcBits() const override { return layer_->adc_bits; }
  bool AdcRangesSettable() const override { return false; }
  std::string AdcRangesFixedReason() const override { return "the external chip sets its own ADC ranges"; }
  std::span<const double> AdcRanges() const override { return ranges_; }
  std::span<const double> AdcLsb() const override { return layer_->lsb; }
  std::span<const ColumnCorrection> Corrections() const override { return corrections_; }
  std::unique_ptr<MvmCore> WithReadout(const ReadoutSettings& settings, const std::string& where) const override;

  const ChipLayer& layer() const { return *layer_; }
  const std::shared_ptr<ExternalChip>& chip() const { return chip_; }

 private:
  // y for vectors [0, n) of x from the chip's codes (and the trace), see above.
  void Assemble(const InputCodes& x, const std::vector<int32_t>& codes, int32_t* y, int64_t ldy,
                MvmContext& ctx) const;

  std::shared_ptr<ExternalChip> chip_;
  std::shared_ptr<const ChipLayer> layer_;
  std::vector<ColumnCorrection> corrections_;
  std::vector<double> ranges_;   // lsb·2^(B−1) per readout column
};

}  // namespace cimsim::hil
