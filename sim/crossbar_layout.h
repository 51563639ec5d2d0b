// crossbar_layout.h — where a layer's weights and inputs go on crossbar tiles: pure geometry, no device.
//
// Part of CrossbarCore (sim/crossbar_core.h, the overview); parameters: sim/crossbar_params.h.
//
// Weights. Codes w [N, K] row-major, |w| <= w_max = 2^(b_w−1) − 1, b_w = weight_bits in [2, 16]. The
// sliced magnitude is m(w) = |w| (differential, b_w − 1 bits) or m(w) = u = w + w_max (offset, b_w bits);
// with c = slice_bits (or all of those bits when slice_bits = 0), S = ⌈bits / c⌉ digits
//     m(w) = Σ_s d_s·2^(s·c),  d_s in [0, 2^c − 1];  the signed digit is sign(w)·d_s (differential), d_s (offset).
// d_max(s) is the largest digit slice s can hold: min(2^c − 1, u_max >> s·c), u_max = w_max (differential)
// or 2·w_max (offset). (How digits become conductances: sim/programmed_array.h.)
//
// Tiles. Tile (tile_row, tile_col) holds rows [tile_row·rows_max, ...) (at most rows_max) and outputs
// [tile_col·P, ...) (at most P), P = ⌊cols_max / (2S)⌋ (differential) or ⌊(cols_max − 1)/S⌋ (offset).
// Physical columns of a tile with `outs` outputs: differential, for slice s and local output c,
// g+ at 2·(s·outs + c) and g− at 2·(s·outs + c) + 1; offset, the cell at s·outs + c and the
// reference column at S·outs. Tiles are numbered tile_row-major (tile_row, then tile_col).
//
// Inputs. Signed ranges (x_min < 0) take two sign passes, x⁺ = max(x, 0) then x⁻ = max(−x, 0); an
// unsigned range one pass, x⁺ = x. DAC mode: one read per pass, x_0 = x±. Bit-serial with
// b = input.slice_bits: T = ⌈InputMagnitudeBits / b⌉ reads, x_t = (x± >> t·b) & (2^b − 1). X_max, the
// largest x_t, is 2^b − 1 (or the input magnitude if smaller) resp. the input magnitude (DAC).
//
// Readout columns. One per (tile_row, weight slice s, output o), at PeripheryIndex(tile_row, s, o) =
// (tile_row·S + s)·N + o (= ReadoutGeometry::Index, sim/column_readout.h). A read of pass p, input slice
// t and weight slice s adds (p ? −1 : 1)·2^(s·c + t·b) times its corrected value to y (SignedScale).
// The nominal full scale of readout column (tile_row, s, ·) is R = rows_in_tile·X_max·d_max(s), at least 1
// (the largest |value| an ideal column can produce).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "sim/column_readout.h"
#include "sim/crossbar_params.h"

namespace cimsim {

// The rows and outputs of one tile.
struct TileSpan {
  int64_t tile_row = 0, tile_col = 0;
  int64_t row0 = 0, rows = 0;     // dot-product positions [row0, row0 + rows)
  int64_t out0 = 0, outs = 0;     // outputs [out0, out0 + outs)
};

class CrossbarLayout {
 public:
  // Trusts its arguments: CrossbarCore checks the codes' shape and validates `params` against the layer
  // (CrossbarParams::Validate, ValidateLayer) first.
  CrossbarLayout(int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max, const CrossbarParams& params);

  int64_t N() const { return N_; }
  int64_t K() const { return K_; }
  int weight_bits() const { return weight_bits_; }
  int32_t w_max() const { return w_max_; }
  bool differential() const { return differential_; }

  int64_t TileRows() const { return tile_rows_; }          // ⌈K / rows_max⌉
  int64_t TileCols() const { return tile_cols_; }          // ⌈N / OutputsPerTile()⌉
  int64_t Tiles() const { return tile_rows_ * tile_cols_; }
  int64_t OutputsPerTile() const { return outs_per_tile_; }  // P
  int64_t MaxTileRows() const { return std::min(rows_max_, K_); }   // rows of the tallest tile
  TileSpan Tile(int64_t tile_row, int64_t tile_col) const;
  int64_t PhysicalColumns(int64_t outs) const {             // of a tile with `outs` outputs
    return differential_ ? 2 * slices_ * outs : slices_ * outs + 1;
  }

  int WeightSlices() const { return slices_; }             // S
  int CellBits() const { return cell_bits_; }              // c, bits of one digit
  // Devices in parallel per cell: r·n, n = devices_per_cell, r = RowCopies() (a replicated layer's copies
  // down the tile sum on the same column exactly as r·n parallel devices do; sim/crossbar_params.h).
  int DevicesPerCell() const { return devices_per_cell_; }
  int RowCopies() const { return row_copies_; }             // r, 1 unless replicate_rows
  int MaxDigit(int slice) const { return d_max_[static_cast<size_t>(slice)]; }  // d_max(s)
  // L(s), the digit steps slice s's conductance range is cut into: 2^c − 1, or d_max(s) (at least 1) with
  // full_range_slices (sim/crossbar_params.h, sim/programmed_array.h).
  int DigitLevels(int slice) const {
    return full_range_slices_ ? std::max(MaxDigit(slice), 1) : (1 << cell_bits_) - 1;
  }
  // Signed digit d_s of weight code w (see above).
  int64_t Digit(int16_t w, int slice) const {
    const int shift = slice * cell_bits_;
    const int32_t mask = (1 << cell_bits_) - 1;
    if (!differential_) return ((int32_t{w} + w_max_) >> shift) & mask;
    const int64_t d = (std::abs(int32_t{w}) >> shift) & mask;
    return w < 0 ? -d : d;
  }
  // Physical column of g+ (or the offset cell), and of g− (or the reference column).
  int64_t PlusColumn(int slice, int64_t c, int64_t outs) const {
    return differential_ ? 2 * (slice * outs + c) : slice * outs + c;
  }
  int64_t MinusColumn(int slice, int64_t c, int64_t outs) const {
    return differential_ ? 2 * (slice * outs + c) + 1 : slices_ * outs;
  }

  int SignPasses() const { return passes_; }               // 1 (unsigned inputs) or 2
  int InputSlices() const { return input_slices_; }        // T (1 for the DAC)
  int InputShift() const { return input_shift_; }          // b (0 for the DAC)
  int32_t InputMask() const { return input_mask_; }        // 2^b − 1 (bit-serial), all ones (DAC)
  int32_t InputSliceMax() const { return x_slice_max_; }   // X_max
  // x_t of pass `pass` for input code `code`.
  int32_t InputSlice(int32_t code, int pass, int t) const {
    const int32_t magnitude = std::max(pass == 0 ? code : -code, 0);
    return (magnitude >> (t * input_shift_)) & input_mask_;
  }
  double SignedScale(int pass, int slice, int t) const;    // (p ? −1 : 1)·2^(s·c + t·b)

  int64_t PeripheryIndex(int64_t tile_row, int slice, int64_t output) const {
    return (tile_row * slices_ + slice) * N_ + output;
  }
  int64_t ReadoutColumns() const { return tile_rows_ * slices_ * N_; }
  ReadoutGeometry Geometry() const;
  double NominalFullScale(int64_t tile_row, int slice) const;   // R, at least 1

 private:
  int64_t N_, K_;
  int weight_bits_;
  int32_t w_max_;
  bool differential_;
  int64_t rows_max_;
  int cell_bits_, slices_;
  int row_copies_, devices_per_cell_;
  bool full_range_slices_;
  std::vector<int> d_max_;
  int passes_, input_slices_, input_shift_;
  int32_t input_mask_, x_slice_max_;
  int64_t outs_per_tile_, tile_rows_, tile_cols_;
};

}  // namespace cimsim
