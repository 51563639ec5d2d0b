#include "experiments/qat_config.h"

#include <cmath>
#include <limits>

#include "common/error.h"
#include "experiments/config_shapes.h"
#include "experiments/config_file.h"
#include "experiments/json_reader.h"
#include "experiments/quant_config_json.h"

namespace cimsim {

QatConfig DefaultQatConfig() {
  QatConfig c;
  c.train.batches.augment = true;
  c.train.epochs = 15;
  c.train.schedule.kind = "cosine";
  c.train.schedule.base_lr = 0.01;
  return c;
}

namespace {

// A finite number >= 0 at `path` (a strength or a regulariser weight), else an InputError via r.
double NonNegativeNumber(const JsonReader& r, const nlohmann::json& v, const std::string& path) {
  const double value = r.Number(v, path);
  if (!(value >= 0) || !std::isfinite(value)) r.Fail(path, Show(v) + " is out of range; allowed a finite number >= 0");
  return value;
}

// hardware_aware.read_times: {"min": s, "max": s, "compensation": "global" | "per_column"}, with
// calibrate_at (the chip's crossbar.read_time) <= min <= max, finite.
HardwareReadTimes ParseReadTimes(const JsonReader& r, const nlohmann::json& j, double calibrate_at) {
  r.RequireObject(j, "read_times");
  static constexpr std::string_view kKeys[] = {"min", "max", "compensation"};
  r.CheckKeys(j, "read_times", kKeys);
  HardwareReadTimes t;
  for (const char* key : {"min", "max"})
    if (!j.contains(key))
      r.Fail(std::string("read_times.") + key, "required: seconds after programming (the range of read times drawn log-uniformly)");
  t.t_min = r.Number(j["min"], "read_times.min");
  t.t_max = r.Number(j["max"], "read_times.max");
  if (!(t.t_min > 0) || !std::isfinite(t.t_min) || t.t_min < calibrate_at)
    r.Fail("read_times.min", Show(j["min"]) + " is out of range; allowed a finite number of seconds > 0 and >= the chip's crossbar.read_time (" +
                                 Show(nlohmann::json(calibrate_at)) + ", when it is calibrated)");
  if (!(t.t_max >= t.t_min) || !std::isfinite(t.t_max))
    r.Fail("read_times.max", Show(j["max"]) + " is out of range; allowed a finite number of seconds >= read_times.min (" +
                                 Show(j["min"]) + ")");
  using Compensation = HardwareReadTimes::Compensation;
  static constexpr Compensation kCompensations[] = {Compensation::kGlobal, Compensation::kPerColumn};
  if (j.contains("compensation"))
    t.compensation = r.Choice(j["compensation"], "read_times.compensation", kCompensations,
                              [](Compensation c) -> std::string_view { return c == Compensation::kGlobal ? "global" : "per_column"; },
                              "a drift compensation");
  return t;
}

HardwareAwareConfig ParseHardwareAware(const nlohmann::json& j, const std::string& source) {
  const std::string where = (source.empty() ? std::string() : source + ": ") + "hardware_aware";
  const JsonReader r(where, ".");
  HardwareAwareConfig h;
  h.where = where;
  r.RequireObject(j, "");
  static constexpr std::string_view kKeys[] = {"xbar",           "layers", "strength",  "layer_strength",
                                               "epoch_strength", "seed",   "read_times"};
  r.CheckKeys(j, "", kKeys);
  if (!j.contains("xbar")) r.Fail("xbar", "required: the chip to train for (a crossbar config object or file, as in cimsim experiment)");
  const XbarShape xbar = ReadXbarShape(r, j["xbar"]);  // "<file>: hardware_aware.xbar" inline
  h.chip = AnnotatingErrors(xbar.file, [&] { return ParseXbarConfig(xbar.json, xbar.source); });
  if (h.chip.external) r.Fail("xbar.external", "an external chip cannot be simulated during training; give a device and crossbar");
  h.json = j;
  h.json["xbar"] = XbarConfigToJson(h.chip);
  if (j.contains("layers")) {
    const nlohmann::json& l = j["layers"];
    if (l.is_string() && l.get<std::string>() == "all") {
      h.all_layers = true;
    } else if (l.is_array() && !l.empty()) {
      h.all_layers = false;
      for (size_t i = 0; i < l.size(); ++i) {
        const std::string name = r.String(l[i], Element("layers", i));
        for (const std::string& prev : h.layers)
          if (prev == name) r.Fail(Element("layers", i), "'" + name + "' is listed twice");
        h.layers.push_back(name);
      }
    } else {
      r.Fail("layers", Show(l) + " is not \"all\" or a non-empty list of layer names");
    }
  }
  auto strength = [&](const nlohmann::json& v, const std::string& path) { return NonNegativeNumber(r, v, path); };
  if (j.contains("strength")) h.strength = strength(j["strength"], "strength");
  if (j.contains("layer_strength")) {
    r.RequireObject(j["layer_strength"], "layer_strength");
    for (const auto& [name, v] : j["layer_strength"].items()) h.layer_strength[name] = strength(v, "layer_strength." + name);
  }
  if (j.contains("epoch_strength")) {
    const nlohmann::json& e = j["epoch_strength"];
    if (!e.is_array() || e.empty()) r.Fail("epoch_strength", Show(e) + " is not a non-empty array of factors >= 0 (one per epoch)");
    for (size_t i = 0; i < e.size(); ++i) h.epoch_strength.push_back(strength(e[i], Element("epoch_strength", i)));
  }
  if (j.contains("seed")) h.seed = r.Unsigned64(j["seed"], "seed");
  if (j.contains("read_times")) h.read_times = ParseReadTimes(r, j["read_times"], h.chip.crossbar.read_time);
  return h;
}

OscillationDampeningParams ParseOscillationDampening(const JsonReader& r, const nlohmann::json& j) {
  r.RequireObject(j, "oscillation_dampening");
  static constexpr std::string_view kKeys[] = {"weight", "start_weight"};
  r.CheckKeys(j, "oscillation_dampening", kKeys);
  auto weight = [&](const std::string& key) { return NonNegativeNumber(r, j[key], "oscillation_dampening." + key); };
  if (!j.contains("weight")) r.Fail("oscillation_dampening.weight", "required: the dampening weight at the end of the run (>= 0; e.g. 0.1)");
  OscillationDampeningParams p;
  p.weight = weight("weight");
  if (j.contains("start_weight")) p.start_weight = weight("start_weight");
  return p;
}

WeightFreezingParams ParseWeightFreezing(const JsonReader& r, const nlohmann::json& j) {
  r.RequireObject(j, "weight_freezing");
  static constexpr std::string_view kKeys[] = {"threshold", "start_threshold", "momentum"};
  r.CheckKeys(j, "weight_freezing", kKeys);
  // A frequency in (0, hi]: the EMA of a 0/1 indicator never exceeds 1.
  auto fraction = [&](const std::string& key, double hi, const std::string& meaning) {
    const std::string path = "weight_freezing." + key;
    const double value = r.Number(j[key], path);
    if (!(value > 0 && value <= hi))
      r.Fail(path, Show(j[key]) + " is out of range; allowed " + meaning);
    return value;
  };
  if (!j.contains("threshold"))
    r.Fail("weight_freezing.threshold", "required: the oscillation frequency above which a weight freezes, at the end of the run (in (0, 1]; e.g. 0.01)");
  WeightFreezingParams p;
  p.threshold = fraction("threshold", 1, "a frequency in (0, 1]");
  p.start_threshold = j.contains("start_threshold")
                          ? fraction("start_threshold", std::numeric_limits<double>::max(), "a finite number > 0 (above 1: no weight freezes at the start)")
                          : p.threshold;
  if (j.contains("momentum")) p.momentum = fraction("momentum", 1, "an EMA momentum in (0, 1]");
  return p;
}

}  // namespace

HardwareAwareParams HardwareAwareConfig::Resolve(const std::vector<std::string>& names) const {
  const JsonReader r(where, ".");
  HardwareAwareParams p;
  p.crossbar = chip.crossbar;
  p.device = chip.device;
  p.seed = seed;
  p.epoch_factors = epoch_strength;
  p.read_times = read_times;
  const std::vector<std::string>& cim = all_layers ? names : layers;
  std::string allowed;
  for (const std::string& n : names) allowed += (allowed.empty() ? "" : ", ") + n;
  for (size_t i = 0; i < cim.size(); ++i) {
    bool known = false;
    for (const std::string& n : names) known = known || n == cim[i];
    if (!known) r.Fail(Element("layers", i), "'" + cim[i] + "' is not a conv/linear layer of the model; allowed: " + allowed);
    const auto it = layer_strength.find(cim[i]);
    p.layers.emplace_back(cim[i], it == layer_strength.end() ? strength : it->second);
  }
  for (const auto& [name, value] : layer_strength) {
    bool on_cim = false;
    for (const std::string& n : cim) on_cim = on_cim || n == name;
    if (!on_cim) r.Fail("layer_strength." + name, "'" + name + "' is not a CIM layer (hardware_aware.layers): noise on a digital layer");
  }
  return p;
}

QatConfig ParseQatConfig(const nlohmann::json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  QatConfig c = DefaultQatConfig();
  c.train.source = source;
  static constexpr std::string_view kExtra[] = {"quant", "batch_norm", "batch_norm_freeze_after", "hardware_aware",
                                                "oscillation_dampening", "weight_freezing"};
  ReadTrainKeys(r, j, c.train, kExtra);
  if (j.contains("batch_norm")) {
    static constexpr QatBatchNorm kModes[] = {QatBatchNorm::kFolded, QatBatchNorm::kTrain};
    c.batch_norm = r.Choice(j["batch_norm"], "batch_norm", kModes, "a BatchNorm mode");
  }
  if (j.contains("batch_norm_freeze_after"))
    c.batch_norm_freeze_after = static_cast<int>(r.Integer(j["batch_norm_freeze_after"], "batch_norm_freeze_after", 0, 1 << 30));
  if (j.contains("hardware_aware")) c.hardware_aware = ParseHardwareAware(j["hardware_aware"], source);
  if (j.contains("oscillation_dampening")) c.oscillation_dampening = ParseOscillationDampening(r, j["oscillation_dampening"]);
  if (j.contains("weight_freezing")) c.weight_freezing = ParseWeightFreezing(r, j["weight_freezing"]);
  if (j.contains("quant")) {
    const nlohmann::json& q = j["quant"];
    if (q.is_string()) {
      c.plan = LoadQuantConfig(q.get<std::string>());
    } else if (q.is_object()) {
      c.plan = ParseQuantConfig(q, (source.empty() ? std::string() : source + ": ") + "quant");
    } else {
      r.Fail("quant", "expected a quantization config file name or object (docs/quant_config.md)");
    }
    c.plan_given = true;
  }
  return c;
}

QatConfig LoadQatConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kQat);
  return AnnotatingErrors(doc, [&] { return ParseQatConfig(doc.json, path); });
}

nlohmann::json QatConfigToJson(const QatConfig& c) {
  nlohmann::json j = TrainConfigToJson(c.train);
  j["quant"] = QuantPlanToJson(c.plan);
  if (c.batch_norm != QatBatchNorm::kFolded) j["batch_norm"] = ToString(c.batch_norm);
  if (c.batch_norm_freeze_after) j["batch_norm_freeze_after"] = *c.batch_norm_freeze_after;
  if (c.hardware_aware) j["hardware_aware"] = c.hardware_aware->json;
  if (c.oscillation_dampening)
    j["oscillation_dampening"] = {{"weight", c.oscillation_dampening->weight}, {"start_weight", c.oscillation_dampening->start_weight}};
  if (c.weight_freezing)
    j["weight_freezing"] = {{"threshold", c.weight_freezing->threshold},
                            {"start_threshold", c.weight_freezing->start_threshold},
                            {"momentum", c.weight_freezing->momentum}};
  return j;
}

void ApplyQatFlags(const QatFlags& flags, QatConfig& c) {
  if (flags.weight_bits.has_value() != flags.activation_bits.has_value())
    throw InputError(std::string(flags.weight_bits ? "--w-bits" : "--a-bits") + " needs " +
                     (flags.weight_bits ? "--a-bits" : "--w-bits") + " as well");
  if (flags.batch_norm) {
    if (*flags.batch_norm == "folded") {
      c.batch_norm = QatBatchNorm::kFolded;
    } else if (*flags.batch_norm == "train") {
      c.batch_norm = QatBatchNorm::kTrain;
    } else {
      throw InputError("--batch-norm: '" + *flags.batch_norm + "' is not a BatchNorm mode; allowed folded, train");
    }
  }
  if (c.batch_norm_freeze_after && c.batch_norm != QatBatchNorm::kTrain)
    throw InputError((c.train.source.empty() ? std::string() : c.train.source + ": ") +
                     "batch_norm_freeze_after = " + std::to_string(*c.batch_norm_freeze_after) +
                     " freezes BatchNorm statistics, which needs batch_norm \"train\" (it is \"" +
                     std::string(ToString(c.batch_norm)) + "\")");
  if (flags.method && !flags.weight_bits) throw InputError("--method goes with --w-bits and --a-bits");
  if (!flags.weight_bits) return;
  for (const auto& [flag, bits] : {std::pair{"--w-bits", *flags.weight_bits}, std::pair{"--a-bits", *flags.activation_bits}})
    if (bits < kMinQuantBits || bits > kMaxQuantBits)
      throw InputError(std::string(flag) + ": " + std::to_string(bits) + " is out of range; allowed 2..8");
  QuantPlan plan;
  plan.source = "flags";
  plan.defaults.weight_bits = *flags.weight_bits;
  plan.defaults.activation_bits = *flags.activation_bits;
  const std::string method = flags.method.value_or("auto");
  if (method == "lsq" || method == "dsq") {
    plan.defaults.mode = QuantMode::kQat;
    plan.defaults.qat_method = method == "lsq" ? QatAlgorithm::kLsq : QatAlgorithm::kDsq;
  } else if (method != "auto") {
    throw InputError("--method: '" + method + "' is not a QAT method; allowed lsq, dsq, auto");
  }
  c.plan = plan;
  c.plan_given = true;
}

}  // namespace cimsim
