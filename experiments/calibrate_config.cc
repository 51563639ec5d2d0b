#include "experiments/calibrate_config.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>

#include "common/error.h"

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

int64_t Integer(const nlohmann::json& v, const std::string& where, int64_t lo, int64_t hi) {
  if (!v.is_number_integer())
    throw InputError(where + ": expected an integer, got " + v.dump());
  const int64_t x = v.get<int64_t>();
  if (x < lo || x > hi)
    throw InputError(where + ": " + std::to_string(x) + " is out of range; allowed " + std::to_string(lo) + ".." +
                     std::to_string(hi));
  return x;
}

}  // namespace

CalibrateConfig ParseCalibrateConfig(const nlohmann::json& j, const std::string& source) {
  const std::string p = source.empty() ? "" : source + ": ";
  if (!j.is_object()) throw InputError(p + "expected a JSON object");
  static const std::vector<std::string> kKeys = {"qmodel", "xbar", "layers", "fit_vectors", "holdout_vectors",
                                                 "seed", "adc_percentile", "mode"};
  for (const auto& [key, value] : j.items())
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end())
      throw InputError(p + key + ": unknown key; allowed: qmodel, xbar, layers, fit_vectors, holdout_vectors, seed, "
                           "adc_percentile, mode");
  CalibrateConfig c;
  c.source = source;
  if (!j.contains("qmodel") || !j["qmodel"].is_string() || j["qmodel"].get<std::string>().empty())
    throw InputError(p + "qmodel: required, the quantized model file (a string)");
  c.qmodel = j["qmodel"].get<std::string>();
  if (j.contains("xbar")) {
    const nlohmann::json& x = j["xbar"];
    if (x.is_string()) {
      c.xbar = LoadXbarConfig(x.get<std::string>());
    } else {
      c.xbar = ParseXbarConfig(x, p + "xbar");
    }
  } else {
    c.xbar = ParseXbarConfig(nlohmann::json::object(), p + "xbar");
  }
  if (j.contains("layers")) {
    if (!j["layers"].is_array() || j["layers"].empty()) throw InputError(p + "layers: expected a non-empty array of layer names");
    for (size_t i = 0; i < j["layers"].size(); ++i) {
      const nlohmann::json& name = j["layers"][i];
      if (!name.is_string()) throw InputError(p + "layers[" + std::to_string(i) + "]: expected a layer name (string)");
      c.layers.push_back(name.get<std::string>());
    }
  }
  if (j.contains("fit_vectors")) c.params.fit_vectors = Integer(j["fit_vectors"], p + "fit_vectors", 1, 1000000);
  if (j.contains("holdout_vectors")) c.params.holdout_vectors = Integer(j["holdout_vectors"], p + "holdout_vectors", 1, 1000000);
  if (j.contains("seed")) c.params.seed = static_cast<uint64_t>(Integer(j["seed"], p + "seed", 0, INT64_MAX));
  if (j.contains("adc_percentile")) {
    if (!j["adc_percentile"].is_number()) throw InputError(p + "adc_percentile: expected a number, got " + j["adc_percentile"].dump());
    c.params.adc_percentile = j["adc_percentile"].get<double>();
    if (!(c.params.adc_percentile > 0 && c.params.adc_percentile <= 100))
      throw InputError(p + "adc_percentile: " + j["adc_percentile"].dump() + " is out of range; allowed (0, 100]");
  }
  if (j.contains("mode")) {
    const nlohmann::json& m = j["mode"];
    if (m == "column") {
      c.params.mode = CorrectionMode::kColumn;
    } else if (m == "global") {
      c.params.mode = CorrectionMode::kGlobal;
    } else {
      throw InputError(p + "mode: " + m.dump() + " is not allowed; allowed \"column\", \"global\"");
    }
  }
  c.params.Validate(source.empty() ? "calibration" : source);
  return c;
}

CalibrateConfig LoadCalibrateConfig(const std::string& path) {
  return ParseCalibrateConfig(ReadJson(path, "calibration config"), path);
}

nlohmann::json CalibrateConfigToJson(const CalibrateConfig& c) {
  return {{"qmodel", c.qmodel},
          {"xbar", XbarConfigToJson(c.xbar)},
          {"layers", c.layers},
          {"fit_vectors", c.params.fit_vectors},
          {"holdout_vectors", c.params.holdout_vectors},
          {"seed", c.params.seed},
          {"adc_percentile", c.params.adc_percentile},
          {"mode", c.params.mode == CorrectionMode::kColumn ? "column" : "global"}};
}

}  // namespace cimsim
