#include "experiments/device_config_json.h"

#include <cmath>
#include <initializer_list>
#include <limits>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "experiments/json_reader.h"
#include "devices/device_presets.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kTopKeys[] = {"preset",    "g_min",        "g_max",        "levels",
                                         "programming_noise", "read_noise", "drift", "stuck_at_min",
                                         "stuck_at_max", "g_max_variation"};
constexpr std::string_view kProgrammingKeys[] = {"kind", "sigma", "relative", "coefficients", "variable",
                                                 "g_max_reference"};
constexpr std::string_view kReadKeys[] = {"kind",  "sigma", "relative", "q_scale", "q_exponent",
                                          "q_floor", "q_max", "t_read",   "t0"};
constexpr std::string_view kDriftKeys[] = {"kind", "t0", "nu", "nu_std", "nu_mean_fit", "nu_std_fit"};
constexpr std::string_view kFitKeys[] = {"slope", "intercept", "min", "max"};

constexpr ProgrammingNoiseKind kProgrammingKinds[] = {ProgrammingNoiseKind::kNone, ProgrammingNoiseKind::kConstant,
                                                      ProgrammingNoiseKind::kProportional,
                                                      ProgrammingNoiseKind::kPolynomial};
constexpr PolynomialVariable kVariables[] = {PolynomialVariable::kGHat, PolynomialVariable::kG};
constexpr ReadNoiseKind kReadKinds[] = {ReadNoiseKind::kNone, ReadNoiseKind::kConstant, ReadNoiseKind::kProportional,
                                        ReadNoiseKind::kPcm1f};
constexpr DriftKind kDriftKinds[] = {DriftKind::kNone, DriftKind::kConstantNu, DriftKind::kPcm};

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Every error is "<where>.<path>: <problem>"; numbers must be finite.
class Reader : public JsonReader {
 public:
  explicit Reader(const std::string& where) : JsonReader(where, ".") {}

  double Number(const json& j, const std::string& path) const {
    const double v = JsonReader::Number(j, path);
    if (!std::isfinite(v)) Fail(path, std::string("expected a finite number, got ") + (std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
    return v;
  }

  std::vector<double> Numbers(const json& j, const std::string& path) const {
    if (!j.is_array()) Fail(path, "expected an array of numbers [c_0, c_1, ...], got " + Show(j));
    std::vector<double> out;
    for (size_t i = 0; i < j.size(); ++i) out.push_back(Number(j[i], Element(path, i)));
    return out;
  }
};

// One section ("programming_noise", ...) while it is read: its path, kind and where the kind came from.
template <typename Kind>
class Section {
 public:
  Section(const Reader& reader, const json& j, std::string path, Kind kind, std::string origin)
      : reader_(reader), j_(j), path_(std::move(path)), kind_(kind), origin_(std::move(origin)) {}

  std::string Path(std::string_view key) const { return Child(path_, key); }
  Kind kind() const { return kind_; }

  // Sets the section's kind from its "kind" key; true when that changes the kind (reset the section).
  template <size_t N>
  bool ReadKind(const Kind (&kinds)[N]) {
    if (!j_.contains("kind")) return false;
    const Kind k = reader_.Choice(j_["kind"], Path("kind"), kinds, "a kind");
    const bool changed = k != kind_;
    kind_ = k;
    origin_.clear();
    changed_ = changed;
    return changed;
  }

  // `key` is present: it must belong to one of `kinds`. Returns whether it is present.
  bool Has(std::string_view key, std::initializer_list<Kind> kinds) const {
    if (!j_.contains(key)) return false;
    bool ok = false;
    for (Kind k : kinds) ok = ok || k == kind_;
    if (!ok) {
      std::string names;
      for (Kind k : kinds) names += (names.empty() ? "" : " or ") + Quoted(ToString(k));
      reader_.Fail(Path(key), "only allowed with \"kind\": " + names + " (the kind here is " + Quoted(ToString(kind_)) +
                                  origin_ + ")");
    }
    return true;
  }

  // A key the new kind cannot do without.
  void Require(std::string_view key, std::string_view what) const {
    if (changed_ && !j_.contains(key)) {
      reader_.Fail(Path(key), "missing; \"kind\": " + Quoted(ToString(kind_)) + " needs it (" + std::string(what) + ")");
    }
  }

  double Number(std::string_view key) const { return reader_.Number(j_[std::string(key)], Path(key)); }
  const json& operator[](std::string_view key) const { return j_[std::string(key)]; }

 private:
  const Reader& reader_;
  const json& j_;
  std::string path_;
  Kind kind_;
  std::string origin_;   // ", from the preset \"pcm\"" / ", the default" until "kind" is read
  bool changed_ = false;
};

// A section reset to its built-in defaults with the given kind.
template <typename T, typename Kind>
T Fresh(Kind kind) {
  T section;
  section.kind = kind;
  return section;
}

std::string KindOrigin(const DeviceParams& p) {
  return p.preset.empty() ? ", the default" : ", from the preset " + Quoted(p.preset);
}

void ReadProgramming(const Reader& r, const json& j, DeviceParams& p) {
  const std::string path = "programming_noise";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kProgrammingKeys);
  ProgrammingNoise& n = p.programming;
  Section<ProgrammingNoiseKind> s(r, j, path, n.kind, KindOrigin(p));
  if (s.ReadKind(kProgrammingKinds)) n = Fresh<ProgrammingNoise>(s.kind());
  using K = ProgrammingNoiseKind;
  if (s.kind() == K::kConstant) s.Require("sigma", "σ in µS");
  if (s.kind() == K::kProportional) s.Require("relative", "σ / g_target");
  if (s.kind() == K::kPolynomial) s.Require("coefficients", "[c_0, c_1, ...]");
  if (s.Has("sigma", {K::kConstant})) n.sigma = s.Number("sigma");
  if (s.Has("relative", {K::kProportional})) n.relative = s.Number("relative");
  if (s.Has("coefficients", {K::kPolynomial})) n.coefficients = r.Numbers(s["coefficients"], s.Path("coefficients"));
  if (s.Has("variable", {K::kPolynomial})) n.variable = r.Choice(s["variable"], s.Path("variable"), kVariables, "a variable");
  if (s.Has("g_max_reference", {K::kPolynomial})) n.g_max_reference = s.Number("g_max_reference");
}

void ReadRead(const Reader& r, const json& j, DeviceParams& p) {
  const std::string path = "read_noise";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kReadKeys);
  ReadNoise& n = p.read;
  Section<ReadNoiseKind> s(r, j, path, n.kind, KindOrigin(p));
  if (s.ReadKind(kReadKinds)) n = Fresh<ReadNoise>(s.kind());
  using K = ReadNoiseKind;
  if (s.kind() == K::kConstant) s.Require("sigma", "σ in µS");
  if (s.kind() == K::kProportional) s.Require("relative", "σ / |g|");
  if (s.Has("sigma", {K::kConstant})) n.sigma = s.Number("sigma");
  if (s.Has("relative", {K::kProportional})) n.relative = s.Number("relative");
  if (s.Has("q_scale", {K::kPcm1f})) n.q_scale = s.Number("q_scale");
  if (s.Has("q_exponent", {K::kPcm1f})) n.q_exponent = s.Number("q_exponent");
  if (s.Has("q_floor", {K::kPcm1f})) n.q_floor = s.Number("q_floor");
  if (s.Has("q_max", {K::kPcm1f})) n.q_max = s.Number("q_max");
  if (s.Has("t_read", {K::kPcm1f})) n.t_read = s.Number("t_read");
  if (s.Has("t0", {K::kPcm1f})) n.t0 = s.Number("t0");
}

void ReadFit(const Reader& r, const json& j, const std::string& path, LogFit& fit) {
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kFitKeys);
  if (j.contains("slope")) fit.slope = r.Number(j["slope"], Child(path, "slope"));
  if (j.contains("intercept")) fit.intercept = r.Number(j["intercept"], Child(path, "intercept"));
  if (j.contains("min")) fit.min = r.Number(j["min"], Child(path, "min"));
  if (j.contains("max")) fit.max = r.Number(j["max"], Child(path, "max"));
}

void ReadDrift(const Reader& r, const json& j, DeviceParams& p) {
  const std::string path = "drift";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kDriftKeys);
  Drift& d = p.drift;
  Section<DriftKind> s(r, j, path, d.kind, KindOrigin(p));
  if (s.ReadKind(kDriftKinds)) d = Fresh<Drift>(s.kind());
  using K = DriftKind;
  if (s.kind() == K::kConstantNu) s.Require("nu", "the drift exponent");
  if (s.Has("t0", {K::kConstantNu, K::kPcm})) d.t0 = s.Number("t0");
  if (s.Has("nu", {K::kConstantNu})) d.nu = s.Number("nu");
  if (s.Has("nu_std", {K::kConstantNu})) d.nu_std = s.Number("nu_std");
  if (s.Has("nu_mean_fit", {K::kPcm})) ReadFit(r, s["nu_mean_fit"], s.Path("nu_mean_fit"), d.nu_mean_fit);
  if (s.Has("nu_std_fit", {K::kPcm})) ReadFit(r, s["nu_std_fit"], s.Path("nu_std_fit"), d.nu_std_fit);
}

json FitToJson(const LogFit& f) {
  return {{"slope", f.slope}, {"intercept", f.intercept}, {"min", f.min}, {"max", f.max}};
}

}  // namespace

DeviceParams ParseDeviceConfig(const json& j, const std::string& where) {
  const Reader r(where);
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kTopKeys);

  DeviceParams p;
  if (j.contains("preset")) {
    const std::string name = r.String(j["preset"], "preset");
    bool known = false;
    for (std::string_view n : DevicePresetNames()) known = known || name == n;
    if (!known) r.Fail("preset", Show(j["preset"]) + " is not a device preset; allowed " + JoinWords(DevicePresetNames()));
    p = DevicePreset(name);
  }
  if (j.contains("g_min")) p.g_min = r.Number(j["g_min"], "g_min");
  if (j.contains("g_max")) p.g_max = r.Number(j["g_max"], "g_max");
  if (j.contains("levels")) {
    p.levels = r.Int(j["levels"], "levels", "0 (continuous) or 2.." + std::to_string(kMaxDeviceLevels));
  }
  if (j.contains("programming_noise")) ReadProgramming(r, j["programming_noise"], p);
  if (j.contains("read_noise")) ReadRead(r, j["read_noise"], p);
  if (j.contains("drift")) ReadDrift(r, j["drift"], p);
  if (j.contains("stuck_at_min")) p.stuck_at_min = r.Number(j["stuck_at_min"], "stuck_at_min");
  if (j.contains("stuck_at_max")) p.stuck_at_max = r.Number(j["stuck_at_max"], "stuck_at_max");
  if (j.contains("g_max_variation")) p.g_max_variation = r.Number(j["g_max_variation"], "g_max_variation");
  p.Validate(where);
  return p;
}

json DeviceParamsToJson(const DeviceParams& p) {
  json out = json::object();
  if (!p.preset.empty()) out["preset"] = p.preset;
  out["g_min"] = p.g_min;
  out["g_max"] = p.g_max;
  out["levels"] = p.levels;

  const ProgrammingNoise& n = p.programming;
  json prog = {{"kind", std::string(ToString(n.kind))}};
  if (n.kind == ProgrammingNoiseKind::kConstant) prog["sigma"] = n.sigma;
  if (n.kind == ProgrammingNoiseKind::kProportional) prog["relative"] = n.relative;
  if (n.kind == ProgrammingNoiseKind::kPolynomial) {
    prog["coefficients"] = n.coefficients;
    prog["variable"] = std::string(ToString(n.variable));
    prog["g_max_reference"] = n.g_max_reference;
  }
  out["programming_noise"] = std::move(prog);

  const ReadNoise& rn = p.read;
  json read = {{"kind", std::string(ToString(rn.kind))}};
  if (rn.kind == ReadNoiseKind::kConstant) read["sigma"] = rn.sigma;
  if (rn.kind == ReadNoiseKind::kProportional) read["relative"] = rn.relative;
  if (rn.kind == ReadNoiseKind::kPcm1f) {
    read["q_scale"] = rn.q_scale;
    read["q_exponent"] = rn.q_exponent;
    read["q_floor"] = rn.q_floor;
    read["q_max"] = rn.q_max;
    read["t_read"] = rn.t_read;
    read["t0"] = rn.t0;
  }
  out["read_noise"] = std::move(read);

  const Drift& d = p.drift;
  json drift = {{"kind", std::string(ToString(d.kind))}};
  if (d.kind != DriftKind::kNone) drift["t0"] = d.t0;
  if (d.kind == DriftKind::kConstantNu) {
    drift["nu"] = d.nu;
    drift["nu_std"] = d.nu_std;
  }
  if (d.kind == DriftKind::kPcm) {
    drift["nu_mean_fit"] = FitToJson(d.nu_mean_fit);
    drift["nu_std_fit"] = FitToJson(d.nu_std_fit);
  }
  out["drift"] = std::move(drift);

  out["stuck_at_min"] = p.stuck_at_min;
  out["stuck_at_max"] = p.stuck_at_max;
  out["g_max_variation"] = p.g_max_variation;
  return out;
}

}  // namespace cimsim
