// hardware_noise.h — what a crossbar does to one layer's dot products, drawn for hardware-aware
// (noise-injection) training from the simulator's own chip: CrossbarCore (layout, ProgrammedArray,
// DeviceModel, ADC), never a second noise model (docs/hardware_aware_training.md).
//
// One draw programs the layer's current weight codes w [O, K] on a fresh CrossbarCore (programming
// noise, faults, g_max variation, drift ν drawn, aged to crossbar.read_time — everything
// sim/programmed_array.h does, from the caller's rng) and reads back, per read column
// (tile_row, weight slice s, output o) of m = S·outs columns per tile:
//   e_k = ΔG[k, col]/Δg(s)              the programmed digit of row k (ideal: the digit d_k(w[o, k], s)), Δg(s)
//                                       the column's slice step (ProgrammedArray::DeltaG)
//   a   = Σ_k d_k·e_k / Σ_k e_k²        the column's least-squares gain (1 if Σ e² = 0): the stand-in for
//                                       the per-column calibration the experiments apply (calib/)
// and returns
//   effective weights  ŵ[o, k] = Σ_s 2^(s·c)·a·e_k  (− w_max for the offset mapping)        [O, K], code units
//   read variance      v[o, k] = Σ_s 4^(s·c)·a²·S2[k, col]/Δg²                           [O, K], code units²
//   ADC variance       u[o]    = Σ_{tile_row, s} a²·lsb²/12 · Σ_{pass, t} 4^(s·c + t·b)  [O], code units²
// The dot product the chip computes for input codes x is then, before rounding,
//   ŷ_o = Σ_k ŵ[o, k]·x_k + N(0, Σ_k q(x_k)·v[o, k] + u[o]),   q(x) = Σ_{pass, t} x_t²
// (x_t the input slice of read t in pass p, sim/crossbar_layout.h): every read adds independent Gaussian
// read noise of variance Σ_k x_t,k²·S2 to its column (exactly the crossbar's read-noise model, summed
// over the reads with their weights 2^(s·c + t·b)), and the ADC's rounding adds lsb²/12 per read (the
// straight-through view of the quantization; only for "max" and "fixed" ADC ranges — a "calibrated"
// range is set after programming, from activations, and is not known while training, so its rounding
// is not injected). Offsets of the periphery are what calibration removes; they are not injected.
// `strength` scales every deviation: w + strength·(ŵ − w), variances × strength²; a draw may scale it
// once more (the epoch's factor of a strength schedule): strength·factor in place of strength.
//
// Lifetime draws (HardwareReadTimes enabled): the chip above is calibrated at t_cal = crossbar.read_time
// and read at a time t drawn per draw, log-uniform in [t_min, t_max] (t_cal <= t_min):
//   t = t_min·(t_max/t_min)^u,  u = rng.Uniform() — one word, taken before the programming draws.
// The same programmed cells are read at t (e_k, S2 at t: per_column builds the core with read time t,
// global ages the t_cal core's cells with ProgrammedArray::AtReadTime — the same cells, no new draws),
// with the column gains a of
//   per_column: t  — the least-squares gain at t (the chip recalibrated at every read time: the
//               `per_column` lifetime policy; identical to a chip with crossbar.read_time = t)
//   global:     t_cal — the gains calibrated once, then one factor per layer
//               α = Σ_{o,k} ŵ_cal[o, k]·ŵ_t[o, k] / Σ_{o,k} ŵ_t[o, k]²   (1 if Σ ŵ_t² = 0)
//               on every effective weight (variances × α²): the least-squares stand-in for the
//               `global` lifetime policy's α = Σ|y_ref| / Σ|y_t| of a known input read at 1 and at t
//               (experiments/lifetime; both undo a drift that shrinks every conductance alike).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/rng.h"
#include "devices/device_model.h"
#include "sim/crossbar_params.h"

namespace cimsim {

// The read-time axis of hardware-aware training (see above); disabled when t_max == 0.
struct HardwareReadTimes {
  enum class Compensation { kGlobal, kPerColumn };
  double t_min = 0, t_max = 0;  // s after programming: crossbar.read_time <= t_min <= t_max, finite
  Compensation compensation = Compensation::kGlobal;
  bool enabled() const { return t_max > 0; }
  // t = t_min·(t_max/t_min)^u for u = rng.Uniform() (one word).
  double Draw(Rng& rng) const;
};

class LayerHardwareNoise {
 public:
  // O outputs, K rows, weights of weight_bits, input codes in [x_min, x_max]. Checks the chip against the
  // layer (InputError naming `where`, as CrossbarCore does) by building it once with zero weights;
  // std::invalid_argument for read times that are not 0 < t_min <= t_max, finite, t_min >= read_time.
  LayerHardwareNoise(const CrossbarParams& crossbar, const DeviceModel& device, int64_t O, int64_t K, int weight_bits,
                     int32_t x_min, int32_t x_max, double strength, const std::string& where,
                     const HardwareReadTimes& read_times = {});

  struct Draw {
    std::vector<float> weights;        // ŵ mixed with w by strength [O, K]
    std::vector<float> read_variance;  // v × strength² [O, K]
    std::vector<double> adc_variance;  // u × strength² [O]
  };
  // One programming of codes [O, K] (|w| <= w_max) from rng, its deviations scaled by strength·factor
  // (factor >= 0).
  void Sample(std::span<const int16_t> codes, Rng& rng, Draw& out, double factor = 1.0) const;
  // q(x) of input code x in [x_min, x_max] (see above; exact in float for inputs of up to 12 bits); 0
  // without read noise.
  float InputVarianceWeight(int32_t x) const { return q_table_[static_cast<size_t>(std::clamp(x, x_min_, x_max_) - x_min_)]; }

  bool HasReadNoise() const { return read_noise_; }
  double strength() const { return strength_; }
  int64_t outputs() const { return O_; }
  int64_t rows() const { return K_; }

 private:
  CrossbarParams crossbar_;
  DeviceModel device_;
  int64_t O_, K_;
  int weight_bits_;
  int32_t x_min_, x_max_;
  double strength_;
  HardwareReadTimes read_times_;
  bool read_noise_ = false;
  std::string where_;
  std::vector<float> q_table_;  // q(x_min + i)
};

}  // namespace cimsim
