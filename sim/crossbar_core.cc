// CrossbarCore: construction (geometry, programming, the exactness grids, the ADC) and the fast path.
// The reference path is crossbar_reference.cc; the maths is in crossbar_core.h.
#include "sim/crossbar_core.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "sim/layer_codes.h"
#include "sim/trace_sink.h"

namespace cimsim {
namespace {

constexpr int kTargetGridExponent = 16;     // conductances: multiples of 2^−16 µS at best
constexpr int kVarianceGridExponent = 24;   // read variances: multiples of 2^−24 µS² at best
constexpr double kTwo53 = 9007199254740992.0;
constexpr double kTwo24 = 16777216.0;
// Sub-product size: an Eigen GEMM of at most 128 × 128 × 128 doubles packs its operands in buffers of at
// most 128 KiB, which Eigen takes from the stack (EIGEN_STACK_ALLOCATION_LIMIT), so it does not allocate.
constexpr int64_t kGemmBlock = 128;

// True when a column of `rows` rows with inputs up to x_max and |values| up to `max_value` (µS or µS²)
// on the grid 2^−e keeps every partial sum an integer number of units below 2^53 (the values round to
// at most ⌈max_value·2^e⌉ units; `pair` counts two rounded values per cell, + 1 for their rounding).
bool SumsExact(int64_t rows, double x_max, double max_value, int e, bool pair) {
  const double scaled = std::ldexp(max_value, e);
  const double units = pair ? std::ceil(2 * scaled) + 1 : std::ceil(scaled);
  return units <= std::floor(kTwo53 / (static_cast<double>(rows) * x_max));
}

double OnGrid(double v, int e) { return std::ldexp(std::round(std::ldexp(v, e)), -e); }

template <typename T>
void Grow(std::vector<T>& v, int64_t size) {
  if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
}

// dst = a·b, as sub-products of at most kGemmBlock in every dimension (allocation-free, see above).
// The order of the partial sums does not matter: the grids make them exact.
template <typename Lhs, typename Rhs, typename Dst>
void BlockedProduct(const Lhs& a, const Rhs& b, Dst&& dst) {
  const int64_t depth = a.cols(), cols = b.cols();
  for (int64_t c0 = 0; c0 < cols; c0 += kGemmBlock) {
    const int64_t cw = std::min(kGemmBlock, cols - c0);
    for (int64_t k0 = 0; k0 < depth; k0 += kGemmBlock) {
      const int64_t kw = std::min(kGemmBlock, depth - k0);
      auto d = dst.middleCols(c0, cw);
      if (k0 == 0) {
        d.noalias() = a.middleCols(k0, kw) * b.block(k0, c0, kw, cw);
      } else {
        d.noalias() += a.middleCols(k0, kw) * b.block(k0, c0, kw, cw);
      }
    }
  }
}

}  // namespace

CrossbarCore::CrossbarCore(std::span<const int16_t> codes, int64_t N, int64_t K, int weight_bits, int32_t x_min,
                           int32_t x_max, const DeviceModel& device, const CrossbarParams& params, Rng& rng,
                           const std::string& where)
    : N_(N), K_(K), weight_bits_(weight_bits), x_min_(x_min), x_max_(x_max), params_(params), where_(where) {
  CheckLayerCodes("CrossbarCore: ", codes, N, K, weight_bits, 16, x_min, x_max);
  params_.Validate(where);
  params_.ValidateLayer(where, weight_bits, x_min, x_max);
  w_.assign(codes.begin(), codes.end());
  w_max_ = (1 << (weight_bits - 1)) - 1;

  // Weight digits.
  const bool differential = params_.mapping == CrossbarMapping::kDifferential;
  const int magnitude_bits = WeightMagnitudeBits(params_.mapping, weight_bits);
  cell_bits_ = params_.slice_bits == 0 ? magnitude_bits : params_.slice_bits;
  slices_ = (magnitude_bits + cell_bits_ - 1) / cell_bits_;
  const int32_t u_max = differential ? w_max_ : 2 * w_max_;
  for (int s = 0; s < slices_; ++s) d_max_.push_back(std::min((1 << cell_bits_) - 1, u_max >> (s * cell_bits_)));

  // Input slices.
  passes_ = x_min < 0 ? 2 : 1;
  const int32_t x_magnitude = std::max({x_max, -x_min, 0});
  const int input_bits = InputMagnitudeBits(x_min, x_max);
  if (params_.input.mode == InputMode::kDac) {
    input_slices_ = 1;
    input_shift_ = 0;
    input_mask_ = -1;
    x_slice_max_ = x_magnitude;
  } else {
    input_shift_ = params_.input.slice_bits;
    input_slices_ = (input_bits + input_shift_ - 1) / input_shift_;
    input_mask_ = static_cast<int32_t>((int64_t{1} << input_shift_) - 1);
    x_slice_max_ = std::min(input_mask_, x_magnitude);
  }

  // Tiles.
  outs_per_tile_ = differential ? params_.cols_max / (2 * slices_) : (params_.cols_max - 1) / slices_;
  tile_rows_ = (K + params_.rows_max - 1) / params_.rows_max;
  tile_cols_ = (N + outs_per_tile_ - 1) / outs_per_tile_;
  noisy_ = params_.read_noise && device.params().read.kind != ReadNoiseKind::kNone;
  adc_code_min_ = -std::ldexp(1.0, params_.adc.bits - 1);
  adc_code_max_ = std::ldexp(1.0, params_.adc.bits - 1) - 1;

  Program(device, rng);
  InitAdc();
  DrawPeriphery(rng);
}

CrossbarCore::~CrossbarCore() = default;

int64_t CrossbarCore::Digit(int16_t w, int slice) const {
  const int shift = slice * cell_bits_;
  const int32_t mask = (1 << cell_bits_) - 1;
  if (params_.mapping == CrossbarMapping::kOffset) return ((int32_t{w} + w_max_) >> shift) & mask;
  const int64_t d = (std::abs(int32_t{w}) >> shift) & mask;
  return w < 0 ? -d : d;
}

int64_t CrossbarCore::PlusColumn(int slice, int64_t c, int64_t outs) const {
  return params_.mapping == CrossbarMapping::kDifferential ? 2 * (slice * outs + c) : slice * outs + c;
}

int64_t CrossbarCore::MinusColumn(int slice, int64_t c, int64_t outs) const {
  return params_.mapping == CrossbarMapping::kDifferential ? 2 * (slice * outs + c) + 1 : slices_ * outs;
}

double CrossbarCore::SignedScale(int pass, int slice, int t) const {
  return std::ldexp(pass == 0 ? 1.0 : -1.0, slice * cell_bits_ + t * input_shift_);
}

void CrossbarCore::Program(const DeviceModel& device, Rng& rng) {
  const DeviceParams& dp = device.params();
  const bool differential = params_.mapping == CrossbarMapping::kDifferential;
  const int64_t max_rows = std::min<int64_t>(params_.rows_max, K_);
  const double x_bound = std::max(x_slice_max_, 1);

  // The target grid: targets must be floats (g_max·2^e <= 2^24) and the nominal sums exact.
  int e = kTargetGridExponent;
  while (std::ldexp(dp.g_max, e) > kTwo24 || !SumsExact(max_rows, x_bound, dp.g_max, e, false)) --e;
  const double digit_levels = std::ldexp(1.0, cell_bits_) - 1;
  g_0_ = std::ldexp(std::ceil(std::ldexp(dp.g_min, e)), -e);
  delta_g_ = std::ldexp(std::floor(std::ldexp((dp.g_max - g_0_) / digit_levels, e)), -e);
  while (delta_g_ > 0 && g_0_ + digit_levels * delta_g_ > dp.g_max) delta_g_ -= std::ldexp(1.0, -e);
  if (!(delta_g_ > 0)) {
    throw InputError(where_ + ": the device range [" + std::to_string(dp.g_min) + ", " + std::to_string(dp.g_max) +
                     "] µS is too narrow for " + std::to_string(cell_bits_) + "-bit digits on a grid of 2^-" +
                     std::to_string(e) + " µS");
  }

  // Program, draw drift, age: tile by tile.
  std::vector<Tile> tiles;
  double max_g = 0, max_var = 0;
  for (int64_t tr = 0; tr < tile_rows_; ++tr) {
    for (int64_t tc = 0; tc < tile_cols_; ++tc) {
      Tile t;
      t.tile_row = tr;
      t.tile_col = tc;
      t.row0 = tr * params_.rows_max;
      t.rows = std::min<int64_t>(params_.rows_max, K_ - t.row0);
      t.out0 = tc * outs_per_tile_;
      t.outs = std::min(outs_per_tile_, N_ - t.out0);
      const int64_t columns = differential ? 2 * slices_ * t.outs : slices_ * t.outs + 1;
      Eigen::ArrayXXf g = Eigen::ArrayXXf::Constant(t.rows, columns, static_cast<float>(g_0_));
      for (int s = 0; s < slices_; ++s) {
        for (int64_t c = 0; c < t.outs; ++c) {
          const int16_t* w = w_.data() + (t.out0 + c) * K_ + t.row0;
          for (int64_t k = 0; k < t.rows; ++k) {
            const int64_t d = Digit(w[k], s);
            const float target = static_cast<float>(g_0_ + static_cast<double>(std::abs(d)) * delta_g_);
            g(k, d >= 0 ? PlusColumn(s, c, t.outs) : MinusColumn(s, c, t.outs)) = target;
          }
        }
      }
      device.Program(g, rng);
      Eigen::ArrayXXf nu(t.rows, columns);
      device.DrawDrift(g, nu, rng);
      device.Age(g, nu, params_.read_time);
      t.g = g.cast<double>();
      max_g = std::max(max_g, t.g.abs().maxCoeff());
      if (noisy_) {
        Eigen::ArrayXXf sigma(t.rows, columns);
        device.ReadSigma(g, params_.read_time, sigma);
        t.var = sigma.cast<double>().square();
        max_var = std::max(max_var, t.var.maxCoeff());
      }
      tiles.push_back(std::move(t));
    }
  }

  // The final grids (coarser only if the programmed values exceed the nominal bound), and rounding.
  while (!SumsExact(max_rows, x_bound, max_g, e, false)) --e;
  int e_var = kVarianceGridExponent;
  while (!SumsExact(max_rows, x_bound * x_bound, max_var, e_var, true)) --e_var;
  grid_e_ = e;
  grid_e_var_ = e_var;

  // The integer-GEMM path needs int16 input slices (and squares, with read noise) within the int32
  // bound of the tallest tile.
  const int64_t x_eff = noisy_ && x_slice_max_ > 1 ? int64_t{x_slice_max_} * x_slice_max_ : int64_t{x_slice_max_};
  integer_gemm_ = x_eff <= std::numeric_limits<int16_t>::max() &&
                  x_eff <= GridMatrix::MaxInput(max_rows);

  // Round, then the fast path's matrices: read column s·outs + c.
  for (Tile& t : tiles) {
    t.g = t.g.unaryExpr([e](double v) { return OnGrid(v, e); });
    if (noisy_) t.var = t.var.unaryExpr([e_var](double v) { return OnGrid(v, e_var); });
    const int64_t m = slices_ * t.outs;
    t.gs.resize(t.rows, noisy_ ? 2 * m : m);
    t.digits.resize(t.rows, m);
    for (int s = 0; s < slices_; ++s) {
      for (int64_t c = 0; c < t.outs; ++c) {
        const int64_t col = s * t.outs + c, plus = PlusColumn(s, c, t.outs), minus = MinusColumn(s, c, t.outs);
        t.gs.col(col) = t.g.col(plus) - t.g.col(minus);
        if (noisy_) t.gs.col(m + col) = t.var.col(plus) + t.var.col(minus);
        const int16_t* w = w_.data() + (t.out0 + c) * K_ + t.row0;
        for (int64_t k = 0; k < t.rows; ++k) t.digits(k, col) = static_cast<double>(Digit(w[k], s));
      }
    }
    if (integer_gemm_) {
      t.mean_grid = GridMatrix(t.gs.leftCols(m), e);
      if (noisy_) t.var_grid = GridMatrix(t.gs.rightCols(m), e_var);
      t.digit_grid = GridMatrix(t.digits, 0);
      t.gs.resize(0, 0);
      t.digits.resize(0, 0);
    }
  }
  tiles_ = std::make_shared<const std::vector<Tile>>(std::move(tiles));
}

void CrossbarCore::InitAdc() {
  const int64_t count = tile_rows_ * slices_ * N_;
  adc_range_.assign(static_cast<size_t>(count), 0.0);
  adc_lsb_.assign(static_cast<size_t>(count), 0.0);
  corrections_.assign(static_cast<size_t>(count), ColumnCorrection{});
  analog_.assign(static_cast<size_t>(count), ColumnCorrection{});
  const double half = std::ldexp(1.0, params_.adc.bits - 1);
  const double positive_codes = std::max(half - 1, 1.0);
  for (int64_t tr = 0; tr < tile_rows_; ++tr) {
    for (int s = 0; s < slices_; ++s) {
      const double full_scale = NominalFullScale(tr, s);
      double range = full_scale, lsb = full_scale / half;
      if (params_.adc.range == AdcRange::kMax) {
        int k = std::ilogb(full_scale / positive_codes);
        while (std::ldexp(positive_codes, k) < full_scale) ++k;
        while (std::ldexp(positive_codes, k - 1) >= full_scale) --k;
        lsb = std::ldexp(1.0, k);
      } else if (params_.adc.range == AdcRange::kFixed) {
        range = params_.adc.fixed_range;
        lsb = range / half;
      }
      for (int64_t o = 0; o < N_; ++o) {
        const size_t i = static_cast<size_t>(PeripheryIndex(tr, s, o));
        adc_range_[i] = range;
        adc_lsb_[i] = lsb;
      }
    }
  }
}

double CrossbarCore::NominalFullScale(int64_t tile_row, int slice) const {
  // The largest |v| an ideal column can produce (at least 1, for an all-zero input range).
  const int64_t rows = std::min<int64_t>(params_.rows_max, K_ - tile_row * params_.rows_max);
  const double d_max = d_max_[static_cast<size_t>(slice)];
  return std::max(static_cast<double>(rows) * x_slice_max_ * d_max, 1.0);
}

void CrossbarCore::DrawPeriphery(Rng& rng) {
  const PeripheryParams& p = params_.periphery;
  if (p.Ideal()) return;
  for (int64_t tr = 0; tr < tile_rows_; ++tr) {
    for (int s = 0; s < slices_; ++s) {
      const double offset_scale = p.offset_sigma * NominalFullScale(tr, s);
      for (int64_t o = 0; o < N_; ++o) {
        ColumnCorrection& a = analog_[static_cast<size_t>(PeripheryIndex(tr, s, o))];
        if (p.gain_sigma > 0) a.gain = std::max(0.0, 1.0 + p.gain_sigma * rng.Normal());
        if (p.offset_sigma > 0) a.offset = offset_scale * rng.Normal();
      }
    }
  }
}

void CrossbarCore::SetCorrections(std::span<const ColumnCorrection> corrections, const std::string& where) {
  const std::string fn = where + (where.empty() ? "" : ": ") + "CrossbarCore::SetCorrections: ";
  if (corrections.size() != corrections_.size()) {
    throw std::invalid_argument(fn + std::to_string(corrections.size()) +
                                " corrections; the core has TileRows()·S·N = " + std::to_string(corrections_.size()));
  }
  for (size_t i = 0; i < corrections.size(); ++i) {
    if (!std::isfinite(corrections[i].gain) || !std::isfinite(corrections[i].offset)) {
      throw std::invalid_argument(fn + "correction " + std::to_string(i) + " is not finite (gain " +
                                  std::to_string(corrections[i].gain) + ", offset " +
                                  std::to_string(corrections[i].offset) + ")");
    }
  }
  corrections_.assign(corrections.begin(), corrections.end());
}

void CrossbarCore::SetAdcRanges(std::span<const double> ranges, const std::string& where) {
  const std::string fn = where + (where.empty() ? "" : ": ") + "CrossbarCore::SetAdcRanges: ";
  if (params_.adc.range != AdcRange::kCalibrated) throw std::logic_error(fn + AdcRangesFixedReason());
  if (ranges.size() != adc_range_.size()) {
    throw std::invalid_argument(fn + std::to_string(ranges.size()) + " ranges; the core has TileRows()·S·N = " +
                                std::to_string(adc_range_.size()));
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (!(ranges[i] > 0) || !std::isfinite(ranges[i])) {
      throw std::invalid_argument(fn + "range " + std::to_string(i) + " = " + std::to_string(ranges[i]) +
                                  "; must be finite and > 0");
    }
  }
  const double half = std::ldexp(1.0, params_.adc.bits - 1);
  for (size_t i = 0; i < ranges.size(); ++i) {
    adc_range_[i] = ranges[i];
    adc_lsb_[i] = ranges[i] / half;
  }
}

ReadoutGeometry CrossbarCore::Geometry() const {
  ReadoutGeometry g;
  g.tile_rows = tile_rows_;
  g.weight_slices = slices_;
  g.outputs = N_;
  g.input_slices = input_slices_;
  g.sign_passes = passes_;
  return g;
}

std::string CrossbarCore::AdcRangesFixedReason() const {
  if (params_.adc.range == AdcRange::kCalibrated) return "";
  return "the ADC range is \"" + std::string(ToString(params_.adc.range)) +
         "\"; per-column ranges need adc.range = \"calibrated\"";
}

std::unique_ptr<CrossbarCore> CrossbarCore::Calibrated(const ReadoutSettings& settings, const std::string& where) const {
  std::unique_ptr<CrossbarCore> twin(new CrossbarCore(*this));
  if (!settings.adc_ranges.empty()) twin->SetAdcRanges(settings.adc_ranges, where);
  twin->SetCorrections(settings.corrections, where);
  return twin;
}

std::unique_ptr<MvmCore> CrossbarCore::WithReadout(const ReadoutSettings& settings, const std::string& where) const {
  return Calibrated(settings, where);
}

void CrossbarCore::CheckCall(const InputCodes& x, int64_t ldy, const MvmContext& ctx, const char* what) const {
  if (x.K != K_) {
    throw std::invalid_argument(std::string(what) + ": x.K() = " + std::to_string(x.K) +
                                " but the core's depth is " + std::to_string(K_));
  }
  if (ldy < x.n) {
    throw std::invalid_argument(std::string(what) + ": ldy = " + std::to_string(ldy) + " < x.n() = " +
                                std::to_string(x.n));
  }
  if (noisy_ && ctx.rng == nullptr) {
    throw std::invalid_argument(std::string(what) + ": the core has read noise but ctx.rng is null");
  }
}

// ---- the fast path ----

void CrossbarCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const {
  const auto scratch = pool_.Take();
  Multiply(x, y, ldy, ctx, *scratch);
}

void CrossbarCore::Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx,
                            CrossbarScratch& s) const {
  CheckCall(x, ldy, ctx, "CrossbarCore::Multiply");
  const Tile& largest = tiles_->front();   // tile (0, 0) has the most rows and outputs
  const int64_t m = slices_ * largest.outs;
  Grow(s.magnitude, passes_ * K_ * kVectorBlock);
  if (!integer_gemm_) Grow(s.x, kVectorBlock * largest.rows);
  if (!integer_gemm_ && noisy_ && x_slice_max_ > 1) Grow(s.x2, kVectorBlock * largest.rows);
  Grow(s.reads, kVectorBlock * (noisy_ ? 2 * m : m));
  if (ctx.trace != nullptr) Grow(s.ideal, kVectorBlock * m);
  if (noisy_) Grow(s.z, kVectorBlock * m);
  if (integer_gemm_) Grow(s.units, GridMatrix::kMaxPlanes * kVectorBlock * m);
  Grow(s.acc, kVectorBlock * N_);
  Grow(s.x_sum, kVectorBlock);
  Grow(s.lsb, m);
  Grow(s.gain, m);
  Grow(s.offset, m);
  Grow(s.analog_gain, m);
  Grow(s.analog_offset, m);
  for (int64_t j0 = 0; j0 < x.n; j0 += kVectorBlock) {
    MultiplyBlock(x, j0, std::min(kVectorBlock, x.n - j0), y, ldy, ctx, s);
  }
}

uint32_t CrossbarCore::FillPlanes(CrossbarScratch& s, const Tile& tile, int pass, int64_t nb, int shift,
                                  uint32_t mask) const {
  const bool squares = noisy_ && x_slice_max_ > 1;
  if (s.plane.N() != nb || s.plane.K() != tile.rows) s.plane.Reshape(nb, tile.rows);
  if (squares && (s.plane2.N() != nb || s.plane2.K() != tile.rows)) s.plane2.Reshape(nb, tile.rows);
  uint32_t any = 0;
  for (int64_t kp = 0; kp < s.plane.pairs(); ++kp) {
    const int64_t k0 = tile.row0 + 2 * kp;
    const bool second = 2 * kp + 1 < tile.rows;
    const uint16_t* mag0 = s.magnitude.data() + (pass * K_ + k0) * nb;
    const uint16_t* mag1 = second ? mag0 + nb : mag0;
    const uint32_t mask1 = second ? mask : 0;   // the odd last row's partner stays zero
    for (int64_t j0 = 0; j0 < nb; j0 += PackedWeights::kRowBlock) {
      // Vectors j0 .. j0 + 7 of this row pair are adjacent in the packed layout.
      int32_t* dst = s.plane.mutable_data() + s.plane.Index(j0, kp);
      int32_t* dst2 = squares ? s.plane2.mutable_data() + s.plane2.Index(j0, kp) : nullptr;
      const int64_t count = std::min(PackedWeights::kRowBlock, nb - j0);
      for (int64_t i = 0; i < count; ++i) {
        const uint32_t v0 = (static_cast<uint32_t>(mag0[j0 + i]) >> shift) & mask;
        const uint32_t v1 = (static_cast<uint32_t>(mag1[j0 + i]) >> shift) & mask1;
        dst[i] = static_cast<int32_t>(v0 | (v1 << 16));   // PackPair of two non-negative codes
        if (squares) dst2[i] = static_cast<int32_t>(v0 * v0 | ((v1 * v1) << 16));
        any |= v0 | v1;
      }
    }
  }
  return any;
}

void CrossbarCore::AccumulateReads(const double* __restrict means, const double* __restrict sds,
                                   const double* __restrict z, const double* __restrict lsb,
                                   const double* __restrict gain, const double* __restrict offset,
                                   const double* __restrict analog_gain, const double* __restrict analog_offset,
                                   double* __restrict acc, int64_t outs, double scale, double delta_g,
                                   double code_min, double code_max) {
  if (z == nullptr) {
    for (int64_t c = 0; c < outs; ++c) {
      const double v = AnalogValue(means[c], 0.0, 0.0, false, delta_g, analog_gain[c], analog_offset[c]);
      const double code = AdcCode(v, lsb[c], code_min, code_max);
      acc[c] += scale * std::fma(gain[c], code * lsb[c], offset[c]);
    }
  } else {
    for (int64_t c = 0; c < outs; ++c) {
      const double v = AnalogValue(means[c], sds[c], z[c], true, delta_g, analog_gain[c], analog_offset[c]);
      const double code = AdcCode(v, lsb[c], code_min, code_max);
      acc[c] += scale * std::fma(gain[c], code * lsb[c], offset[c]);
    }
  }
}

void CrossbarCore::MultiplyBlock(const InputCodes& x, int64_t j0, int64_t nb, int32_t* y, int64_t ldy,
                                 MvmContext& ctx, CrossbarScratch& s) const {
  const bool trace = ctx.trace != nullptr;
  const bool binary = x_slice_max_ <= 1;   // then X∘X = X
  std::fill_n(s.acc.data(), nb * N_, 0.0);

  // Each pass's input magnitudes, [pass, k, j], and Σ_k x[k, j] for the offset mapping.
  std::fill_n(s.x_sum.data(), nb, int64_t{0});
  for (int64_t k = 0; k < K_; ++k) {
    const int16_t* src = x.data + k * x.k_stride + j0 * x.j_stride;
    const int64_t step = x.j_stride;
    uint16_t* plus = s.magnitude.data() + k * nb;
    uint16_t* minus = s.magnitude.data() + (K_ + k) * nb;
    for (int64_t j = 0; j < nb; ++j) {
      const int32_t code = src[j * step];
      plus[j] = static_cast<uint16_t>(std::max(code, 0));
      if (passes_ == 2) minus[j] = static_cast<uint16_t>(std::max(-code, 0));
      s.x_sum[static_cast<size_t>(j)] += code;
    }
  }

  for (const Tile& tile : *tiles_) {
    const int64_t rows = tile.rows, outs = tile.outs, m = slices_ * outs, m2 = noisy_ ? 2 * m : m;
    for (int sl = 0; sl < slices_; ++sl) {
      for (int64_t c = 0; c < outs; ++c) {
        const size_t i = static_cast<size_t>(PeripheryIndex(tile.tile_row, sl, tile.out0 + c));
        s.lsb[static_cast<size_t>(sl * outs + c)] = adc_lsb_[i];
        s.gain[static_cast<size_t>(sl * outs + c)] = corrections_[i].gain;
        s.offset[static_cast<size_t>(sl * outs + c)] = corrections_[i].offset;
        s.analog_gain[static_cast<size_t>(sl * outs + c)] = analog_[i].gain;
        s.analog_offset[static_cast<size_t>(sl * outs + c)] = analog_[i].offset;
      }
    }
    Eigen::Map<Eigen::MatrixXd> X(s.x.data(), nb, rows);
    Eigen::Map<RowMatrixXd> R(s.reads.data(), nb, m2);
    Eigen::Map<RowMatrixXd> I(trace ? s.ideal.data() : nullptr, trace ? nb : 0, trace ? m : 0);

    for (int p = 0; p < passes_; ++p) {
      for (int t = 0; t < input_slices_; ++t) {
        // Column sums of the input slice (InputSlice on the magnitudes): means | variances → their sqrt.
        const int shift = t * input_shift_;
        const uint32_t mask = static_cast<uint32_t>(input_mask_);
        uint32_t any = 0;
        if (integer_gemm_) {
          any = FillPlanes(s, tile, p, nb, shift, mask);
          if (any == 0) {
            R.setZero();
          } else {
            tile.mean_grid.Multiply(s.plane, s.units.data(), s.reads.data(), m2);
            if (noisy_) tile.var_grid.Multiply(binary ? s.plane : s.plane2, s.units.data(), s.reads.data() + m, m2);
          }
        } else {
          for (int64_t kl = 0; kl < rows; ++kl) {
            const uint16_t* mag = s.magnitude.data() + (p * K_ + tile.row0 + kl) * nb;
            double* dst = s.x.data() + kl * nb;
            for (int64_t j = 0; j < nb; ++j) {
              const uint32_t v = (static_cast<uint32_t>(mag[j]) >> shift) & mask;
              dst[j] = static_cast<double>(v);
              any |= v;
            }
          }
          if (any == 0) {
            R.setZero();
          } else if (!noisy_ || binary) {
            BlockedProduct(X, tile.gs, R);
          } else {
            BlockedProduct(X, tile.gs.leftCols(m), R.leftCols(m));
            Eigen::Map<Eigen::MatrixXd> X2(s.x2.data(), nb, rows);
            X2 = X.array().square().matrix();
            BlockedProduct(X2, tile.gs.rightCols(m), R.rightCols(m));
          }
        }
        if (noisy_) {
          // Variances → σ with std::sqrt (correctly rounded, as in the reference; Eigen's vector sqrt
          // is an approximation under EIGEN_FAST_MATH). A loop of its own, so the reads' loop vectorizes.
          for (int64_t j = 0; j < nb; ++j) {
            double* var = s.reads.data() + j * m2 + m;
            for (int64_t c = 0; c < m; ++c) var[c] = std::sqrt(var[c]);
          }
        }
        if (trace) {
          if (any == 0) {
            I.setZero();
          } else if (integer_gemm_) {
            tile.digit_grid.Multiply(s.plane, s.units.data(), s.ideal.data(), m);
          } else {
            BlockedProduct(X, tile.digits, I);
          }
        }

        // Without a trace the read noise is drawn first, in the documented order, and the reads then
        // run as plain loops; with a trace every read is drawn, computed and recorded in that order.
        if (noisy_ && !trace) {
          ctx.rng->FillNormal(s.z.data(), nb * m);
        }
        // The reads, in the documented order: vector, then read column (slice-major).
        for (int64_t j = 0; j < nb; ++j) {
          const double* row = s.reads.data() + j * m2;
          double* acc = s.acc.data() + j * N_ + tile.out0;
          for (int sl = 0; sl < slices_; ++sl) {
            const double scale = SignedScale(p, sl, t);
            const double* means = row + sl * outs;
            const double* lsb = s.lsb.data() + sl * outs;
            const double* gain = s.gain.data() + sl * outs;
            const double* offset = s.offset.data() + sl * outs;
            const double* analog_gain = s.analog_gain.data() + sl * outs;
            const double* analog_offset = s.analog_offset.data() + sl * outs;
            const double* sds = row + m + sl * outs;
            if (!trace) {
              AccumulateReads(means, noisy_ ? sds : nullptr, noisy_ ? s.z.data() + j * m + sl * outs : nullptr, lsb,
                              gain, offset, analog_gain, analog_offset, acc, outs, scale, delta_g_, adc_code_min_, adc_code_max_);
              continue;
            }
            for (int64_t c = 0; c < outs; ++c) {
              const double z = noisy_ ? ctx.rng->Normal() : 0.0;
              const double v =
                  AnalogValue(means[c], noisy_ ? sds[c] : 0.0, z, noisy_, delta_g_, analog_gain[c], analog_offset[c]);
              const double code = AdcCode(v, lsb[c]);
              const double corrected = std::fma(gain[c], code * lsb[c], offset[c]);
              acc[c] += scale * corrected;
              if (trace) {
                MvmRead r;
                r.tile_row = tile.tile_row;
                r.tile_col = tile.tile_col;
                r.weight_slice = sl;
                r.input_slice = t;
                r.sign_pass = p;
                r.output = tile.out0 + c;
                r.vector = j0 + j;
                r.ideal = static_cast<int64_t>(s.ideal[static_cast<size_t>(j * m + sl * outs + c)]);
                r.analog = v;
                r.code = static_cast<int32_t>(code);
                r.lsb = lsb[c];
                r.corrected = corrected;
                ctx.trace->Record(r);
              }
            }
          }
        }
      }
    }
  }

  // y, after the offset mapping's digital term w_max·Σ_k x[k, j].
  const bool offset_mapping = params_.mapping == CrossbarMapping::kOffset;
  for (int64_t o = 0; o < N_; ++o) {
    int32_t* out = y + o * ldy + j0;
    for (int64_t j = 0; j < nb; ++j) {
      const double term = offset_mapping ? static_cast<double>(w_max_ * s.x_sum[static_cast<size_t>(j)]) : 0.0;
      out[j] = RoundSaturate(s.acc[static_cast<size_t>(j * N_ + o)] - term);
    }
  }
}

}  // namespace cimsim
