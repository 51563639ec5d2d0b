#include "experiments/calibrate_config.h"

#include "common/error.h"

namespace cimsim {

CalibrateConfig ParseCalibrateConfig(const nlohmann::json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  static constexpr std::string_view kKeys[] = {"qmodel", "xbar",   "layers", "fit_vectors", "holdout_vectors",
                                               "seed",   "adc_percentile", "mode", "inputs", "data", "images"};
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kKeys);
  CalibrateConfig c;
  c.source = source;
  if (!j.contains("qmodel")) r.Fail("qmodel", "required, the quantized model file (a string)");
  c.qmodel = r.String(j["qmodel"], "qmodel");
  if (c.qmodel.empty()) r.Fail("qmodel", "required, the quantized model file (a string)");
  const std::string p = source.empty() ? "" : source + ": ";
  if (j.contains("xbar") && j["xbar"].is_string()) {
    c.xbar = LoadXbarConfig(j["xbar"].get<std::string>());
  } else {
    c.xbar = ParseXbarConfig(j.contains("xbar") ? j["xbar"] : nlohmann::json::object(), p + "xbar");
  }
  if (j.contains("layers")) {
    if (!j["layers"].is_array() || j["layers"].empty()) r.Fail("layers", "expected a non-empty array of layer names");
    for (size_t i = 0; i < j["layers"].size(); ++i) c.layers.push_back(r.String(j["layers"][i], Element("layers", i)));
  }
  ReadCalibrationKeys(r, j, "", c);
  c.params.Validate(source.empty() ? "calibration" : source);
  return c;
}

CalibrateConfig LoadCalibrateConfig(const std::string& path) {
  return ParseCalibrateConfig(ReadJsonFile(path, "calibration config"), path);
}

void ReadCalibrationKeys(const JsonReader& r, const nlohmann::json& j, const std::string& path,
                         CalibrationSettings& s) {
  auto at = [&](std::string_view key) { return Child(path, key); };
  if (j.contains("fit_vectors")) s.params.fit_vectors = r.Integer(j["fit_vectors"], at("fit_vectors"), 1, 1000000);
  if (j.contains("holdout_vectors"))
    s.params.holdout_vectors = r.Integer(j["holdout_vectors"], at("holdout_vectors"), 1, 1000000);
  if (j.contains("seed")) s.params.seed = r.Unsigned64(j["seed"], at("seed"));
  if (j.contains("adc_percentile")) {
    s.params.adc_percentile = r.Number(j["adc_percentile"], at("adc_percentile"));
    if (!(s.params.adc_percentile > 0 && s.params.adc_percentile <= 100))
      r.Fail(at("adc_percentile"), Show(j["adc_percentile"]) + " is out of range; allowed (0, 100]");
  }
  if (j.contains("mode")) {
    static constexpr CorrectionMode kModes[] = {CorrectionMode::kColumn, CorrectionMode::kGlobal};
    s.params.mode = r.Choice(j["mode"], at("mode"), kModes, ToString, "a correction mode");
  }
  if (j.contains("inputs")) {
    static constexpr CalibrationInputKind kKinds[] = {CalibrationInputKind::kRandom, CalibrationInputKind::kActivations};
    s.inputs = r.Choice(j["inputs"], at("inputs"), kKinds, ToString, "an input kind");
  }
  const bool activations = s.inputs == CalibrationInputKind::kActivations;
  for (const char* key : {"data", "images"})
    if (j.contains(key) && !activations) r.Fail(at(key), "only allowed with \"inputs\": \"activations\"");
  if (j.contains("data")) s.data = r.String(j["data"], at("data"));
  if (j.contains("images")) {
    s.images = r.Integer(j["images"], at("images"), 10, 50000);
    if (s.images % 10 != 0) r.Fail(at("images"), Show(j["images"]) + " is not a multiple of 10 (a class-balanced subset)");
  }
}

nlohmann::json CalibrationKeysToJson(const CalibrationSettings& s) {
  nlohmann::json j = {{"fit_vectors", s.params.fit_vectors},
                      {"holdout_vectors", s.params.holdout_vectors},
                      {"seed", s.params.seed},
                      {"adc_percentile", s.params.adc_percentile},
                      {"mode", std::string(ToString(s.params.mode))},
                      {"inputs", std::string(ToString(s.inputs))}};
  if (s.inputs == CalibrationInputKind::kActivations) {
    j["data"] = s.data;
    j["images"] = s.images;
  }
  return j;
}

std::string_view ToString(CalibrationInputKind kind) {
  return kind == CalibrationInputKind::kRandom ? "random" : "activations";
}

nlohmann::json CalibrateConfigToJson(const CalibrateConfig& c) {
  nlohmann::json j = CalibrationKeysToJson(c);
  j["qmodel"] = c.qmodel;
  j["xbar"] = XbarConfigToJson(c.xbar);
  j["layers"] = c.layers;
  return j;
}

}  // namespace cimsim
