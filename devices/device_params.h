// device_params.h — the parameters of a memory-device model (RRAM, PCM, ...): plain structs, no maths.
//
// Units: conductances and σ of conductances in microsiemens (µS), times in seconds; ĝ = g / g_max is
// the conductance normalized to the nominal g_max. The model that uses these (formulas, order of
// random draws) is devices/device_model.h; the named presets are devices/device_presets.h; the JSON
// form is experiments/device_config_json.h; all of it is described in docs/devices.md.
//
//   range        [g_min, g_max], 0 <= g_min < g_max; targets are clipped into it.
//   levels       0 = continuous, else 2..65536 equally spaced levels g_min + k·(g_max − g_min)/(levels − 1).
//   programming  σ_prog(g_target) of the Gaussian programming error:
//                  none; constant: σ; proportional: relative·g; polynomial: max(0, Σ_k c_k x^k)·s, with
//                  x = ĝ ("g_hat") or x = g in µS ("g"), and for x = ĝ the scale s = g_max / g_max_reference
//                  (s = 1 when g_max_reference is 0): a fit made at g_max_reference keeps its shape in ĝ
//                  and scales its σ with the range, as IBM's analog hardware kit does.
//   read         σ of one read of a cell of conductance g at time t after programming:
//                  none; constant: σ; proportional: relative·|g|;
//                  pcm_1f: |g|·Q_s·sqrt(max(0, ln((t + t0 + t_read) / (2·t_read)))),
//                          Q_s = min(q_scale / max(ĝ^q_exponent, q_floor), q_max).
//   drift        g(t) = g_prog·((t + t0)/t0)^(−ν), ν drawn once per device:
//                  none (ν = 0); constant_nu: ν ~ |N(nu, nu_std)|;
//                  pcm: ν ~ |N(μ_ν(ĝ), σ_ν(ĝ))|, μ_ν and σ_ν each clip(slope·ln ĝ + intercept, min, max).
//   faults       stuck_at_min / stuck_at_max: fractions of devices stuck at g_min / g_max.
//   variation    g_max_variation: relative σ of each device's own g_max (device-to-device).
//
// Every struct keeps the fields of all its kinds; only the current kind's fields are used (and
// validated). Validate(where) throws cimsim::InputError "<where>.<field>: <value> ...; allowed ...",
// the field spelled as in the JSON config ("drift.nu_mean_fit.min"), e.g.
// "xbar.json: device.g_min: 30 must be < device.g_max (25)".
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cimsim {

constexpr int kMaxDeviceLevels = 65536;               // 2^16
constexpr int kMaxProgrammingCoefficients = 8;        // polynomial degree <= 7

enum class ProgrammingNoiseKind { kNone, kConstant, kProportional, kPolynomial };
enum class PolynomialVariable { kGHat, kG };          // x = g / g_max, or x = g in µS
enum class ReadNoiseKind { kNone, kConstant, kProportional, kPcm1f };
enum class DriftKind { kNone, kConstantNu, kPcm };

// Names as written in configs: "none", "constant", "proportional", "polynomial"; "g_hat", "g";
// "none", "constant", "proportional", "pcm_1f"; "none", "constant_nu", "pcm".
std::string_view ToString(ProgrammingNoiseKind kind);
std::string_view ToString(PolynomialVariable variable);
std::string_view ToString(ReadNoiseKind kind);
std::string_view ToString(DriftKind kind);

struct ProgrammingNoise {
  ProgrammingNoiseKind kind = ProgrammingNoiseKind::kNone;
  double sigma = 0;                    // constant: σ in µS, >= 0
  double relative = 0;                 // proportional: σ = relative·g_target, >= 0
  std::vector<double> coefficients;    // polynomial: c_0, c_1, ... (1..8 values); σ >= 0 over [g_min, g_max]
  PolynomialVariable variable = PolynomialVariable::kGHat;
  double g_max_reference = 0;          // polynomial in ĝ: σ scaled by g_max / g_max_reference; 0 = no scaling
  bool operator==(const ProgrammingNoise&) const = default;
};

struct ReadNoise {
  ReadNoiseKind kind = ReadNoiseKind::kNone;
  double sigma = 0;                    // constant: σ in µS, >= 0
  double relative = 0;                 // proportional: σ = relative·|g|, >= 0
  // pcm_1f (defaults: the PCM 1/f fit of Nandakumar et al. as used by IBM's analog hardware kit).
  double q_scale = 0.0088;             // >= 0
  double q_exponent = 0.65;            // >= 0
  double q_floor = 1e-3;               // > 0, floor of ĝ^q_exponent
  double q_max = 0.2;                  // >= 0, ceiling of Q_s
  double t_read = 250e-9;              // s, > 0: duration of one read
  double t0 = 20;                      // s, >= 0: time from the start of programming to t = 0 (the kit's t0)
  bool operator==(const ReadNoise&) const = default;
};

// clip(slope·ln ĝ + intercept, min, max), 0 <= min <= max.
struct LogFit {
  double slope = 0, intercept = 0, min = 0, max = 0;
  bool operator==(const LogFit&) const = default;
};

struct Drift {
  DriftKind kind = DriftKind::kNone;
  double t0 = 20;                      // s, > 0: g_prog is the conductance read t0 after programming
  double nu = 0, nu_std = 0;           // constant_nu: ν ~ |N(nu, nu_std)|, both >= 0
  // pcm (defaults: the PCM drift fit of Nandakumar et al. / Joshi et al. 2020, IBM's analog hardware kit).
  LogFit nu_mean_fit{-0.0155, 0.0244, 0.049, 0.1};
  LogFit nu_std_fit{-0.0125, -0.0059, 0.008, 0.045};
  bool operator==(const Drift&) const = default;
};

struct DeviceParams {
  std::string preset;                  // the preset these parameters started from; "" if none
  double g_min = 0, g_max = 25;        // µS
  int levels = 0;                      // 0 = continuous, else 2..kMaxDeviceLevels
  ProgrammingNoise programming;
  ReadNoise read;
  Drift drift;
  double stuck_at_min = 0, stuck_at_max = 0;   // fractions in [0, 1], sum <= 1
  double g_max_variation = 0;                  // relative σ of each device's g_max, in [0, 1]

  // Throws InputError naming "<where>.<field>", the value and the allowed range. `where` is usually
  // "<file>: <path>"; a message that names a second field names it by the part after the last ": ".
  void Validate(const std::string& where) const;
  bool operator==(const DeviceParams&) const = default;
};

}  // namespace cimsim
