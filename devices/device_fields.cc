#include "devices/device_fields.h"

#include "common/field_builders.h"
#include "devices/device_presets.h"

namespace cimsim {
namespace {

using P = DeviceParams;

std::string KindOrigin(const P& p) {
  return p.preset.empty() ? ", the default" : ", from the preset \"" + p.preset + "\"";
}

// A section's "kind": a different kind resets the section (`section` reaches it) to that kind's defaults.
template <typename Kind, typename Section>
Field<P> KindField(std::string key, Section section, int count, std::string doc) {
  Field<P> f = ChoiceField<P>(std::move(key), [section](auto& p) -> auto& { return section(p).kind; },
                              EnumNames<Kind>(count), "a kind", std::move(doc));
  f.set = [section](P& p, const FieldValue& v) {
    const Kind k = static_cast<Kind>(std::get<int64_t>(v));
    if (k == section(p).kind) return;
    section(p) = {};
    section(p).kind = k;
  };
  return f;
}

// Applies with the section's kind among `kinds`.
Field<P> Of(Field<P> f, const std::string& kind_key, std::vector<std::string> kinds) {
  return When(std::move(f), kind_key, std::move(kinds), "", KindOrigin);
}

}  // namespace

std::vector<Field<DeviceParams>> DeviceFields() {
  const std::string prog = "programming_noise.kind", read = "read_noise.kind", drift = "drift.kind";
  const auto programming = [](auto& p) -> auto& { return p.programming; };
  const auto read_noise = [](auto& p) -> auto& { return p.read; };
  const auto drift_section = [](auto& p) -> auto& { return p.drift; };

  Field<P> preset;
  preset.key = "preset";
  preset.type = FieldType::kString;
  preset.get = [](const P& p) { return FieldValue(p.preset); };
  preset.set = [](P& p, const FieldValue& v) { p = DevicePreset(std::get<std::string>(v)); };
  for (std::string_view name : DevicePresetNames()) preset.choices.emplace_back(name);
  preset.noun = "a device preset";
  preset.doc = "the starting point (first; every other key overrides it); absent: the ideal defaults, unnamed";
  preset.omit_empty = true;

  Field<P> levels = IntField<P>("levels", [](auto& p) -> auto& { return p.levels; },
                                IntRange(2, kMaxDeviceLevels), "", "conductance levels; 0 = continuous");
  levels.range.also = 0;
  levels.range.text = "0 (continuous) or 2.." + std::to_string(kMaxDeviceLevels);
  levels.overflow_names_range = true;

  std::vector<Field<P>> f = {
      preset,
      // Conductances are bounded (1 S = 10^6 µS, far above any memory device) so that no arithmetic on
      // them overflows.
      NumberField<P>("g_min", [](auto& p) -> auto& { return p.g_min; }, WithText(Closed(0, 1e6), "0..1e6 µS"), "µS",
                     "lower end of the target range, < g_max"),
      NumberField<P>("g_max", [](auto& p) -> auto& { return p.g_max; }, WithText(Closed(1e-6, 1e6), "1e-6..1e6 µS"), "µS",
                     "upper end of the target range"),
      levels,
      // Programming noise.
      KindField<ProgrammingNoiseKind>(prog, programming, 4, "σ_prog(g_target) of the Gaussian programming error"),
      Required(Of(NumberField<P>("programming_noise.sigma", [](auto& p) -> auto& { return p.programming.sigma; },
                                 AtLeast(0), "µS", "σ"),
                  prog, {"constant"}),
               "σ in µS"),
      Required(Of(NumberField<P>("programming_noise.relative", [](auto& p) -> auto& { return p.programming.relative; },
                                 AtLeast(0), "relative", "σ = relative·g_target"),
                  prog, {"proportional"}),
               "σ / g_target"),
      Required(Of(NumbersField<P>("programming_noise.coefficients",
                                  [](auto& p) -> auto& { return p.programming.coefficients; }, "µS",
                                  "c_0, c_1, ... (1..8 values): σ = max(0, Σ_k c_k x^k)·s, >= 0 over [g_min, g_max]"),
                  prog, {"polynomial"}),
               "[c_0, c_1, ...]"),
      Of(ChoiceField<P>("programming_noise.variable", [](auto& p) -> auto& { return p.programming.variable; },
                        EnumNames<PolynomialVariable>(2), "a variable", "x = g / g_max (g_hat) or x = g in µS (g)"),
         prog, {"polynomial"}),
      Of(NumberField<P>("programming_noise.g_max_reference",
                        [](auto& p) -> auto& { return p.programming.g_max_reference; }, AtLeast(0), "µS",
                        "g_hat: σ scaled by g_max / g_max_reference; 0 = no scaling"),
         prog, {"polynomial"}),
      // Read noise.
      KindField<ReadNoiseKind>(read, read_noise, 4, "σ of one read at time t after programming"),
      Required(Of(NumberField<P>("read_noise.sigma", [](auto& p) -> auto& { return p.read.sigma; },
                                 WithText(Closed(0, 1e6), "0..1e6 µS"), "µS",
                                 "σ"),
                  read, {"constant"}),
               "σ in µS"),
      Required(Of(NumberField<P>("read_noise.relative", [](auto& p) -> auto& { return p.read.relative; },
                                 WithText(Closed(0, 1e3), "0..1000 (relative)"),
                                 "relative", "σ = relative·|g|"),
                  read, {"proportional"}),
               "σ / |g|"),
      Of(NumberField<P>("read_noise.q_scale", [](auto& p) -> auto& { return p.read.q_scale; }, AtLeast(0), "",
                        "1/f noise: Q_s = min(q_scale / max(ĝ^q_exponent, q_floor), q_max)"),
         read, {"pcm_1f"}),
      Of(NumberField<P>("read_noise.q_exponent", [](auto& p) -> auto& { return p.read.q_exponent; }, AtLeast(0), "",
                        "exponent of ĝ in Q_s"),
         read, {"pcm_1f"}),
      Of(NumberField<P>("read_noise.q_floor", [](auto& p) -> auto& { return p.read.q_floor; }, Above(0), "",
                        "floor of ĝ^q_exponent"),
         read, {"pcm_1f"}),
      Of(NumberField<P>("read_noise.q_max", [](auto& p) -> auto& { return p.read.q_max; }, AtLeast(0), "",
                        "ceiling of Q_s"),
         read, {"pcm_1f"}),
      Of(NumberField<P>("read_noise.t_read", [](auto& p) -> auto& { return p.read.t_read; }, Above(0), "s",
                        "duration of one read"),
         read, {"pcm_1f"}),
      Of(NumberField<P>("read_noise.t0", [](auto& p) -> auto& { return p.read.t0; }, AtLeast(0), "s",
                        "time from the start of programming to t = 0"),
         read, {"pcm_1f"}),
      // Drift.
      KindField<DriftKind>(drift, drift_section, 3, "g(t) = g_prog·((t + t0)/t0)^(−ν), ν drawn once per device"),
      Of(NumberField<P>("drift.t0", [](auto& p) -> auto& { return p.drift.t0; }, Above(0), "s",
                        "g_prog is the conductance read t0 after programming"),
         drift, {"constant_nu", "pcm"}),
      Required(Of(NumberField<P>("drift.nu", [](auto& p) -> auto& { return p.drift.nu; }, AtLeast(0), "",
                                 "ν ~ |N(nu, nu_std)|"),
                  drift, {"constant_nu"}),
               "the drift exponent"),
      Of(NumberField<P>("drift.nu_std", [](auto& p) -> auto& { return p.drift.nu_std; }, AtLeast(0), "", "σ of ν"),
         drift, {"constant_nu"}),
  };
  f[FindField(f, "programming_noise.coefficients").value()].example = "[c_0, c_1, ...]";
  // The two pcm fits, clip(slope·ln ĝ + intercept, min, max).
  const auto fit_fields = [&](const std::string& name, auto fit, const std::string& what) {
    f.push_back(Of(NumberField<P>(name + ".slope", [fit](auto& p) -> auto& { return fit(p).slope; }, AnyFinite(), "",
                                  what + ": slope of ln ĝ"),
                   drift, {"pcm"}));
    f.push_back(Of(NumberField<P>(name + ".intercept", [fit](auto& p) -> auto& { return fit(p).intercept; },
                                  AnyFinite(), "", what + ": intercept"),
                   drift, {"pcm"}));
    f.push_back(Of(NumberField<P>(name + ".min", [fit](auto& p) -> auto& { return fit(p).min; }, AtLeast(0), "",
                                  what + ": lower clip"),
                   drift, {"pcm"}));
    f.push_back(Of(NumberField<P>(name + ".max", [fit](auto& p) -> auto& { return fit(p).max; }, AnyFinite(), "",
                                  what + ": upper clip, >= min"),
                   drift, {"pcm"}));
  };
  fit_fields("drift.nu_mean_fit", [](auto& p) -> auto& { return p.drift.nu_mean_fit; }, "μ_ν(ĝ)");
  fit_fields("drift.nu_std_fit", [](auto& p) -> auto& { return p.drift.nu_std_fit; }, "σ_ν(ĝ)");
  f.push_back(NumberField<P>("stuck_at_min", [](auto& p) -> auto& { return p.stuck_at_min; }, Closed(0, 1), "fraction",
                             "devices stuck at g_min; stuck_at_min + stuck_at_max <= 1"));
  f.push_back(NumberField<P>("stuck_at_max", [](auto& p) -> auto& { return p.stuck_at_max; }, Closed(0, 1), "fraction",
                             "devices stuck at g_max"));
  f.push_back(NumberField<P>("g_max_variation", [](auto& p) -> auto& { return p.g_max_variation; }, Closed(0, 1),
                             "relative", "σ of each device's own g_max (device to device)"));
  return f;
}

}  // namespace cimsim
