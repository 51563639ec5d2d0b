#include "train/hardware_noise.h"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "sim/crossbar_core.h"

namespace cimsim {

double HardwareReadTimes::Draw(Rng& rng) const {
  const double u = rng.Uniform();
  return t_min * std::pow(t_max / t_min, u);
}

LayerHardwareNoise::LayerHardwareNoise(const CrossbarParams& crossbar, const DeviceModel& device, int64_t O, int64_t K,
                                       int weight_bits, int32_t x_min, int32_t x_max, double strength,
                                       const std::string& where, const HardwareReadTimes& read_times)
    : crossbar_(crossbar),
      device_(device),
      O_(O),
      K_(K),
      weight_bits_(weight_bits),
      x_min_(x_min),
      x_max_(x_max),
      strength_(strength),
      read_times_(read_times),
      where_(where) {
  if (!(strength >= 0) || !std::isfinite(strength))
    throw std::invalid_argument("LayerHardwareNoise: strength must be finite and >= 0");
  if (read_times.t_max != 0 && !(read_times.t_min > 0 && read_times.t_min <= read_times.t_max &&
                                 std::isfinite(read_times.t_max) && read_times.t_min >= crossbar.read_time))
    throw std::invalid_argument("LayerHardwareNoise: read times must be finite, crossbar.read_time <= t_min <= t_max, t_min > 0");
  const std::vector<int16_t> zeros(static_cast<size_t>(O * K), 0);
  Rng rng(0);
  const CrossbarCore probe(zeros, O, K, weight_bits, x_min, x_max, device_, crossbar_, rng, where_);
  read_noise_ = probe.HasReadNoise();
  // q(x) for every code: passes of x⁺ and x⁻, then reads t, sliced as the layout slices them.
  const CrossbarLayout& layout = probe.layout();
  q_table_.assign(static_cast<size_t>(int64_t{x_max} - x_min + 1), 0.0f);
  if (!read_noise_) return;
  for (int32_t x = x_min; x <= x_max; ++x) {
    double q = 0;
    for (int p = 0; p < layout.SignPasses(); ++p)
      for (int t = 0; t < layout.InputSlices(); ++t) {
        const double xt = layout.InputSlice(x, p, t);
        q += std::ldexp(xt * xt, 2 * t * layout.InputShift());
      }
    q_table_[static_cast<size_t>(x - x_min)] = static_cast<float>(q);
  }
}

void LayerHardwareNoise::Sample(std::span<const int16_t> codes, Rng& rng, Draw& out, double factor) const {
  if (!(factor >= 0) || !std::isfinite(factor)) throw std::invalid_argument("LayerHardwareNoise: factor must be finite and >= 0");
  if (static_cast<int64_t>(codes.size()) != O_ * K_) throw std::invalid_argument("LayerHardwareNoise: codes are not [O, K]");
  const bool lifetime = read_times_.enabled();
  const bool global = lifetime && read_times_.compensation == HardwareReadTimes::Compensation::kGlobal;
  // Per-column compensation (and a fixed read time) reads the core where it was built: programmed and
  // aged to t_read. Global compensation builds it at t_cal for the gains and reads its cells aged to t.
  CrossbarParams chip = crossbar_;
  const double t_read = lifetime ? read_times_.Draw(rng) : crossbar_.read_time;
  if (!global) chip.read_time = t_read;
  const CrossbarCore core(codes, O_, K_, weight_bits_, x_min_, x_max_, device_, chip, rng, where_);
  const CrossbarLayout& layout = core.layout();
  // `array` is read (at t_read); `calibrated` gives the column gains (at t_cal for global compensation).
  const std::shared_ptr<const ProgrammedArray> aged = global ? core.array().AtReadTime(t_read) : nullptr;
  const ProgrammedArray& array = global ? *aged : core.array();
  const ProgrammedArray& calibrated = core.array();
  const int S = layout.WeightSlices(), c_bits = layout.CellBits();
  const bool adc_known = crossbar_.adc.range != AdcRange::kCalibrated;
  // Σ_{pass, t} 4^(t·b): the weight of one read's ADC variance, per weight slice times 4^(s·c).
  double reads = 0;
  for (int p = 0; p < layout.SignPasses(); ++p)
    for (int t = 0; t < layout.InputSlices(); ++t) reads += std::ldexp(1.0, 2 * t * layout.InputShift());
  const std::span<const double> lsb = core.AdcLsb();

  out.weights.assign(static_cast<size_t>(O_ * K_), 0.0f);
  out.read_variance.assign(static_cast<size_t>(O_ * K_), 0.0f);
  out.adc_variance.assign(static_cast<size_t>(O_), 0.0);
  std::vector<double> w_eff(static_cast<size_t>(O_ * K_), 0.0), v_eff(static_cast<size_t>(O_ * K_), 0.0);
  std::vector<double> w_cal(global ? w_eff.size() : 0, 0.0);  // ŵ_cal: the weights read at t_cal
  bool exact = !read_noise_;
  size_t index = 0;
  for (int64_t tr = 0; tr < layout.TileRows(); ++tr) {
    for (int64_t tc = 0; tc < layout.TileCols(); ++tc, ++index) {
      const TileSpan sp = layout.Tile(tr, tc);
      const Eigen::MatrixXd delta = array.TileDeltaG(index);
      const Eigen::MatrixXd var = array.TileReadVariance(index);
      const Eigen::MatrixXd delta_cal = global ? calibrated.TileDeltaG(index) : Eigen::MatrixXd();
      const Eigen::MatrixXd& gain_delta = global ? delta_cal : delta;
      for (int s = 0; s < S; ++s) {
        const double scale = std::ldexp(1.0, s * c_bits), dg = array.DeltaG(s);
        for (int64_t c = 0; c < sp.outs; ++c) {
          const int64_t col = s * sp.outs + c, o = sp.out0 + c;
          const int16_t* w = codes.data() + o * K_ + sp.row0;
          double de = 0, ee = 0;
          for (int64_t k = 0; k < sp.rows; ++k) {
            const double e = gain_delta(k, col) / dg, d = static_cast<double>(layout.Digit(w[k], s));
            de += d * e;
            ee += e * e;
            exact = exact && delta(k, col) / dg == d;
          }
          const double a = ee > 0 ? de / ee : 1.0;
          for (int64_t k = 0; k < sp.rows; ++k) {
            const size_t i = static_cast<size_t>(o * K_ + sp.row0 + k);
            w_eff[i] += scale * a * delta(k, col) / dg;
            if (global) w_cal[i] += scale * a * delta_cal(k, col) / dg;
            if (var.size() > 0) v_eff[i] += scale * scale * a * a * var(k, col) / (dg * dg);
          }
          if (adc_known) {
            const double step = lsb[static_cast<size_t>(layout.PeripheryIndex(tr, s, o))];
            out.adc_variance[static_cast<size_t>(o)] += a * a * step * step / 12.0 * scale * scale * reads;
          }
        }
      }
    }
  }
  // An exact chip (every e_k the digit, no read noise) reads integer column sums, which an ADC step of at
  // most 1 returns unchanged: no rounding noise then.
  bool coarse = false;
  for (double step : lsb) coarse = coarse || step > 1;
  if (exact && !coarse) out.adc_variance.assign(out.adc_variance.size(), 0.0);
  if (global) {  // one factor per layer: ŵ_t → α·ŵ_t, the variances × α²
    double ct = 0, tt = 0;
    for (size_t i = 0; i < w_eff.size(); ++i) {
      ct += w_cal[i] * w_eff[i];
      tt += w_eff[i] * w_eff[i];
    }
    const double alpha = tt > 0 ? ct / tt : 1.0;
    for (size_t i = 0; i < w_eff.size(); ++i) {
      w_eff[i] *= alpha;
      v_eff[i] *= alpha * alpha;
    }
    for (double& u : out.adc_variance) u *= alpha * alpha;
  }
  const double offset = layout.differential() ? 0.0 : layout.w_max();
  const double strength = strength_ * factor, s2 = strength * strength;
  for (size_t i = 0; i < w_eff.size(); ++i) {
    const double w = codes[i];
    out.weights[i] = static_cast<float>(w + strength * (w_eff[i] - offset - w));
    out.read_variance[i] = static_cast<float>(s2 * v_eff[i]);
  }
  for (double& u : out.adc_variance) u *= s2;
}

}  // namespace cimsim
