// ProgrammedArray: programming, the exactness grids, the fast path's tile matrices (sim/programmed_array.h).
#include "sim/programmed_array.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace cimsim {
namespace {

constexpr int kTargetGridExponent = 16;     // conductances: multiples of 2^−16 µS at best
constexpr int kVarianceGridExponent = 24;   // read variances: multiples of 2^−24 µS² at best
constexpr double kTwo53 = 9007199254740992.0;
constexpr double kTwo24 = 16777216.0;

// True when a column of `rows` rows with inputs up to x_max and |values| up to `max_value` (µS or µS²)
// on the grid 2^−e keeps every partial sum an integer number of units below 2^53 (the values round to
// at most ⌈max_value·2^e⌉ units; `pair` counts two rounded values per cell, + 1 for their rounding).
bool SumsExact(int64_t rows, double x_max, double max_value, int e, bool pair) {
  const double scaled = std::ldexp(max_value, e);
  const double units = pair ? std::ceil(2 * scaled) + 1 : std::ceil(scaled);
  return units <= std::floor(kTwo53 / (static_cast<double>(rows) * x_max));
}

double OnGrid(double v, int e) { return std::ldexp(std::round(std::ldexp(v, e)), -e); }

}  // namespace

ProgrammedArray::ProgrammedArray(const CrossbarLayout& layout, std::span<const int16_t> codes,
                                 const DeviceModel& device, double read_time, bool read_noise, Rng& rng,
                                 const std::string& where)
    : layout_(layout), codes_(codes.begin(), codes.end()), device_(device), read_time_(read_time),
      noisy_(read_noise && device.params().read.kind != ReadNoiseKind::kNone) {
  const DeviceParams& dp = device.params();
  const int64_t max_rows = layout_.MaxTileRows();
  const double x_bound = std::max(layout_.InputSliceMax(), 1);
  const int cell_bits = layout_.CellBits();
  const double n = layout_.DevicesPerCell();

  // The target grid: device targets must be floats (g_max·2^e <= 2^24) and the nominal sums of cells of
  // n devices exact.
  int e = kTargetGridExponent;
  while (std::ldexp(dp.g_max, e) > kTwo24 || !SumsExact(max_rows, x_bound, n * dp.g_max, e, false)) --e;
  device_g_0_ = std::ldexp(std::ceil(std::ldexp(dp.g_min, e)), -e);
  for (int s = 0; s < layout_.WeightSlices(); ++s) {
    const double digit_levels = layout_.DigitLevels(s);
    double delta_g = std::ldexp(std::floor(std::ldexp((dp.g_max - device_g_0_) / digit_levels, e)), -e);
    while (delta_g > 0 && device_g_0_ + digit_levels * delta_g > dp.g_max) delta_g -= std::ldexp(1.0, -e);
    if (!(delta_g > 0)) {
      throw InputError(where + ": the device range [" + std::to_string(dp.g_min) + ", " + std::to_string(dp.g_max) +
                       "] µS is too narrow for " + std::to_string(cell_bits) + "-bit digits on a grid of 2^-" +
                       std::to_string(e) + " µS");
    }
    device_delta_g_.push_back(delta_g);
  }
  target_e_ = e;

  // Program and draw drift, tile by tile; then age and build.
  programmed_ = std::make_shared<const ProgrammedCells>(ProgramCells(rng));
  Build();
}

ProgrammedArray::ProgrammedArray(AtTime, const ProgrammedArray& p, double read_time)
    : layout_(p.layout_), codes_(p.codes_), device_(p.device_), read_time_(read_time), noisy_(p.noisy_),
      device_g_0_(p.device_g_0_), device_delta_g_(p.device_delta_g_),
      target_e_(p.target_e_), programmed_(p.programmed_) {
  Build();
}

std::shared_ptr<const ProgrammedArray> ProgrammedArray::AtReadTime(double read_time) const {
  if (!std::isfinite(read_time) || read_time < 0)
    throw std::invalid_argument("ProgrammedArray::AtReadTime: the read time " + std::to_string(read_time) +
                                " s is not a finite number >= 0");
  return std::shared_ptr<const ProgrammedArray>(new ProgrammedArray(AtTime{}, *this, read_time));
}

void ProgrammedArray::Build() {
  const int64_t max_rows = layout_.MaxTileRows();
  const double x_bound = std::max(layout_.InputSliceMax(), 1);
  ReferenceCells cells = AgedCells();
  double max_g = 0, max_var = 0;
  for (const Eigen::ArrayXXd& g : cells.g) max_g = std::max(max_g, g.abs().maxCoeff());
  for (const Eigen::ArrayXXd& v : cells.var) max_var = std::max(max_var, v.maxCoeff());

  // The final grids (coarser only if the aged values exceed the nominal bound), and rounding.
  int e = target_e_;
  while (!SumsExact(max_rows, x_bound, max_g, e, false)) --e;
  int e_var = kVarianceGridExponent;
  while (!SumsExact(max_rows, x_bound * x_bound, max_var, e_var, true)) --e_var;
  grid_e_ = e;
  grid_e_var_ = e_var;
  RoundCells(cells);

  // The integer-GEMM path needs int16 input slices (and squares, with read noise) within the int32
  // bound of the tallest tile.
  const int64_t x_slice_max = layout_.InputSliceMax();
  const int64_t x_eff = noisy_ && x_slice_max > 1 ? x_slice_max * x_slice_max : x_slice_max;
  integer_gemm_ = x_eff <= std::numeric_limits<int16_t>::max() && x_eff <= GridMatrix::MaxInput(max_rows);

  // The fast path's matrices: read column s·outs + c.
  const int slices = layout_.WeightSlices();
  const int64_t K = layout_.K();
  size_t index = 0;
  tiles_.clear();
  for (int64_t tr = 0; tr < layout_.TileRows(); ++tr) {
    for (int64_t tc = 0; tc < layout_.TileCols(); ++tc, ++index) {
      ArrayTile t;
      t.span = layout_.Tile(tr, tc);
      const TileSpan& sp = t.span;
      const Eigen::ArrayXXd& g = cells.g[index];
      const int64_t m = slices * sp.outs;
      t.gs.resize(sp.rows, noisy_ ? 2 * m : m);
      t.digits.resize(sp.rows, m);
      for (int s = 0; s < slices; ++s) {
        for (int64_t c = 0; c < sp.outs; ++c) {
          const int64_t col = s * sp.outs + c;
          const int64_t plus = layout_.PlusColumn(s, c, sp.outs), minus = layout_.MinusColumn(s, c, sp.outs);
          t.gs.col(col) = g.col(plus) - g.col(minus);
          if (noisy_) t.gs.col(m + col) = cells.var[index].col(plus) + cells.var[index].col(minus);
          const int16_t* w = codes_.data() + (sp.out0 + c) * K + sp.row0;
          for (int64_t k = 0; k < sp.rows; ++k) t.digits(k, col) = static_cast<double>(layout_.Digit(w[k], s));
        }
      }
      if (integer_gemm_) {
        t.mean_grid = GridMatrix(t.gs.leftCols(m), e);
        if (noisy_) t.var_grid = GridMatrix(t.gs.rightCols(m), e_var);
        t.digit_grid = GridMatrix(t.digits, 0);
        t.gs.resize(0, 0);
        t.digits.resize(0, 0);
      }
      tiles_.push_back(std::move(t));
    }
  }
}

ProgrammedCells ProgrammedArray::ProgramCells(Rng& rng) const {
  const int slices = layout_.WeightSlices();
  const int64_t K = layout_.K();
  ProgrammedCells cells;
  for (int64_t tr = 0; tr < layout_.TileRows(); ++tr) {
    for (int64_t tc = 0; tc < layout_.TileCols(); ++tc) {
      const TileSpan t = layout_.Tile(tr, tc);
      const int64_t columns = layout_.PhysicalColumns(t.outs);
      Eigen::ArrayXXf targets = Eigen::ArrayXXf::Constant(t.rows, columns, static_cast<float>(device_g_0_));
      for (int s = 0; s < slices; ++s) {
        for (int64_t c = 0; c < t.outs; ++c) {
          const int16_t* w = codes_.data() + (t.out0 + c) * K + t.row0;
          for (int64_t k = 0; k < t.rows; ++k) {
            const int64_t d = layout_.Digit(w[k], s);
            const float target = static_cast<float>(device_g_0_ + static_cast<double>(std::abs(d)) *
                                                                    device_delta_g_[static_cast<size_t>(s)]);
            targets(k, d >= 0 ? layout_.PlusColumn(s, c, t.outs) : layout_.MinusColumn(s, c, t.outs)) = target;
          }
        }
      }
      for (int j = 0; j < layout_.DevicesPerCell(); ++j) {
        Eigen::ArrayXXf g = targets;
        device_.Program(g, rng);
        Eigen::ArrayXXf nu(t.rows, columns);
        device_.DrawDrift(g, nu, rng);
        cells.g.push_back(std::move(g));
        cells.nu.push_back(std::move(nu));
      }
    }
  }
  return cells;
}

ReferenceCells ProgrammedArray::AgedCells() const {
  const size_t n = static_cast<size_t>(layout_.DevicesPerCell());
  ReferenceCells cells;
  for (size_t i = 0; i < programmed_->g.size(); i += n) {
    Eigen::ArrayXXd g_sum, var_sum;
    for (size_t j = 0; j < n; ++j) {   // the cell: its n devices, each aged and read on its own, summed
      Eigen::ArrayXXf g = programmed_->g[i + j];
      device_.Age(g, programmed_->nu[i + j], read_time_);
      if (j == 0) g_sum = g.cast<double>(); else g_sum += g.cast<double>();
      if (noisy_) {
        Eigen::ArrayXXf sigma(g.rows(), g.cols());
        device_.ReadSigma(g, read_time_, sigma);
        if (j == 0) var_sum = sigma.cast<double>().square(); else var_sum += sigma.cast<double>().square();
      }
    }
    cells.g.push_back(std::move(g_sum));
    if (noisy_) cells.var.push_back(std::move(var_sum));
  }
  return cells;
}

void ProgrammedArray::RoundCells(ReferenceCells& cells) const {
  const int e = grid_e_, e_var = grid_e_var_;
  for (Eigen::ArrayXXd& g : cells.g) g = g.unaryExpr([e](double v) { return OnGrid(v, e); });
  for (Eigen::ArrayXXd& v : cells.var) v = v.unaryExpr([e_var](double x) { return OnGrid(x, e_var); });
}

ReferenceCells ProgrammedArray::Cells() const {
  ReferenceCells cells = AgedCells();
  RoundCells(cells);
  return cells;
}

Eigen::MatrixXd ProgrammedArray::TileDeltaG(size_t t) const {
  const ArrayTile& tile = tiles_.at(t);
  if (integer_gemm_) return tile.mean_grid.values();
  return tile.gs.leftCols(layout_.WeightSlices() * tile.span.outs);
}

Eigen::MatrixXd ProgrammedArray::TileReadVariance(size_t t) const {
  const ArrayTile& tile = tiles_.at(t);
  if (!noisy_) return {};
  if (integer_gemm_) return tile.var_grid.values();
  const int64_t m = layout_.WeightSlices() * tile.span.outs;
  return tile.gs.rightCols(m);
}

}  // namespace cimsim
