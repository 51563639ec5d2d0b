// column_sum_engine.h — the fast path's column sums of a ProgrammedArray, on two GEMM back-ends, and its scratch.
//
// Part of CrossbarCore (sim/crossbar_core.h, the overview). For a block of nb <= kVectorBlock input
// vectors, a tile, a sign pass p and an input slice t, with X [nb, rows] the input slice x_t of the
// block (CrossbarLayout::InputSlice on the tile's rows), the engine forms for every read column
// s·outs + c of the tile (ArrayTile, sim/programmed_array.h)
//     means = X·ΔG,   sds = sqrt(X∘X·S2)   (with read noise; X∘X = X when X_max = 1)      [nb, m] each
//     ideal = X·digits                       (on request: a trace's ideal column sums)
// exactly (the grids of sim/programmed_array.h make every summation order give the same doubles; the
// square root is std::sqrt, correctly rounded, as in the reference; never Eigen's approximate vector
// sqrt). Active vectors: a vector whose input slice x_t is zero on all of the tile's rows has
// means = sds = ideal = 0 exactly (+0.0) and needs no product; the engine lists the others (ActiveVectors,
// from the OR of each vector's magnitudes over the tile's rows, LoadTileBits) and runs the products on
// those rows only, compacted: row i of the results is vector active[i]. Back-ends
// (ProgrammedArray::UsesIntegerGemm()):
//   integer GEMM — X as int16 PackedWeights (and X∘X in a second plane) against the tile's digit planes
//                  (GridMatrix, sim/grid_gemm.h), about twice as fast; when every grid the read needs
//                  has a byte path (an ideal device's digits, GridMatrix::HasBytePath) and the products
//                  need no X∘X plane (no read noise, or 1-bit input slices), X as unsigned bytes
//                  (QuadCodes) through the u8×s8 GEMM instead, twice as fast again, the same doubles;
//   Eigen double — X as doubles in Eigen GEMMs sub-blocked to at most 128 in each dimension, so that
//                  Eigen keeps its packing buffers on the stack (no allocation).
//
// Scratch lives in a CrossbarScratch: one per concurrent caller, reused across calls and cores; once it
// has grown (Reserve) nothing allocates.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "sim/input_codes.h"
#include "sim/paired_codes.h"
#include "sim/quad_codes.h"
#include "sim/programmed_array.h"

namespace cimsim {

// Reusable scratch of the fast path (one per concurrent caller). Opaque; grows on first use.
class CrossbarScratch {
 private:
  friend class ColumnSumEngine;
  friend class CrossbarCore;
  std::vector<uint16_t> magnitude; // |x| of each pass [passes, K, n_block]: max(x, 0), max(−x, 0)
  // Rows i < count of the next four belong to the active vectors s.active[i] (ActiveVectors).
  std::vector<double> x, x2;       // input slice [count, rows] column-major, and its square
  std::vector<double> reads;       // column sums [count, m | 2m] row-major: means | variances → their sqrt
  std::vector<double> ideal;       // trace only: X·digits [count, m] row-major
  PackedWeights plane, plane2;     // integer-GEMM path: the input slice [count, rows], and its square
  QuadCodes bytes;                 // its byte path: the input slice as unsigned bytes [rows, count]
  std::vector<int32_t> units;      // integer-GEMM path: digit-plane products [n_block, planes·m]
  std::vector<int64_t> x_sum;      // [n_block]: Σ_k x[k, j] (offset mapping)
  int64_t block = 0;               // n_block, the number of vectors LoadInputs loaded
  std::vector<uint16_t> tile_bits; // [n_block]: OR of |x[k, j]| of the current pass over the tile's rows
  std::vector<int32_t> active;     // [n_block]: the vectors whose input slice is non-zero on the tile
  std::vector<uint8_t> needed;     // [n_block]: 1 for an active vector, 0 for a zero one
  // The executor's (CrossbarCore): read noise of one (tile, pass, input slice) [n_block, m], the
  // accumulator [n_block, N], the readout of the current tile's read columns [m] each, the corrected
  // value of each column's read of zero column sums [m], and zero column sums [2m] (trace reads).
  std::vector<double> z, acc;
  std::vector<double> lsb, gain, offset, analog_gain, analog_offset, zero_read, zero_sums;
};

class ColumnSumEngine {
 public:
  static constexpr int64_t kVectorBlock = 128;

  explicit ColumnSumEngine(std::shared_ptr<const ProgrammedArray> array) : array_(std::move(array)) {}

  // Grows the engine's part of s for blocks of up to kVectorBlock vectors (and the ideal sums with `trace`).
  void Reserve(CrossbarScratch& s, bool trace) const;
  // The magnitudes of each sign pass of vectors [j0, j0 + nb) of x into s, and Σ_k x[k, j] into s.x_sum.
  void LoadInputs(const InputCodes& x, int64_t j0, int64_t nb, CrossbarScratch& s) const;
  // After LoadInputs: s.tile_bits[j] = OR over the tile's rows k of |x[k, j]| in pass `pass`, j < n_block.
  void LoadTileBits(const TileSpan& tile, int pass, CrossbarScratch& s) const;
  // After LoadTileBits: the vectors j < n_block whose input slice t is non-zero on the tile, in order, into
  // s.active[0, count) and s.needed[j] (1 active, 0 not); returns count.
  int64_t ActiveVectors(int t, CrossbarScratch& s) const;
  // True when ColumnSums of `tile` (with the ideal sums when `ideal`) takes the byte path.
  bool UsesBytes(const ArrayTile& tile, bool ideal) const;
  // After ActiveVectors: means | sds of `tile`, pass `pass`, input slice t of the active vectors into
  // s.reads (row i, for vector s.active[i], at i·(noisy ? 2m : m), sds from m on), and with `ideal` the
  // ideal sums into s.ideal (row i at i·m). The rows of the other vectors would be all +0.0.
  void ColumnSums(const ArrayTile& tile, int pass, int t, int64_t count, bool ideal, CrossbarScratch& s) const;

 private:
  // The integer back-end's input slice (bits >> shift & mask) of the active vectors into s.plane (row i
  // = vector s.active[i]), and its square into s.plane2 with read noise and X_max > 1.
  void FillPlanes(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift, uint32_t mask) const;
  // FillPlanes with row i = vector s.active[i] (kGather) or vector i (every vector active).
  template <bool kGather>
  void FillPlaneRows(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift, uint32_t mask) const;
  // The byte path's input slice of the active vectors into s.bytes (column i = vector s.active[i]).
  template <bool kGather>
  void FillByteColumns(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift, uint32_t mask) const;
  // The double back-end's input slice of the active vectors into s.x (row i = vector s.active[i]).
  void FillDoubles(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t count, int shift, uint32_t mask) const;

  std::shared_ptr<const ProgrammedArray> array_;
};

}  // namespace cimsim
