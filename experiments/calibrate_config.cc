#include "experiments/calibrate_config.h"

#include "common/error.h"
#include "experiments/config_file.h"
#include "experiments/calibration_fields.h"
#include "experiments/config_shapes.h"
#include "experiments/field_table_json.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kKeys[] = {"model", "qmodel", "xbar", "layers", "fit_vectors", "holdout_vectors", "seed",
                                      "adc_percentile", "mode", "inputs", "data", "images", "traces"};

// The quantized model: "model": {"qmodel": ...}, or the older top-level "qmodel" (with a note).
std::string ReadModel(const JsonReader& r, const json& j, std::vector<std::string>& notes) {
  if (j.contains("model") && j.contains("qmodel"))
    r.Fail("qmodel", "give the model once, as \"model\": {\"qmodel\": ...}");
  if (j.contains("model")) return ReadModelShape(r, j["model"], false);
  if (!j.contains("qmodel"))
    r.Fail("qmodel", "required, the quantized model file: \"model\": {\"qmodel\": \"Q.h5\"}");
  const std::string qmodel = r.String(j["qmodel"], "qmodel");
  if (qmodel.empty()) r.Fail("qmodel", "required, the quantized model file (a string)");
  notes.push_back(r.Where("qmodel") + ": the top-level \"qmodel\" is the older spelling; write \"model\": {\"qmodel\": \"" +
                  qmodel + "\"} as in an experiment config");
  return qmodel;
}

// "data": {"train": PATH}, or the older "data": PATH (with a note); both become the string form that
// the shared calibration keys read.
void NormalizeData(const JsonReader& r, json& j, std::vector<std::string>& notes) {
  if (!j.contains("data")) return;
  json& d = j["data"];
  if (d.is_string()) {
    notes.push_back(r.Where("data") + ": \"data\": \"PATH\" is the older spelling; write \"data\": {\"train\": \"" +
                    d.get<std::string>() + "\"}");
    return;
  }
  r.RequireObject(d, "data");
  static constexpr std::string_view kDataKeys[] = {"train"};
  r.CheckKeys(d, "data", kDataKeys);
  if (!d.contains("train")) r.Fail("data.train", "required, the training data (a directory or one .bin file)");
  const std::string train = r.String(d["train"], "data.train");
  d = train;
}

}  // namespace

CalibrateConfig ParseCalibrateConfig(const json& j_in, const std::string& source) {
  const JsonReader r(source, ": ");
  r.RequireObject(j_in, "");
  r.CheckKeys(j_in, "", kKeys);
  json j = j_in;
  CalibrateConfig c;
  c.source = source;
  c.qmodel = ReadModel(r, j, c.notes);
  const XbarShape xbar = ReadXbarShape(r, j.contains("xbar") ? j["xbar"] : json::object());
  c.xbar = AnnotatingErrors(xbar.file, [&] { return ParseXbarConfig(xbar.json, xbar.source); });
  if (j.contains("layers")) {
    if (!j["layers"].is_array() || j["layers"].empty()) r.Fail("layers", "expected a non-empty array of layer names");
    for (size_t i = 0; i < j["layers"].size(); ++i) c.layers.push_back(r.String(j["layers"][i], Element("layers", i)));
  }
  NormalizeData(r, j, c.notes);
  ReadCalibrationKeys(r, j, "", c, true);
  c.params.Validate(source.empty() ? "calibration" : source);
  return c;
}

CalibrateConfig LoadCalibrateConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kCalibrate);
  return AnnotatingErrors(doc, [&] { return ParseCalibrateConfig(doc.json, path); });
}

void ReadCalibrationKeys(const JsonReader& r, const json& j, const std::string& path, CalibrationSettings& s,
                         bool allow_traces) {
  const std::vector<Field<CalibrationSettings>> fields = CalibrationFields();
  json keys = json::object();   // the calibration keys of j; the caller checks the others
  for (const std::string& k : KeysUnder(fields, ""))
    if (j.contains(k)) keys[k] = j[k];
  const FieldValues values = ReadFieldValues(fields, keys, r, path);
  const size_t inputs = *FindField(fields, "inputs");
  const auto it = values.find(inputs);
  const CalibrationInputKind kind =
      it == values.end() ? s.inputs : static_cast<CalibrationInputKind>(std::get<int64_t>(it->second));
  const auto at = [&](std::string_view key) { return Child(path, key); };
  if (kind == CalibrationInputKind::kTraces && it != values.end() && !allow_traces)
    r.Fail(at("inputs"), "\"traces\" is only for cimsim calibrate (an experiment calibrates its own chips); "
                         "allowed here: \"random\", \"activations\"");
  // The "traces" object as a whole.
  if (keys.contains("traces") && kind != CalibrationInputKind::kTraces)
    r.Fail(at("traces"), "only allowed with \"inputs\": \"traces\"");
  if (kind == CalibrationInputKind::kTraces) {
    if (!keys.contains("traces"))
      r.Fail(at("traces"), "required with \"inputs\": \"traces\": {\"file\": ..., \"point\": 0, \"instance\": 0}");
    if (!keys["traces"].contains("file"))
      r.Fail(Child(at("traces"), "file"), "required, the results.h5 holding the traces (a string)");
  }
  ApplyFields(fields, values, s, ReaderFail(r, path));
  ValidateFields(fields, s, ReaderFail(r, path));
  if (kind == CalibrationInputKind::kActivations && s.images % 10 != 0)
    r.Fail(at("images"), std::to_string(s.images) + " is not a multiple of 10 (a class-balanced subset)");
}

json CalibrationKeysToJson(const CalibrationSettings& s) { return FieldsToJson(CalibrationFields(), s); }

std::string_view ToString(CalibrationInputKind kind) {
  switch (kind) {
    case CalibrationInputKind::kRandom: return "random";
    case CalibrationInputKind::kActivations: return "activations";
    case CalibrationInputKind::kTraces: return "traces";
  }
  return "?";
}

json CalibrateConfigToJson(const CalibrateConfig& c) {
  json j = CalibrationKeysToJson(c);
  j["qmodel"] = c.qmodel;
  j["xbar"] = XbarConfigToJson(c.xbar);
  j["layers"] = c.layers;
  return j;
}

}  // namespace cimsim
