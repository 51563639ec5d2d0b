// programmed_array.h — a layer's weights programmed onto crossbar tiles: conductances, drift, aging, the
// exactness grids, and the per-tile matrices the fast path multiplies.
//
// Part of CrossbarCore (sim/crossbar_core.h, the overview); geometry and digits: sim/crossbar_layout.h;
// the device: devices/device_model.h.
//
// Conductances. Δg = (g_max − g_min)/L and digit d of slice s → device target g_0 + d·Δg, where g_0 is
// g_min rounded up and Δg rounded down to the conductance grid 2^−e µS (below), so that every target
// is exactly a float and an ideal device reproduces d·Δg exactly. L = 2^c − 1 for every slice, or, with
// crossbar.full_range_slices, L = d_max(s), slice s's own Δg(s) (its digits span the whole range); a
// read column of slice s is then read in units of its Δg(s). Differential: w > 0 puts the target on
// g+ and g_0 on g−, w < 0 the other way round; offset: one cell at the target and, per tile and row, one
// reference cell at g_0.
//
// Devices per cell. A cell is n = devices_per_cell devices in parallel on its row and column, each
// programmed to the cell's device target; its conductance is their sum g = Σ_j g_j and its read
// variance σ² = Σ_j σ_j² (independent devices). A cell therefore reads n·(g_0 + d·Δg) ideally: DeltaG()
// and GMin() are the cell's n·Δg and n·g_0, and a column value v = mean/DeltaG() stays in integer units.
// With independent programming errors, drift exponents and read noise the relative error of a cell
// falls as 1/√n (tested); n = 1 is one device per cell.
//
// Programming (in the constructor, from the caller's rng): for each tile in order (tile_row, then
// tile_col) and each device j = 0..n−1 of its cells, the targets [rows, physical columns] go through
// DeviceModel::Program (its draws in cell order), then DrawDrift for the same devices. These programmed
// devices — g as programmed and ν, floats — are kept (ProgrammedCells, shared by every twin). Then each
// device is aged to read_time and its read σ is DeviceModel::ReadSigma at read_time; the cell sums
// them. The core has read noise when read_noise is set and the device's read-noise kind is not none
// (whatever σ comes out).
//
// Read time. Nothing drawn at programming depends on read_time (nor do the target grid, g_0 and Δg), so
// AtReadTime(t) — the same programmed cells aged to t, then the steps below — is exactly the array a
// constructor with read_time = t and the same rng state would build (tested), without drawing again.
//
// Exactness by construction. After aging (and summing a cell's devices), every cell's conductance is
// rounded to the grid 2^−e µS and every σ² to 2^−e_v µS² (round half away), e <= 16 and e_v <= 24, chosen as large as the bounds allow:
//     rows_in_tile · X_max · max|g|·2^e            <= 2^53   (nominally max|g| = n·g_max; and g_max·2^e <= 2^24
//                                                            for the device targets)
//     rows_in_tile · X_max² · (2·max σ²·2^e_v + 1) <= 2^53
// (With g <= 25 µS and e = 16 the first allows 2^53/(25·2^16) ≈ 2^32 rows for 1-bit input slices and
// ≈ 2^24 for 8-bit DAC inputs; with σ² <= 1 µS², e_v = 24 holds up to 2^27 rows for 1-bit slices and
// 4096 for 8-bit DAC inputs, beyond which e_v steps down.)
// Every product x·Δ and x²·σ² is then an integer number of grid units, every partial sum of a column
// is an integer below 2^53 units, so any summation order gives the same double: the reference (per
// cell loops over ReferenceCells) and the fast path (GEMMs over ArrayTile in any blocking, FMA or not)
// agree on mean and var, and since both then apply ReadColumn (sim/read_column.h), on every ADC code
// and on y. Tested.
//
// What is kept. Production tiles (ArrayTile) hold only what the fast path and its trace multiply: per read
// column s·outs + c, ΔG = g+ − g− (offset: g − g_ref) | S2 = σ+² + σ−² (offset: σ² + σ_ref², only with
// read noise) and the signed digits, as doubles (Eigen GEMM path) or as digit planes on their grids
// (integer-GEMM path, sim/grid_gemm.h). The aged physical cells (g and σ² per cell) are not stored: Cells()
// rebuilds them for the reference by aging the kept programmed cells again (same device, same rounding),
// so they are the cells the tiles came from.
//
// Memory: the programmed devices cost 8 bytes each (g and ν as floats), n per physical cell, on top of
// the tiles.
//
// Immutable once built; shared (std::shared_ptr<const ProgrammedArray>) by the WithReadout twins of a core.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "common/rng.h"
#include "devices/device_model.h"
#include "sim/crossbar_layout.h"
#include "sim/grid_gemm.h"

namespace cimsim {

// One programmed tile as the fast path reads it (m = S·outs read columns, slice-major s·outs + c).
struct ArrayTile {
  TileSpan span;
  // Eigen GEMM path: [ΔG | S2] [rows, m | 2m] (S2 only with read noise) and the signed digits [rows, m].
  Eigen::MatrixXd gs, digits;
  // Integer-GEMM path: the same on their grids (2^−e, 2^−e_v, 1); the double matrices above are then empty.
  GridMatrix mean_grid, var_grid, digit_grid;
};

// The devices of every tile as programmed, before any aging: entry t·n + j is device j (of the n =
// devices_per_cell in parallel per cell) of tile t (tile_row-major), column-major [rows, physical
// columns] (CrossbarLayout::PlusColumn / MinusColumn): the conductance after DeviceModel::Program (µS)
// and the drift exponent ν drawn by DrawDrift (0 for a device without drift).
struct ProgrammedCells {
  std::vector<Eigen::ArrayXXf> g, nu;
};

// The physical cells of every tile (tile_row-major), column-major [rows, physical columns]
// (CrossbarLayout::PlusColumn / MinusColumn): conductance on the 2^−e grid (µS), read variance on the
// 2^−e_v grid (µS², empty without read noise).
struct ReferenceCells {
  std::vector<Eigen::ArrayXXd> g, var;
};

class ProgrammedArray {
 public:
  // Programs codes [N, K] (row-major, |w| <= w_max: the caller checks) on `layout` (see above). Throws
  // InputError naming `where` when the device range is too narrow for the digit bits.
  ProgrammedArray(const CrossbarLayout& layout, std::span<const int16_t> codes, const DeviceModel& device,
                  double read_time, bool read_noise, Rng& rng, const std::string& where);

  const CrossbarLayout& layout() const { return layout_; }
  std::span<const int16_t> codes() const { return codes_; }   // [N, K]
  const std::vector<ArrayTile>& tiles() const { return tiles_; }   // tile_row-major
  bool HasReadNoise() const { return noisy_; }
  // A cell's Δg of weight slice s = n·Δg_device(s) and g_0 = n·g_0,device, µS (exact: a small integer times
  // a grid value). Δg_device(s) is the same for every slice unless crossbar.full_range_slices (above).
  double DeltaG(int slice) const {
    return layout_.DevicesPerCell() * device_delta_g_[static_cast<size_t>(slice)];
  }
  double GMin() const { return layout_.DevicesPerCell() * device_g_0_; }
  int ConductanceGridExponent() const { return grid_e_; }  // e
  int VarianceGridExponent() const { return grid_e_var_; } // e_v
  // True when the tiles hold digit planes (GridMatrix) for the int16 GEMM: whenever the input slices (and
  // their squares, with read noise) fit int16 and GridMatrix::MaxInput() of the tallest tile.
  bool UsesIntegerGemm() const { return integer_gemm_; }

  double ReadTime() const { return read_time_; }           // s after programming
  const ProgrammedCells& programmed() const { return *programmed_; }

  // The same programmed cells (no new draws) read `read_time` seconds after programming: aged, on
  // their grids, with their tile matrices, exactly as a constructor with that read_time and the same
  // rng state would build them. Throws std::invalid_argument when read_time is negative or not finite.
  std::shared_ptr<const ProgrammedArray> AtReadTime(double read_time) const;

  // The physical cells at ReadTime(), rebuilt by aging the programmed cells (for the reference).
  ReferenceCells Cells() const;
  // Tile t's read columns as the fast path multiplies them (either path): ΔG [rows, m] in µS and, with
  // read noise, S2 [rows, m] in µS² (else empty), read column s·outs + c, m = S·outs.
  Eigen::MatrixXd TileDeltaG(size_t t) const;
  Eigen::MatrixXd TileReadVariance(size_t t) const;

 private:
  struct AtTime {};   // tag of the AtReadTime constructor
  ProgrammedArray(AtTime, const ProgrammedArray& programmed, double read_time);

  // Targets → Program → DrawDrift for every tile in order, from `rng`.
  ProgrammedCells ProgramCells(Rng& rng) const;
  // The programmed cells aged to read_time_ (→ ReadSigma): before rounding (var squared σ, empty
  // without read noise).
  ReferenceCells AgedCells() const;
  // Rounds the cells to the grids e, e_v in place.
  void RoundCells(ReferenceCells& cells) const;
  // Everything after programming: aging to read_time_, the grids, the tile matrices.
  void Build();

  CrossbarLayout layout_;
  std::vector<int16_t> codes_;
  DeviceModel device_;
  double read_time_;
  bool noisy_;
  bool integer_gemm_ = false;
  double device_g_0_ = 0;
  std::vector<double> device_delta_g_;   // one device's targets on slice s: g_0 + d·Δg(s)
  int target_e_ = 16;              // the target grid (fixed at programming)
  int grid_e_ = 16, grid_e_var_ = 24;
  std::shared_ptr<const ProgrammedCells> programmed_;   // shared by every AtReadTime twin
  std::vector<ArrayTile> tiles_;
};

}  // namespace cimsim
