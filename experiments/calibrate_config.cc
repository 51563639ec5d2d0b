#include "experiments/calibrate_config.h"

#include "common/error.h"

namespace cimsim {

CalibrateConfig ParseCalibrateConfig(const nlohmann::json& j, const std::string& source) {
  const JsonReader r(source, ": ");
  static constexpr std::string_view kKeys[] = {"qmodel", "xbar",   "layers", "fit_vectors", "holdout_vectors",
                                               "seed",   "adc_percentile", "mode", "inputs", "data", "images", "traces"};
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
  ReadCalibrationKeys(r, j, "", c, true);
  c.params.Validate(source.empty() ? "calibration" : source);
  return c;
}

CalibrateConfig LoadCalibrateConfig(const std::string& path) {
  return ParseCalibrateConfig(ReadJsonFile(path, "calibration config"), path);
}

void ReadCalibrationKeys(const JsonReader& r, const nlohmann::json& j, const std::string& path,
                         CalibrationSettings& s, bool allow_traces) {
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
    static constexpr CalibrationInputKind kKinds[] = {CalibrationInputKind::kRandom, CalibrationInputKind::kActivations,
                                                      CalibrationInputKind::kTraces};
    s.inputs = r.Choice(j["inputs"], at("inputs"), kKinds, ToString, "an input kind");
    if (s.inputs == CalibrationInputKind::kTraces && !allow_traces)
      r.Fail(at("inputs"), "\"traces\" is only for cimsim calibrate (an experiment calibrates its own chips); "
                           "allowed here: \"random\", \"activations\"");
  }
  const bool traces = s.inputs == CalibrationInputKind::kTraces;
  if (j.contains("traces") && !traces) r.Fail(at("traces"), "only allowed with \"inputs\": \"traces\"");
  if (traces) {
    if (!j.contains("traces")) r.Fail(at("traces"), "required with \"inputs\": \"traces\": {\"file\": ..., \"point\": 0, \"instance\": 0}");
    const nlohmann::json& t = j["traces"];
    const std::string tp = at("traces");
    r.RequireObject(t, tp);
    static constexpr std::string_view kTraceKeys[] = {"file", "point", "instance"};
    r.CheckKeys(t, tp, kTraceKeys);
    if (!t.contains("file")) r.Fail(Child(tp, "file"), "required, the results.h5 holding the traces (a string)");
    s.trace_file = r.String(t["file"], Child(tp, "file"));
    if (t.contains("point")) s.trace_point = r.Integer(t["point"], Child(tp, "point"), 0, 9999);
    if (t.contains("instance")) s.trace_instance = r.Integer(t["instance"], Child(tp, "instance"), 0, 999);
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
  if (s.inputs == CalibrationInputKind::kTraces)
    j["traces"] = {{"file", s.trace_file}, {"point", s.trace_point}, {"instance", s.trace_instance}};
  return j;
}

std::string_view ToString(CalibrationInputKind kind) {
  switch (kind) {
    case CalibrationInputKind::kRandom: return "random";
    case CalibrationInputKind::kActivations: return "activations";
    case CalibrationInputKind::kTraces: return "traces";
  }
  return "?";
}

nlohmann::json CalibrateConfigToJson(const CalibrateConfig& c) {
  nlohmann::json j = CalibrationKeysToJson(c);
  j["qmodel"] = c.qmodel;
  j["xbar"] = XbarConfigToJson(c.xbar);
  j["layers"] = c.layers;
  return j;
}

}  // namespace cimsim
