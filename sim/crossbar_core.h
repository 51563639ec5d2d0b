// crossbar_core.h — an MvmCore whose dot products go through simulated analog crossbar tiles.
//
// y[o, j] ≈ Σ_k w[o, k]·x[k, j] in the integer units of IdealCore (sim/mvm_core.h), computed the way a
// CIM macro would: weights → digits → conductances on tiles; inputs → DAC levels or bit slices; per
// tile, weight slice, sign pass and input slice an analog column sum with read noise → ADC → digital
// correction → shift-and-add over slices → sum over tiles. Parameters: sim/crossbar_params.h; the
// device: devices/device_model.h; prose and examples: docs/crossbar.md.
//
// Weights. Codes w [N, K] row-major, |w| <= w_max = 2^(b_w−1) − 1, b_w = weight_bits in [2, 16]. The
// sliced magnitude is m(w) = |w| (differential, b_w − 1 bits) or m(w) = u = w + w_max (offset, b_w bits);
// with c = slice_bits (or all of those bits when slice_bits = 0), S = ⌈bits / c⌉ digits
//     m(w) = Σ_s d_s·2^(s·c),  d_s in [0, 2^c − 1];  the signed digit is sign(w)·d_s (differential), d_s (offset).
// Δg = (g_max − g_min)/(2^c − 1) and digit d → target g_0 + d·Δg, where g_0 is g_min rounded up and
// Δg rounded down to the conductance grid 2^−e µS (below), so that every target is exactly a float
// and an ideal device reproduces d·Δg exactly. Differential: w > 0 puts the target on g+ and g_0 on
// g−, w < 0 the other way round; offset: one cell at the target and, per tile and row, one reference
// cell at g_0.
//
// Tiles. Tile (tile_row, tile_col) holds rows [tile_row·rows_max, ...) (at most rows_max) and outputs
// [tile_col·P, ...) (at most P), P = ⌊cols_max / (2S)⌋ (differential) or ⌊(cols_max − 1)/S⌋ (offset).
// Physical columns of a tile with `outs` outputs: differential, for slice s and local output c,
// g+ at 2·(s·outs + c) and g− at 2·(s·outs + c) + 1; offset, the cell at s·outs + c and the
// reference column at S·outs. Programming (in the constructor, from the caller's rng): for each tile
// in order (tile_row, then tile_col), the targets [rows, columns] go through DeviceModel::Program
// (its draws in cell order), then DrawDrift for the same cells, then Age to params.read_time; the read
// σ is DeviceModel::ReadSigma at read_time. Then, unless the periphery is ideal, per (tile_row, s, o) in
// PeripheryIndex order: z_a (if gain_sigma > 0), then z_b (if offset_sigma > 0), rng.Normal() each.
//
// Inputs. Any view (sim/input_codes.h); row-major views are read a row at a time. Signed ranges (x_min < 0) take two sign passes, x⁺ = max(x, 0) then x⁻ = max(−x, 0); an
// unsigned range one pass, x⁺ = x. DAC mode: one read per pass, x_0 = x±. Bit-serial with
// b = input.slice_bits: T = ⌈InputMagnitudeBits / b⌉ reads, x_t = (x± >> t·b) & (2^b − 1). X_max, the
// largest x_t, is 2^b − 1 (or the input magnitude if smaller) resp. the input magnitude (DAC).
// Multiply trusts that x's codes lie in [x_min, x_max].
//
// One column read (tile, slice s, pass p, input slice t, vector j, output o), in integer units:
//     mean = Σ_k x_t[k]·(g+[k] − g−[k])      var = Σ_k x_t[k]²·(σ+²[k] + σ−²[k])     (µS, µS²)
//     (offset: g[k] − g_ref[k] and σ²[k] + σ_ref²[k])
//     v    = mean / Δg                                    without read noise
//     v    = fma(sqrt(var), z, mean) / Δg, z = rng.Normal()   with read noise (exact in distribution for
//            independent cells, ARCHITECTURE.md §4; the reference column's noise is drawn per column)
//     v'   = fma(a, v, b)     the column's analog periphery (a, b) per (tile_row, s, o), params.periphery:
//            a = max(0, 1 + gain_sigma·z_a), b = offset_sigma·R·z_b (R the nominal full scale below),
//            drawn at programming; a = 1, b = 0 (v' = v) for an ideal periphery. v' is what the ADC sees
//            and what a trace records as the analog value.
//     code = clamp(round_half_away(v' / lsb), −2^(B−1), 2^(B−1) − 1),   B = adc.bits
//     corrected = fma(gain, code·lsb, offset)              per (tile_row, s, o); defaults gain 1, offset 0
// lsb per (tile_row, s, o): adc.range max: the nominal full scale R = rows_in_tile·X_max·d_max(s)
// (NominalFullScale; d_max(s) the largest digit slice s can hold, R at least 1) and lsb = the smallest power of two with R <= lsb·max(2^(B−1) − 1, 1),
// so an integer v within R comes back exactly whenever lsb <= 1; fixed: lsb = fixed_range / 2^(B−1);
// calibrated: lsb = range / 2^(B−1) with the ranges of SetAdcRanges (before that, R).
//     y[o, j] = sat_int32(round_half_away(acc − w_max·Σ_k x[k, j] (offset only))),
//     acc = Σ over tile_row, p, t, s (in this order) of (p ? −1 : 1)·2^(s·c + t·b)·corrected.
//
// Exactness by construction. After aging, every conductance is rounded to the grid 2^−e µS and every
// σ² to 2^−e_v µS² (round half away), e <= 16 and e_v <= 24, chosen as large as the bounds allow:
//     rows_in_tile · X_max · max|g|·2^e            <= 2^53   (and g_max·2^e <= 2^24 for the targets)
//     rows_in_tile · X_max² · (2·max σ²·2^e_v + 1) <= 2^53
// (With g <= 25 µS and e = 16 the first allows 2^53/(25·2^16) ≈ 2^32 rows for 1-bit input slices and
// ≈ 2^24 for 8-bit DAC inputs; with σ² <= 1 µS², e_v = 24 holds up to 2^27 rows for 1-bit slices and
// 4096 for 8-bit DAC inputs, beyond which e_v steps down.)
// Every product x·Δ and x²·σ² is then an integer number of grid units, every partial sum of a column
// is an integer below 2^53 units, so any summation order gives the same double: the reference (per
// cell loops) and the fast path (GEMMs in any blocking, FMA or not) agree on mean and var, and since
// both then apply the same scalar formulas above (sqrt correctly rounded in both: std::sqrt, never
// Eigen's approximate vector sqrt), on every ADC code and on y. Tested.
//
// Read-noise draws and trace order. Vectors go in blocks of kVectorBlock (j0 = 0, 128, ...); for each
// block: tile_row, tile_col, sign pass p, input slice t, then vector j of the block, then read column
// (s, c) in slice-major order s·outs + c: one rng.Normal() per read when the core has read noise
// (params.read_noise and a device read-noise kind other than none; otherwise no draws at all, whatever
// σ comes out). The same order is the order of TraceSink::Record calls (ctx.trace non-null). Calls
// whose sizes are multiples of kVectorBlock draw the same numbers as one call over all their vectors.
//
// Fast path (Multiply): per block and tile, the column sums X·[ΔG | S2] of the input slice X [n_block,
// rows] (S2 against X∘X unless X_max = 1, when X∘X = X; an all-zero input slice skips the product).
// Integer-GEMM path (UsesIntegerGemm(), e.g. bit-serial inputs): X as int16 PackedWeights against ΔG and
// S2 split into int16 digit planes on their grids (sim/grid_gemm.h), about twice as fast; otherwise X
// as doubles in Eigen GEMMs sub-blocked to at most 128 in each dimension so that Eigen keeps its
// packing buffers on the stack. Then the block's normals in draw order, and a vectorized loop over the
// reads (ADC, correction, shift-and-add) into a [n_block, N] accumulator (with a trace: one scalar loop
// that draws, reads and records in order). Scratch lives in a CrossbarScratch: a caller may pass its
// own (one per thread, reused across calls and cores: no allocation once it has grown), or Multiply
// takes one from the core's pool (a mutex-guarded free list that grows to the number of concurrent
// callers). MultiplyReference (crossbar_reference.cc) is the oracle: plain loops over the
// physical cells of every read, the same draws, the same results bit for bit.
//
// Calibration (sim/column_readout.h): the core is its own ColumnReadout; readout column (tile_row, s, o)
// is PeripheryIndex(tile_row, s, o). WithReadout returns a twin that shares the programmed tiles (no
// new draws) with new corrections and, for adc.range "calibrated", new ADC ranges.
//
// Thread safety: the core is immutable once built; Multiply and MultiplyReference are const and may
// run concurrently, each caller with its own MvmContext (and its own scratch).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "common/rng.h"
#include "common/scratch_pool.h"
#include "devices/device_model.h"
#include "sim/column_readout.h"
#include "sim/crossbar_params.h"
#include "sim/grid_gemm.h"
#include "sim/mvm_core.h"
#include "sim/paired_codes.h"

namespace cimsim {

// Reusable scratch of the fast path (one per concurrent caller). Opaque; grows on first use.
class CrossbarScratch {
 private:
  friend class CrossbarCore;
  std::vector<uint16_t> magnitude; // |x| of each pass [passes, K, n_block]: max(x, 0), max(−x, 0)
  std::vector<double> x, x2;       // input slice [n_block, rows] column-major, and its square
  std::vector<double> reads;       // GEMM result [n_block, m | 2m] row-major: means | variances → their sqrt
  std::vector<double> ideal;       // trace only: X·digits [n_block, m] row-major
  std::vector<double> z;           // read noise, the draws of one (tile, pass, input slice) [n_block, m]
  std::vector<double> acc;         // [n_block, N]
  std::vector<int64_t> x_sum;      // [n_block]: Σ_k x[k, j] (offset mapping)
  std::vector<double> lsb, gain, offset;   // per read column of the current tile [m]
  std::vector<double> analog_gain, analog_offset;   // the analog periphery (a, b) of those columns [m]
  PackedWeights plane, plane2;     // integer-GEMM path: the input slice [n_block, rows], and its square
  std::vector<int32_t> units;      // integer-GEMM path: digit-plane products [n_block, planes·m]
};

class CrossbarCore : public MvmCore, public ColumnReadout {
 public:
  static constexpr int64_t kVectorBlock = 128;

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
  int64_t Outputs() const override { return N_; }
  int64_t Depth() const override { return K_; }
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
  ReadoutGeometry Geometry() const override;
  int AdcBits() const override { return params_.adc.bits; }
  bool AdcRangesSettable() const override { return params_.adc.range == AdcRange::kCalibrated; }
  std::string AdcRangesFixedReason() const override;
  std::span<const double> AdcRanges() const override { return adc_range_; }
  std::span<const double> AdcLsb() const override { return adc_lsb_; }
  std::span<const ColumnCorrection> Corrections() const override { return corrections_; }
  std::unique_ptr<MvmCore> WithReadout(const ReadoutSettings& settings, const std::string& where) const override;
  // WithReadout with the concrete type (for code that holds a CrossbarCore already, e.g. tests).
  std::unique_ptr<CrossbarCore> Calibrated(const ReadoutSettings& settings, const std::string& where = "") const;

  // Geometry.
  int64_t TileRows() const { return tile_rows_; }          // ⌈K / rows_max⌉
  int64_t TileCols() const { return tile_cols_; }          // ⌈N / OutputsPerTile()⌉
  int64_t OutputsPerTile() const { return outs_per_tile_; }  // P
  int WeightSlices() const { return slices_; }             // S
  int CellBits() const { return cell_bits_; }              // c, bits of one digit
  int InputSlices() const { return input_slices_; }        // T (1 for the DAC)
  int SignPasses() const { return passes_; }               // 1 (unsigned inputs) or 2
  int32_t InputSliceMax() const { return x_slice_max_; }   // X_max
  int MaxDigit(int slice) const { return d_max_[static_cast<size_t>(slice)]; }  // d_max(s)
  double DeltaG() const { return delta_g_; }               // µS, on the grid
  double GMin() const { return g_0_; }                     // g_0, µS
  int ConductanceGridExponent() const { return grid_e_; }  // e: conductances are multiples of 2^−e µS
  int VarianceGridExponent() const { return grid_e_var_; } // e_v
  bool HasReadNoise() const { return noisy_; }
  // True when the fast path forms column sums with the int16 GEMM on digit planes (GridMatrix) rather
  // than with double GEMMs: whenever the input slices (and their squares, with read noise) fit int16
  // and GridMatrix::MaxInput() of the tallest tile. Both give the same doubles.
  bool UsesIntegerGemm() const { return integer_gemm_; }
  const CrossbarParams& params() const { return params_; }
  int weight_bits() const { return weight_bits_; }
  int32_t x_min() const { return x_min_; }
  int32_t x_max() const { return x_max_; }

  // The digital periphery, one entry per (tile_row, weight slice, output), at PeripheryIndex.
  int64_t PeripheryIndex(int64_t tile_row, int slice, int64_t output) const {
    return (tile_row * slices_ + slice) * N_ + output;
  }
  const std::vector<ColumnCorrection>& corrections() const { return corrections_; }
  // The analog periphery (a, b) of each column, drawn at programming (identity when ideal).
  const std::vector<ColumnCorrection>& analog_periphery() const { return analog_; }
  // R of tile row `tile_row` and weight slice `slice`: rows_in_tile·X_max·d_max(s), at least 1.
  double NominalFullScale(int64_t tile_row, int slice) const;
  const std::vector<double>& adc_ranges() const { return adc_range_; }   // full scale, integer units
  const std::vector<double>& adc_lsb() const { return adc_lsb_; }

 private:
  // The twin of WithReadout: shares the programmed tiles, copies the rest (an empty scratch pool).
  CrossbarCore(const CrossbarCore&) = default;
  // Size TileRows()·S·N, finite values (std::invalid_argument otherwise).
  void SetCorrections(std::span<const ColumnCorrection> corrections, const std::string& where);
  // adc.range calibrated only (std::logic_error otherwise); size TileRows()·S·N, each finite and > 0
  // (std::invalid_argument otherwise). lsb = range / 2^(B−1).
  void SetAdcRanges(std::span<const double> ranges, const std::string& where);

  using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  struct Tile {
    int64_t tile_row = 0, tile_col = 0;
    int64_t row0 = 0, rows = 0;     // dot-product positions [row0, row0 + rows)
    int64_t out0 = 0, outs = 0;     // outputs [out0, out0 + outs)
    // Physical cells [rows, physical columns], column-major (layout above): conductance on the 2^−e
    // grid, read variance on the 2^−e_v grid (empty without read noise). The reference reads these.
    Eigen::ArrayXXd g, var;
    // Fast path, read column s·outs + c: [ΔG | S2] (S2 only with read noise) and the signed digits;
    // as doubles (Eigen GEMM path) or as digit planes on their grids (integer-GEMM path).
    Eigen::MatrixXd gs, digits;
    GridMatrix mean_grid, var_grid, digit_grid;
  };

  // The scalar steps both paths share (so that equal sums give equal codes).
  // v' of one read; sd = sqrt(var), correctly rounded (std::sqrt in both paths).
  static double AnalogValue(double mean, double sd, double z, bool noisy, double delta_g, double a, double b);
  static double RoundHalfAway(double q, double lo, double hi);
  double AdcCode(double v, double lsb) const;               // the code, an integer held as a double
  static double AdcCode(double v, double lsb, double code_min, double code_max);
  // The reads of one slice of one vector without trace: acc[c] += scale·corrected, with read noise when
  // sds (standard deviations) and z are non-null (plain loops that vectorize).
  static void AccumulateReads(const double* __restrict means, const double* __restrict sds,
                              const double* __restrict z, const double* __restrict lsb,
                              const double* __restrict gain, const double* __restrict offset,
                              const double* __restrict analog_gain, const double* __restrict analog_offset,
                              double* __restrict acc, int64_t outs, double scale, double delta_g,
                              double code_min, double code_max);
  static int32_t RoundSaturate(double value);

  int64_t Digit(int16_t w, int slice) const;               // signed digit d_s of weight w
  int64_t PlusColumn(int slice, int64_t c, int64_t outs) const;   // physical column of g+ (or the offset cell)
  int64_t MinusColumn(int slice, int64_t c, int64_t outs) const;  // g− (or the reference column)
  int32_t InputSlice(int32_t code, int pass, int t) const;  // x_t of pass p
  double SignedScale(int pass, int slice, int t) const;    // (p ? −1 : 1)·2^(s·c + t·b)
  void CheckCall(const InputCodes& x, int64_t ldy, const MvmContext& ctx, const char* what) const;

  void Program(const DeviceModel& device, Rng& rng);
  void InitAdc();
  void DrawPeriphery(Rng& rng);
  // The integer-GEMM path's input slice of pass `pass` (bits >> shift & mask) into s.plane, and its
  // square into s.plane2 with read noise and X_max > 1; returns the OR of all slice values.
  uint32_t FillPlanes(CrossbarScratch& s, const Tile& tile, int pass, int64_t nb, int shift, uint32_t mask) const;
  void MultiplyBlock(const InputCodes& x, int64_t j0, int64_t nb, int32_t* y, int64_t ldy, MvmContext& ctx,
                     CrossbarScratch& s) const;

  int64_t N_, K_;
  int weight_bits_;
  int32_t x_min_, x_max_;
  CrossbarParams params_;
  std::string where_;
  std::vector<int16_t> w_;         // [N, K]
  int32_t w_max_;
  int cell_bits_, slices_, input_slices_, input_shift_, passes_;
  int32_t input_mask_;             // 2^b − 1 (bit-serial), all ones (DAC)
  int32_t x_slice_max_;
  std::vector<int> d_max_;
  int64_t outs_per_tile_, tile_rows_, tile_cols_;
  bool noisy_;
  bool integer_gemm_ = false;
  double g_0_ = 0, delta_g_ = 0;
  int grid_e_ = 16, grid_e_var_ = 24;
  double adc_code_min_, adc_code_max_;   // −2^(B−1), 2^(B−1) − 1
  std::shared_ptr<const std::vector<Tile>> tiles_;   // tile_row-major; shared by WithReadout twins
  std::vector<double> adc_range_, adc_lsb_;
  std::vector<ColumnCorrection> corrections_;
  std::vector<ColumnCorrection> analog_;   // (a, b) per column

  mutable ScratchPool<CrossbarScratch> pool_;
};

// ---- the shared scalar steps (inline: both paths and the hot loop use them) ----

inline double CrossbarCore::AnalogValue(double mean, double sd, double z, bool noisy, double delta_g, double a,
                                        double b) {
  return std::fma(a, (noisy ? std::fma(sd, z, mean) : mean) / delta_g, b);
}

// clamp(round_half_away(q), lo, hi) for integers lo < hi within ±2^62, without a libm call so that
// loops over it vectorize: q is first clamped to [lo − 1, hi + 1] (which changes no result), then
// truncated through int64 (exact there) and q − trunc(q), exact, decides the rounding.
inline double CrossbarCore::RoundHalfAway(double q, double lo, double hi) {
  q = std::min(std::max(q, lo - 1), hi + 1);
  double r = static_cast<double>(static_cast<int64_t>(q));
  const double f = q - r;
  r += (f >= 0.5 ? 1.0 : 0.0) - (f <= -0.5 ? 1.0 : 0.0);
  return std::min(std::max(r, lo), hi);
}

inline double CrossbarCore::AdcCode(double v, double lsb, double code_min, double code_max) {
  return RoundHalfAway(v / lsb, code_min, code_max);
}

inline double CrossbarCore::AdcCode(double v, double lsb) const {
  return AdcCode(v, lsb, adc_code_min_, adc_code_max_);
}

inline int32_t CrossbarCore::InputSlice(int32_t code, int pass, int t) const {
  const int32_t magnitude = std::max(pass == 0 ? code : -code, 0);
  return (magnitude >> (t * input_shift_)) & input_mask_;
}

inline int32_t CrossbarCore::RoundSaturate(double value) {
  return static_cast<int32_t>(RoundHalfAway(value, -2147483648.0, 2147483647.0));
}

}  // namespace cimsim
