#include "experiments/calibrate_config.h"

#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "experiments/json_reader.h"

namespace cimsim {
namespace {

nlohmann::json ReadJson(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw InputError(path + ": " + what + " not found");
  std::ifstream in(path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path + ": not valid JSON: " + e.what());
  }
}

}  // namespace

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
  if (j.contains("fit_vectors")) c.params.fit_vectors = r.Integer(j["fit_vectors"], "fit_vectors", 1, 1000000);
  if (j.contains("holdout_vectors")) c.params.holdout_vectors = r.Integer(j["holdout_vectors"], "holdout_vectors", 1, 1000000);
  if (j.contains("seed")) c.params.seed = r.Unsigned64(j["seed"], "seed");
  if (j.contains("adc_percentile")) {
    c.params.adc_percentile = r.Number(j["adc_percentile"], "adc_percentile");
    if (!(c.params.adc_percentile > 0 && c.params.adc_percentile <= 100))
      r.Fail("adc_percentile", Show(j["adc_percentile"]) + " is out of range; allowed (0, 100]");
  }
  if (j.contains("mode")) {
    static constexpr CorrectionMode kModes[] = {CorrectionMode::kColumn, CorrectionMode::kGlobal};
    c.params.mode = r.Choice(j["mode"], "mode", kModes, ToString, "a correction mode");
  }
  if (j.contains("inputs")) {
    static constexpr CalibrationInputKind kKinds[] = {CalibrationInputKind::kRandom, CalibrationInputKind::kActivations};
    c.inputs = r.Choice(j["inputs"], "inputs", kKinds, ToString, "an input kind");
  }
  const bool activations = c.inputs == CalibrationInputKind::kActivations;
  for (const char* key : {"data", "images"})
    if (j.contains(key) && !activations) r.Fail(key, "only allowed with \"inputs\": \"activations\"");
  if (j.contains("data")) c.data = r.String(j["data"], "data");
  if (j.contains("images")) {
    c.images = r.Integer(j["images"], "images", 10, 50000);
    if (c.images % 10 != 0) r.Fail("images", Show(j["images"]) + " is not a multiple of 10 (a class-balanced subset)");
  }
  c.params.Validate(source.empty() ? "calibration" : source);
  return c;
}

CalibrateConfig LoadCalibrateConfig(const std::string& path) {
  return ParseCalibrateConfig(ReadJson(path, "calibration config"), path);
}

std::string_view ToString(CalibrationInputKind kind) {
  return kind == CalibrationInputKind::kRandom ? "random" : "activations";
}

nlohmann::json CalibrateConfigToJson(const CalibrateConfig& c) {
  nlohmann::json j = {{"qmodel", c.qmodel},
          {"xbar", XbarConfigToJson(c.xbar)},
          {"layers", c.layers},
          {"fit_vectors", c.params.fit_vectors},
          {"holdout_vectors", c.params.holdout_vectors},
          {"seed", c.params.seed},
          {"adc_percentile", c.params.adc_percentile},
          {"mode", std::string(ToString(c.params.mode))},
          {"inputs", std::string(ToString(c.inputs))}};
  if (c.inputs == CalibrationInputKind::kActivations) {
    j["data"] = c.data;
    j["images"] = c.images;
  }
  return j;
}

}  // namespace cimsim
