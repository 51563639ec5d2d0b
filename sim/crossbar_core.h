// crossbar_core.h — an MvmCore whose dot products go through simulated analog crossbar tiles.
//
// y[o, j] ≈ Σ_k w[o, k]·x[k, j] in the integer units of IdealCore (sim/mvm_core.h), computed the way a
// CIM macro would: weights → digits → conductances on tiles; inputs → DAC levels or bit slices; per
// tile, weight slice, sign pass and input slice an analog column sum with read noise → ADC → digital
// correction → shift-and-add over slices → sum over tiles. Parameters: sim/crossbar_params.h; the
// device: devices/device_model.h; prose and examples: docs/crossbar.md.
//
// CrossbarCore is a composition; the maths lives with each part:
//   sim/crossbar_layout.h     geometry: weight digits and slices, tiles and physical columns, input sign
//                             passes and slices, X_max, readout-column index, nominal full scale
//   sim/programmed_array.h    programming through the DeviceModel (the draw order), drift, aging, the
//                             exactness grids e, e_v, the fast path's tile matrices; the physical cells
//                             for the reference (rebuilt on demand, not stored)
//   sim/crossbar_readout.h    ADC ranges and lsb, the analog periphery (a, b) and its draws, the digital
//                             corrections: what calibration sets
//   sim/read_column.h         the scalar maths of one read (v' → code → corrected), the one copy that
//                             the fast path, its trace and the reference share
//   sim/column_sum_engine.h   the fast path's column sums (integer GEMM on digit planes, or Eigen double
//                             GEMMs) and the scratch
//
// Construction (from the caller's rng): ProgrammedArray programs the tiles, then, unless the periphery is
// ideal, CrossbarReadout draws the analog periphery (a, b), from the same rng in that order.
//
// Inputs. Any view (sim/input_codes.h); row-major views are read a row at a time. Multiply trusts that
// x's codes lie in [x_min, x_max].
//
// One column read (tile, slice s, pass p, input slice t, vector j, output o): the column sums mean and
// var of the input slice x_t over the tile's rows, then ReadColumn (sim/read_column.h) with the readout
// of column (tile_row, s, o). Then
//     y[o, j] = sat_int32(round_half_away(acc − w_max·Σ_k x[k, j] (offset only))),
//     acc = Σ over tile_row, p, t, s (in this order) of (p ? −1 : 1)·2^(s·c + t·b)·corrected.
//
// Read-noise draws and trace order. Vectors go in blocks of kVectorBlock (j0 = 0, 128, ...); for each
// block: tile_row, tile_col, sign pass p, input slice t, then vector j of the block, then read column
// (s, c) in slice-major order s·outs + c: one rng.Normal() per read when the core has read noise
// (params.read_noise and a device read-noise kind other than none; otherwise no draws at all, whatever
// σ comes out). The same order is the order of TraceSink::Record calls (ctx.trace non-null). Calls
// whose sizes are multiples of kVectorBlock draw the same numbers as one call over all their vectors.
//
// Fast path (Multiply): per block and tile, the column sums of ColumnSumEngine; then the block's normals
// in draw order, and a vectorized loop over the reads (ReadColumn, shift-and-add) into a [n_block, N]
// accumulator (with a trace: one scalar loop that draws, reads and records in order). Zero vectors: a
// vector whose input slice t is zero on all of the tile's rows reads column sums of exactly +0.0, so
// each of its reads is the column's constant ReadColumn(0, 0, ·) (the same for every finite normal):
// the engine leaves it out of the products, its normals are drawn but not transformed
// (Rng::FillNormalRows, the same words and stream), and its reads add the per-tile constants. Scratch lives in a
// CrossbarScratch: a caller may pass its own (one per thread, reused across calls and cores: no
// allocation once it has grown), or Multiply takes one from the core's pool (a mutex-guarded free list
// that grows to the number of concurrent callers). MultiplyReference (crossbar_reference.cc) is the
// oracle: plain loops over the physical cells of every read (ProgrammedArray::Cells), the same draws,
// the same results bit for bit.
//
// Calibration (sim/column_readout.h): the core is its own ColumnReadout; readout column (tile_row, s, o)
// is PeripheryIndex(tile_row, s, o). WithReadout returns a twin that shares the programmed array (no
// new draws) with a new CrossbarReadout: new corrections and, for adc.range "calibrated", new ADC ranges.
//
// Read time (sim/aging_array.h): the core is its own AgingArray. AtReadTime(t) returns a twin whose
// array is ProgrammedArray::AtReadTime(t) — the same programmed cells and drift exponents aged to t —
// with this core's CrossbarReadout (analog periphery, ADC ranges, corrections) and params().read_time = t.
//
// Thread safety: the core is immutable once built; Multiply and MultiplyReference are const and may
// run concurrently, each caller with its own MvmContext (and its own scratch).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/rng.h"
#include "common/scratch_pool.h"
#include "devices/device_model.h"
#include "sim/aging_array.h"
#include "sim/column_readout.h"
#include "sim/column_sum_engine.h"
#include "sim/crossbar_layout.h"
#include "sim/crossbar_params.h"
#include "sim/crossbar_readout.h"
#include "sim/mvm_core.h"
#include "sim/programmed_array.h"

namespace cimsim {

class CrossbarCore : public MvmCore, public ColumnReadout, public AgingArray {
 public:
  static constexpr int64_t kVectorBlock = ColumnSumEngine::kVectorBlock;

  // codes: N·K weight codes, row-major [N, K]; inputs in [x_min, x_max]. Programs the tiles with `rng`
  // (see above). Throws std::invalid_argument for bad arguments (as IdealCore: N, K < 1, codes.size(),
  // weight_bits outside [2, 16], a code outside ±w_max, x_min > x_max or outside int16) and InputError
  // naming `where` ("xbar.json: crossbar") for parameters: CrossbarParams::Validate and ValidateLayer,
  // a device range too narrow for the digit bits.
  CrossbarCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max,
               const DeviceModel& device, const CrossbarParams& params, Rng& rng,
               const std::string& where = "crossbar");
  ~CrossbarCore() override;
  CrossbarCore& operator=(const CrossbarCore&) = delete;

  std::string_view Name() const override { return "crossbar"; }
  int64_t Outputs() const override { return layout().N(); }
  int64_t Depth() const override { return layout().K(); }
  CodeRange InputRange() const override { return {x_min_, x_max_}; }

  // The fast path with a pooled scratch. ctx.rng must be non-null when HasReadNoise(). Throws
  // std::invalid_argument when x.K != Depth(), ldy < x.n or the rng is missing.
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override;
  // The same with the caller's scratch.
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx, CrossbarScratch& scratch) const;
  // The slow oracle (crossbar_reference.cc): same draws, same ADC codes, same y.
  void MultiplyReference(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const;

  // ColumnReadout.
  const ColumnReadout* Readout() const override { return this; }
  ReadoutGeometry Geometry() const override { return layout().Geometry(); }
  int AdcBits() const override { return readout_.AdcBits(); }
  bool AdcRangesSettable() const override { return readout_.RangesSettable(); }
  std::string AdcRangesFixedReason() const override { return readout_.RangesFixedReason(); }
  std::span<const double> AdcRanges() const override { return readout_.ranges(); }
  std::span<const double> AdcLsb() const override { return readout_.lsb(); }
  std::span<const ColumnCorrection> Corrections() const override { return readout_.corrections(); }
  std::unique_ptr<MvmCore> WithReadout(const ReadoutSettings& settings, const std::string& where) const override;
  // WithReadout with the concrete type (for code that holds a CrossbarCore already, e.g. tests).
  std::unique_ptr<CrossbarCore> Calibrated(const ReadoutSettings& settings, const std::string& where = "") const;

  // AgingArray.
  const AgingArray* Aging() const override { return this; }
  double ReadTime() const override { return params_.read_time; }
  std::unique_ptr<MvmCore> AtReadTime(double read_time, const std::string& where) const override;
  // AtReadTime with the concrete type.
  std::unique_ptr<CrossbarCore> Aged(double read_time, const std::string& where = "") const;

  // The parts.
  const CrossbarLayout& layout() const { return array_->layout(); }
  const ProgrammedArray& array() const { return *array_; }
  const CrossbarReadout& readout() const { return readout_; }

  // Geometry (CrossbarLayout) and programming (ProgrammedArray), as shortcuts.
  int64_t TileRows() const { return layout().TileRows(); }
  int64_t TileCols() const { return layout().TileCols(); }
  int64_t OutputsPerTile() const { return layout().OutputsPerTile(); }
  int WeightSlices() const { return layout().WeightSlices(); }
  int CellBits() const { return layout().CellBits(); }
  int InputSlices() const { return layout().InputSlices(); }
  int SignPasses() const { return layout().SignPasses(); }
  int32_t InputSliceMax() const { return layout().InputSliceMax(); }
  int MaxDigit(int slice) const { return layout().MaxDigit(slice); }
  double DeltaG(int slice) const { return array_->DeltaG(slice); }   // of weight slice `slice`
  double GMin() const { return array_->GMin(); }
  int ConductanceGridExponent() const { return array_->ConductanceGridExponent(); }
  int VarianceGridExponent() const { return array_->VarianceGridExponent(); }
  bool HasReadNoise() const { return array_->HasReadNoise(); }
  bool UsesIntegerGemm() const { return array_->UsesIntegerGemm(); }
  // True when the first tile's untraced column sums take the u8×s8 byte path (sim/column_sum_engine.h).
  bool UsesByteGemm() const { return engine_.UsesBytes(array_->tiles().front(), false); }
  const CrossbarParams& params() const { return params_; }
  int weight_bits() const { return layout().weight_bits(); }
  int32_t x_min() const { return x_min_; }
  int32_t x_max() const { return x_max_; }

  // The readout (CrossbarReadout), one entry per (tile_row, weight slice, output), at PeripheryIndex.
  int64_t PeripheryIndex(int64_t tile_row, int slice, int64_t output) const {
    return layout().PeripheryIndex(tile_row, slice, output);
  }
  const std::vector<ColumnCorrection>& corrections() const { return readout_.corrections(); }
  // The analog periphery (a, b) of each column, drawn at programming (identity when ideal).
  const std::vector<ColumnCorrection>& analog_periphery() const { return readout_.analog(); }
  double NominalFullScale(int64_t tile_row, int slice) const { return layout().NominalFullScale(tile_row, slice); }
  const std::vector<double>& adc_ranges() const { return readout_.ranges(); }   // full scale, integer units
  const std::vector<double>& adc_lsb() const { return readout_.lsb(); }

 private:
  // The twin of WithReadout: shares the programmed array, copies the rest (an empty scratch pool).
  CrossbarCore(const CrossbarCore&) = default;

  void CheckCall(const InputCodes& x, int64_t ldy, const MvmContext& ctx, const char* what) const;
  void MultiplyBlock(const InputCodes& x, int64_t j0, int64_t nb, int32_t* y, int64_t ldy, MvmContext& ctx,
                     CrossbarScratch& s) const;

  int32_t x_min_, x_max_;
  CrossbarParams params_;
  std::shared_ptr<const ProgrammedArray> array_;   // shared by WithReadout twins
  CrossbarReadout readout_;
  ColumnSumEngine engine_;                         // on array_

  mutable ScratchPool<CrossbarScratch> pool_;
};

}  // namespace cimsim
