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
// sqrt). An all-zero input slice skips the products. Back-ends (ProgrammedArray::UsesIntegerGemm()):
//   integer GEMM — X as int16 PackedWeights (and X∘X in a second plane) against the tile's digit planes
//                  (GridMatrix, sim/grid_gemm.h), about twice as fast;
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
#include "sim/programmed_array.h"

namespace cimsim {

// Reusable scratch of the fast path (one per concurrent caller). Opaque; grows on first use.
class CrossbarScratch {
 private:
  friend class ColumnSumEngine;
  friend class CrossbarCore;
  std::vector<uint16_t> magnitude; // |x| of each pass [passes, K, n_block]: max(x, 0), max(−x, 0)
  std::vector<double> x, x2;       // input slice [n_block, rows] column-major, and its square
  std::vector<double> reads;       // column sums [n_block, m | 2m] row-major: means | variances → their sqrt
  std::vector<double> ideal;       // trace only: X·digits [n_block, m] row-major
  PackedWeights plane, plane2;     // integer-GEMM path: the input slice [n_block, rows], and its square
  std::vector<int32_t> units;      // integer-GEMM path: digit-plane products [n_block, planes·m]
  std::vector<int64_t> x_sum;      // [n_block]: Σ_k x[k, j] (offset mapping)
  // The executor's (CrossbarCore): read noise of one (tile, pass, input slice) [n_block, m], the
  // accumulator [n_block, N], and the readout of the current tile's read columns [m] each.
  std::vector<double> z, acc;
  std::vector<double> lsb, gain, offset, analog_gain, analog_offset;
};

class ColumnSumEngine {
 public:
  static constexpr int64_t kVectorBlock = 128;

  explicit ColumnSumEngine(std::shared_ptr<const ProgrammedArray> array) : array_(std::move(array)) {}

  // Grows the engine's part of s for blocks of up to kVectorBlock vectors (and the ideal sums with `trace`).
  void Reserve(CrossbarScratch& s, bool trace) const;
  // The magnitudes of each sign pass of vectors [j0, j0 + nb) of x into s, and Σ_k x[k, j] into s.x_sum.
  void LoadInputs(const InputCodes& x, int64_t j0, int64_t nb, CrossbarScratch& s) const;
  // means | sds of `tile`, pass `pass`, input slice t of the loaded block into s.reads (row j at
  // j·(noisy ? 2m : m), sds from m on), and with `ideal` the ideal sums into s.ideal (row j at j·m).
  void ColumnSums(const ArrayTile& tile, int pass, int t, int64_t nb, bool ideal, CrossbarScratch& s) const;

 private:
  // The integer back-end's input slice (bits >> shift & mask) into s.plane, and its square into s.plane2
  // with read noise and X_max > 1; returns the OR of all slice values.
  uint32_t FillPlanes(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t nb, int shift, uint32_t mask) const;
  // The double back-end's input slice into s.x; returns the OR of all slice values.
  uint32_t FillDoubles(CrossbarScratch& s, const TileSpan& tile, int pass, int64_t nb, int shift, uint32_t mask) const;

  std::shared_ptr<const ProgrammedArray> array_;
};

}  // namespace cimsim
