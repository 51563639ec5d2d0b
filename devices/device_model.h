// device_model.h — one kind of memory device (RRAM, PCM, ...): programming, drift, read noise.
//
// Units: conductances in microsiemens (µS), times in seconds. Arrays are any 2-D block of cells
// (Eigen column-major; a Ref may be a block of a larger array); "cell order" is column-major,
// cell (r, c) is number r + c·rows. ĝ = g / g_max with the nominal g_max. Parameters and their
// formulas: devices/device_params.h; presets: devices/device_presets.h; docs/devices.md.
//
// Program(g, rng): target conductances → programmed conductances, per cell:
//   1. clip       q = clamp(target, g_min, g_max)
//   2. levels     q = g_min + k·Δ, Δ = (g_max − g_min)/(levels − 1), k = floor((q − g_min)/Δ + 1/2)
//                 (nearest level, halves up; the top level is g_max exactly); skipped when levels = 0
//   3. variation  the device's own g_max: G = max(g_min, g_max·(1 + g_max_variation·z_v)), and
//                 g = g_min + (q − g_min)·(G − g_min)/(g_max − g_min) (its range is stretched, g_min
//                 stays); skipped (G = g_max, g = q) when g_max_variation = 0
//   4. noise      g = clamp(g + σ_prog(q)·z_p, 0, G); skipped when the programming kind is none
//   5. faults     u < stuck_at_min → g_min; else u < stuck_at_min + stuck_at_max → g_max (nominal);
//                 skipped when both fractions are 0
//   Random draws, in cell order, per cell in this order: z_v = rng.Normal() if step 3 runs,
//   z_p = rng.Normal() if step 4 runs, u = rng.Uniform() if step 5 runs; nothing else. So (rng
//   state, array shape, parameters) fix the result, and rng advances by exactly these draws (an
//   ideal device draws nothing). Multiply-adds are written as std::fma, intermediate values are in
//   double and every step rounds its result to float, so no compiler contraction or vector width can
//   change a bit: Program (chunks of up to 2048 cells of a column: the chunk's draws, then each step
//   over the chunk with Eigen) equals ProgramReference (a plain loop over cells calling the scalar
//   step functions) exactly — a tested guarantee. Both cost about what their draws cost
//   (Box–Muller, ~20 ns per normal): ~55 ns per cell for pcm with variation and faults.
//
// Drift: DrawDrift draws ν per cell (one rng.Normal() per cell in cell order unless the kind is
// none; ν = |μ + σ·z|), evaluated at the conductance passed in (normally the programmed one). The
// caller keeps ν with its chip: Age(g, ν, t) is then deterministic, g(t) = g·((t + t0)/t0)^(−ν),
// so the same device ages consistently when asked at several times. (An earlier design sketched
// Age(g, t, rng) drawing ν inside; that would give a device a new ν at every call.)
//
// Read noise: ReadSigma(g, t) is the σ (µS) of one read of a cell whose conductance is g at t
// seconds after programming (t >= 0). Reads are independent draws of N(g, σ²), which the crossbar
// samples per column output (docs/crossbar.md). For pcm_1f, ĝ is taken from the g passed in
// (IBM's kit takes it from g before drift, a difference inside the Q_s clip of at most the drift
// factor to the power 0.65).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "common/rng.h"
#include "devices/device_params.h"

namespace cimsim {

class DeviceModel {
 public:
  // Validates params (InputError naming `where`, e.g. "xbar.json: device").
  explicit DeviceModel(DeviceParams params, const std::string& where = "device");

  // The preset the parameters started from, or "custom".
  std::string_view Name() const;
  const DeviceParams& params() const { return params_; }

  // Targets in place → programmed conductances (steps and draws above).
  void Program(Eigen::Ref<Eigen::ArrayXXf> g, Rng& rng) const;
  // The slow, obvious oracle of Program: same result and same draws, one cell at a time.
  void ProgramReference(Eigen::Ref<Eigen::ArrayXXf> g, Rng& rng) const;
  // Random numbers Program takes per cell: 0 to 3.
  int DrawsPerCell() const;

  // ν per cell for conductances g (same shape as nu; std::invalid_argument otherwise). Kind none:
  // ν = 0 and no draws.
  void DrawDrift(const Eigen::Ref<const Eigen::ArrayXXf>& g, Eigen::Ref<Eigen::ArrayXXf> nu, Rng& rng) const;
  // g ← g·((t + t0)/t0)^(−ν) (float arithmetic); identity for kind none. t_seconds >= 0 and finite,
  // nu of g's shape, else std::invalid_argument.
  void Age(Eigen::Ref<Eigen::ArrayXXf> g, const Eigen::Ref<const Eigen::ArrayXXf>& nu, double t_seconds) const;

  // σ (µS) of one read of a cell of conductance g at t_seconds >= 0 (std::invalid_argument for
  // t < 0 or not finite).
  float ReadSigma(float g, double t_seconds) const;
  // Elementwise ReadSigma into sigma (same shape).
  void ReadSigma(const Eigen::Ref<const Eigen::ArrayXXf>& g, double t_seconds, Eigen::Ref<Eigen::ArrayXXf> sigma) const;

  // The scalar steps of Program, in order (public for the reference, the crossbar and tests).
  float ClipTarget(float target) const;                   // step 1
  float Quantize(float g) const;                          // step 2 (identity when levels = 0)
  float DeviceGMax(double z_v) const;                     // step 3: G for a standard normal draw
  float ScaleToDevice(float q, float device_g_max) const; // step 3: stretch q onto [g_min, G]
  float AddProgrammingNoise(float g, float q, double z_p, float device_g_max) const;  // step 4
  float ApplyFault(float g, double u) const;              // step 5
  // σ_prog (µS) at a target conductance (the formulas of device_params.h).
  float ProgrammingSigma(float g_target) const;

  // Drift-exponent distribution at conductance g: ν ~ |N(DriftNuMean(g), DriftNuStd(g)²)|; pcm
  // evaluates its fits at ĝ = max(|g|/g_max, 1e-7) so that ln ĝ stays finite (both fits are clipped
  // long before ĝ gets that small). 0 and 0 for kind none.
  double DriftNuMean(float g) const;
  double DriftNuStd(float g) const;

 private:
  double SigmaAt(float q) const;

  DeviceParams params_;
  bool variation_, noise_, faults_;   // which optional steps of Program run
  double step_ = 0;                   // level spacing Δ (levels > 0)
  std::vector<float> level_table_;    // g_min + k·Δ rounded to float, k = 0..levels−1
  double poly_scale_ = 1;             // g_max / g_max_reference for a polynomial in ĝ, else 1
  double g_max_sigma_ = 0;            // g_max · g_max_variation
};

}  // namespace cimsim
