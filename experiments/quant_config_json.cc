#include "experiments/quant_config_json.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/error.h"
#include "experiments/config_file.h"
#include "experiments/json_reader.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kTopKeys[] = {"default", "layers", "calibration"};
constexpr std::string_view kLayerKeys[] = {
    "weight_bits", "activation_bits", "per_channel", "weight_calibration", "activation_calibration",
    "bias_correction", "mode", "qat_method", "weight_grid", "output_clip_search", "output_bias_correction", "rounding", "adaround",
    "reconstruction_images"};
constexpr std::string_view kRuleKeys[] = {
    "match", "weight_bits", "activation_bits", "per_channel", "weight_calibration", "activation_calibration",
    "bias_correction", "mode", "qat_method", "weight_grid", "output_clip_search", "output_bias_correction", "rounding", "adaround",
    "reconstruction_images"};
constexpr std::string_view kAdaRoundKeys[] = {"iterations", "learning_rate", "lambda", "beta_start", "beta_end", "warmup"};
constexpr WeightRounding kRoundings[] = {WeightRounding::kNearest, WeightRounding::kAdaRound};
constexpr std::string_view kRangeKeys[] = {"method", "prior", "percentile", "candidates"};
constexpr std::string_view kCalibrationKeys[] = {"images", "seed", "class_balanced", "sample_capacity"};
constexpr RangeMethod kMethods[] = {RangeMethod::kMax, RangeMethod::kPercentile, RangeMethod::kMse, RangeMethod::kAciq};
constexpr QuantMode kModes[] = {QuantMode::kAuto, QuantMode::kPtq, QuantMode::kQat};
constexpr QatAlgorithm kQatMethods[] = {QatAlgorithm::kLsq, QatAlgorithm::kDsq};
constexpr WeightGrid kWeightGrids[] = {WeightGrid::kSymmetric, WeightGrid::kFull};
constexpr int kMinMseCandidates = 8;
constexpr int kMaxMseCandidates = 65536;  // RangeParams' own limit (range_calibration.h)

std::string_view PriorName(AciqPrior prior) { return prior == AciqPrior::kLaplace ? "laplace" : "gauss"; }

// Every error is "<source>: <path>: <problem>".
class Reader : public JsonReader {
 public:
  explicit Reader(const std::string& source) : JsonReader(source, ": ") {}

  RangeParams Range(const json& j, const std::string& path) const {
    RequireObject(j, path);
    CheckKeys(j, path, kRangeKeys);
    RangeParams r;
    const bool explicit_method = j.contains("method");
    if (explicit_method) {
      r.method = Choice(j["method"], Child(path, "method"), kMethods, "a method");
    }
    const auto only_with = [&](std::string_view key, RangeMethod needed) {
      if (r.method != needed) {
        Fail(Child(path, key), "only allowed with \"method\": \"" + std::string(ToString(needed)) +
                                   "\" (the method here is \"" + std::string(ToString(r.method)) + "\"" +
                                   (explicit_method ? ")" : ", the default)"));
      }
    };
    if (j.contains("prior")) {
      only_with("prior", RangeMethod::kAciq);
      constexpr AciqPrior kPriors[] = {AciqPrior::kLaplace, AciqPrior::kGauss};
      r.prior = Choice(j["prior"], Child(path, "prior"), kPriors, PriorName, "a prior");
    }
    if (j.contains("percentile")) {
      only_with("percentile", RangeMethod::kPercentile);
      r.percentile = Number(j["percentile"], Child(path, "percentile"));
      if (!(r.percentile > 0.0 && r.percentile <= 100.0)) {
        Fail(Child(path, "percentile"), Show(j["percentile"]) + " is out of range; allowed (0, 100]");
      }
    }
    if (j.contains("candidates")) {
      only_with("candidates", RangeMethod::kMse);
      r.mse_candidates = static_cast<int>(
          Integer(j["candidates"], Child(path, "candidates"), kMinMseCandidates, kMaxMseCandidates));
    }
    try {
      r.Validate();  // backstop: RangeParams' own limits
    } catch (const std::invalid_argument& e) {
      Fail(path, e.what());
    }
    return r;
  }

  AdaRoundParams AdaRound(const json& j, const std::string& path) const {
    RequireObject(j, path);
    CheckKeys(j, path, kAdaRoundKeys);
    AdaRoundParams a;
    if (j.contains("iterations")) a.iterations = static_cast<int>(Integer(j["iterations"], Child(path, "iterations"), 1, 1000000));
    const auto number = [&](const char* key, double& field, bool ok(double), const char* allowed) {
      if (!j.contains(key)) return;
      field = Number(j[key], Child(path, key));
      if (!ok(field)) Fail(Child(path, key), Show(j[key]) + " is out of range; allowed " + allowed);
    };
    number("learning_rate", a.learning_rate, [](double v) { return v > 0 && v <= 10; }, "(0, 10]");
    number("lambda", a.lambda, [](double v) { return v >= 0 && v <= 1e6; }, "[0, 1e6]");
    number("beta_start", a.beta_start, [](double v) { return v >= 1 && v <= 100; }, "[1, 100]");
    number("beta_end", a.beta_end, [](double v) { return v >= 1 && v <= 100; }, "[1, 100]");
    number("warmup", a.warmup, [](double v) { return v >= 0 && v < 1; }, "[0, 1)");
    if (a.beta_end > a.beta_start) {
      Fail(Child(path, "beta_end"), Show(json(a.beta_end)) + " is above beta_start (" + Show(json(a.beta_start)) +
                                        "); β is annealed downwards");
    }
    try {
      a.Validate();  // backstop
    } catch (const std::invalid_argument& e) {
      Fail(path, e.what());
    }
    return a;
  }

  // The layer keys of a "default" section or a rule (the caller has checked which keys may appear).
  LayerQuantOverride LayerKeys(const json& j, const std::string& path) const {
    LayerQuantOverride o;
    if (j.contains("weight_bits")) {
      o.weight_bits = static_cast<int>(Integer(j["weight_bits"], Child(path, "weight_bits"), kMinQuantBits, kMaxQuantBits));
    }
    if (j.contains("activation_bits")) {
      o.activation_bits =
          static_cast<int>(Integer(j["activation_bits"], Child(path, "activation_bits"), kMinQuantBits, kMaxQuantBits));
    }
    if (j.contains("per_channel")) o.per_channel = Bool(j["per_channel"], Child(path, "per_channel"));
    if (j.contains("weight_calibration")) {
      o.weight_range = Range(j["weight_calibration"], Child(path, "weight_calibration"));
    }
    if (j.contains("activation_calibration")) {
      o.activation_range = Range(j["activation_calibration"], Child(path, "activation_calibration"));
    }
    if (j.contains("bias_correction")) o.bias_correction = Bool(j["bias_correction"], Child(path, "bias_correction"));
    if (j.contains("mode")) {
      o.mode = Choice(j["mode"], Child(path, "mode"), kModes, "a mode");
    }
    if (j.contains("qat_method")) {
      o.qat_method = Choice(j["qat_method"], Child(path, "qat_method"), kQatMethods, "a QAT method");
    }
    if (j.contains("weight_grid")) {
      o.weight_grid = Choice(j["weight_grid"], Child(path, "weight_grid"), kWeightGrids, "a weight grid");
    }
    if (j.contains("output_clip_search")) {
      o.output_clip_search = Bool(j["output_clip_search"], Child(path, "output_clip_search"));
    }
    if (j.contains("output_bias_correction")) {
      o.output_bias_correction = Bool(j["output_bias_correction"], Child(path, "output_bias_correction"));
    }
    if (j.contains("rounding")) o.rounding = Choice(j["rounding"], Child(path, "rounding"), kRoundings, "a rounding");
    if (j.contains("adaround")) o.adaround = AdaRound(j["adaround"], Child(path, "adaround"));
    if (j.contains("reconstruction_images")) {
      o.reconstruction_images = Integer(j["reconstruction_images"], Child(path, "reconstruction_images"), 1,
                                        std::numeric_limits<int64_t>::max());
    }
    return o;
  }

  std::string Pattern(const json& rule, const std::string& path) const {
    const std::string match_path = Child(path, "match");
    if (!rule.contains("match")) {
      Fail(match_path, "missing; every rule needs a layer-name pattern such as \"layer3.*\"");
    }
    const std::string pattern = String(rule["match"], match_path);
    if (pattern.empty()) Fail(match_path, "empty pattern; use \"*\" for every layer");
    for (char c : pattern) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                      c == '.' || c == '*' || c == '?';
      if (!ok) {
        Fail(match_path, Show(rule["match"]) + " has the character '" + std::string(1, c) +
                             "'; allowed letters, digits, '_', '.' and the wildcards '*' (any run) and '?' (one "
                             "character)");
      }
    }
    return pattern;
  }

  CalibrationParams Calibration(const json& j, const std::string& path) const {
    RequireObject(j, path);
    CheckKeys(j, path, kCalibrationKeys);
    CalibrationParams c;
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    if (j.contains("images")) c.images = Integer(j["images"], Child(path, "images"), 1, kMax);
    if (j.contains("seed")) c.seed = Unsigned64(j["seed"], Child(path, "seed"));
    if (j.contains("class_balanced")) c.class_balanced = Bool(j["class_balanced"], Child(path, "class_balanced"));
    if (j.contains("sample_capacity")) {
      c.sample_capacity = Integer(j["sample_capacity"], Child(path, "sample_capacity"), 1, kMax);
    }
    return c;
  }
};

json RangeToJson(const RangeParams& r) {
  json j = {{"method", std::string(ToString(r.method))}};
  if (r.method == RangeMethod::kAciq) j["prior"] = std::string(PriorName(r.prior));
  if (r.method == RangeMethod::kPercentile) j["percentile"] = r.percentile;
  if (r.method == RangeMethod::kMse) j["candidates"] = r.mse_candidates;
  return j;
}

json AdaRoundToJson(const AdaRoundParams& a) {
  return {{"iterations", a.iterations}, {"learning_rate", a.learning_rate}, {"lambda", a.lambda},
          {"beta_start", a.beta_start}, {"beta_end", a.beta_end},         {"warmup", a.warmup}};
}

}  // namespace

QuantPlan ParseQuantConfig(const json& j, const std::string& source) {
  const Reader reader(source);
  reader.RequireObject(j, "");
  reader.CheckKeys(j, "", kTopKeys);

  QuantPlan plan;
  plan.source = source;
  if (j.contains("default")) {
    const json& d = j["default"];
    reader.RequireObject(d, "default");
    reader.CheckKeys(d, "default", kLayerKeys);
    reader.LayerKeys(d, "default").ApplyTo(plan.defaults);
  }
  if (j.contains("layers")) {
    const json& layers = j["layers"];
    if (!layers.is_array()) reader.Fail("layers", "expected an array of rules [{\"match\": ...}, ...], got " + Show(layers));
    for (size_t i = 0; i < layers.size(); ++i) {
      const std::string path = Element("layers", i);
      const json& rule = layers[i];
      reader.RequireObject(rule, path);
      reader.CheckKeys(rule, path, kRuleKeys);
      LayerRule r;
      r.pattern = reader.Pattern(rule, path);
      r.set = reader.LayerKeys(rule, path);
      r.where = source.empty() ? path : source + ": " + path;
      plan.rules.push_back(std::move(r));
    }
  }
  if (j.contains("calibration")) plan.calibration = reader.Calibration(j["calibration"], "calibration");
  plan.calibration.Validate(source.empty() ? "calibration" : source + ": calibration");
  return plan;
}

QuantPlan LoadQuantConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kQuantize);
  return AnnotatingErrors(doc, [&] { return ParseQuantConfig(doc.json, path); });
}

json QuantPlanToJson(const QuantPlan& plan) {
  const LayerQuantParams& d = plan.defaults;
  json out;
  out["default"] = {{"weight_bits", d.weight_bits},
                    {"activation_bits", d.activation_bits},
                    {"per_channel", d.per_channel},
                    {"weight_calibration", RangeToJson(d.weight_range)},
                    {"activation_calibration", RangeToJson(d.activation_range)},
                    {"bias_correction", d.bias_correction},
                    {"mode", std::string(ToString(d.mode))},
                    {"qat_method", std::string(ToString(d.qat_method))},
                    {"output_clip_search", d.output_clip_search},
                    {"output_bias_correction", d.output_bias_correction},
                    {"rounding", std::string(ToString(d.rounding))},
                    {"adaround", AdaRoundToJson(d.adaround)},
                    {"reconstruction_images", d.reconstruction_images}};
  // Written only when not the default, so configs and summaries without the key stay as they were.
  if (d.weight_grid != WeightGrid::kSymmetric) out["default"]["weight_grid"] = std::string(ToString(d.weight_grid));
  json layers = json::array();
  for (const LayerRule& rule : plan.rules) {
    const LayerQuantOverride& s = rule.set;
    json r = {{"match", rule.pattern}};
    if (s.weight_bits) r["weight_bits"] = *s.weight_bits;
    if (s.activation_bits) r["activation_bits"] = *s.activation_bits;
    if (s.per_channel) r["per_channel"] = *s.per_channel;
    if (s.weight_range) r["weight_calibration"] = RangeToJson(*s.weight_range);
    if (s.activation_range) r["activation_calibration"] = RangeToJson(*s.activation_range);
    if (s.bias_correction) r["bias_correction"] = *s.bias_correction;
    if (s.mode) r["mode"] = std::string(ToString(*s.mode));
    if (s.qat_method) r["qat_method"] = std::string(ToString(*s.qat_method));
    if (s.weight_grid) r["weight_grid"] = std::string(ToString(*s.weight_grid));
    if (s.output_clip_search) r["output_clip_search"] = *s.output_clip_search;
    if (s.output_bias_correction) r["output_bias_correction"] = *s.output_bias_correction;
    if (s.rounding) r["rounding"] = std::string(ToString(*s.rounding));
    if (s.adaround) r["adaround"] = AdaRoundToJson(*s.adaround);
    if (s.reconstruction_images) r["reconstruction_images"] = *s.reconstruction_images;
    layers.push_back(std::move(r));
  }
  out["layers"] = std::move(layers);
  const CalibrationParams& c = plan.calibration;
  out["calibration"] = {{"images", c.images},
                        {"seed", c.seed},
                        {"class_balanced", c.class_balanced},
                        {"sample_capacity", c.sample_capacity}};
  return out;
}

}  // namespace cimsim
