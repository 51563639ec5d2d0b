// CrossbarLayout: digits, tiles, input slices (sim/crossbar_layout.h).
#include "sim/crossbar_layout.h"

#include <cmath>

namespace cimsim {

CrossbarLayout::CrossbarLayout(int64_t N, int64_t K, int weight_bits, int32_t x_min, int32_t x_max,
                               const CrossbarParams& params)
    : N_(N), K_(K), weight_bits_(weight_bits), w_max_((1 << (weight_bits - 1)) - 1),
      differential_(params.mapping == CrossbarMapping::kDifferential), rows_max_(params.rows_max),
      row_copies_(cimsim::RowCopies(params, K)), devices_per_cell_(params.devices_per_cell * row_copies_),
      full_range_slices_(params.full_range_slices) {
  // Weight digits.
  const int magnitude_bits = WeightMagnitudeBits(params.mapping, weight_bits);
  cell_bits_ = params.slice_bits == 0 ? magnitude_bits : params.slice_bits;
  slices_ = (magnitude_bits + cell_bits_ - 1) / cell_bits_;
  const int32_t u_max = differential_ ? w_max_ : 2 * w_max_;
  for (int s = 0; s < slices_; ++s) d_max_.push_back(std::min((1 << cell_bits_) - 1, u_max >> (s * cell_bits_)));

  // Input slices.
  passes_ = x_min < 0 ? 2 : 1;
  const int32_t x_magnitude = std::max({x_max, -x_min, 0});
  const int input_bits = InputMagnitudeBits(x_min, x_max);
  if (params.input.mode == InputMode::kDac) {
    input_slices_ = 1;
    input_shift_ = 0;
    input_mask_ = -1;
    x_slice_max_ = x_magnitude;
  } else {
    input_shift_ = params.input.slice_bits;
    input_slices_ = (input_bits + input_shift_ - 1) / input_shift_;
    input_mask_ = static_cast<int32_t>((int64_t{1} << input_shift_) - 1);
    x_slice_max_ = std::min(input_mask_, x_magnitude);
  }

  // Tiles.
  outs_per_tile_ = differential_ ? params.cols_max / (2 * slices_) : (params.cols_max - 1) / slices_;
  tile_rows_ = (K + rows_max_ - 1) / rows_max_;
  tile_cols_ = (N + outs_per_tile_ - 1) / outs_per_tile_;
}

TileSpan CrossbarLayout::Tile(int64_t tile_row, int64_t tile_col) const {
  TileSpan t;
  t.tile_row = tile_row;
  t.tile_col = tile_col;
  t.row0 = tile_row * rows_max_;
  t.rows = std::min(rows_max_, K_ - t.row0);
  t.out0 = tile_col * outs_per_tile_;
  t.outs = std::min(outs_per_tile_, N_ - t.out0);
  return t;
}

double CrossbarLayout::SignedScale(int pass, int slice, int t) const {
  return std::ldexp(pass == 0 ? 1.0 : -1.0, slice * cell_bits_ + t * input_shift_);
}

ReadoutGeometry CrossbarLayout::Geometry() const {
  ReadoutGeometry g;
  g.tile_rows = tile_rows_;
  g.weight_slices = slices_;
  g.outputs = N_;
  g.input_slices = input_slices_;
  g.sign_passes = passes_;
  return g;
}

double CrossbarLayout::NominalFullScale(int64_t tile_row, int slice) const {
  // The largest |v| an ideal column can produce (at least 1, for an all-zero input range).
  const int64_t rows = std::min(rows_max_, K_ - tile_row * rows_max_);
  const double d_max = d_max_[static_cast<size_t>(slice)];
  return std::max(static_cast<double>(rows) * x_slice_max_ * d_max, 1.0);
}

}  // namespace cimsim
