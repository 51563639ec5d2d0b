#include "experiments/experiment_config.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "experiments/config_shapes.h"
#include "experiments/field_table_json.h"
#include "experiments/config_file.h"
#include "experiments/json_reader.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kTopKeys[] = {"model", "data",  "xbar",   "calibration", "placement", "instances",
                                         "sweep", "traces", "threads", "noise_seed", "lifetime",
                                         "output_statistics"};

void ReadData(const JsonReader& r, const json& j, ExperimentConfig& c) {
  r.RequireObject(j, "data");
  static constexpr std::string_view kKeys[] = {"test", "count", "first", "resize"};
  r.CheckKeys(j, "data", kKeys);
  if (j.contains("test")) c.test_data = r.String(j["test"], "data.test");
  if (j.contains("count")) c.count = r.Integer(j["count"], "data.count", 1, 10000000);
  if (j.contains("first")) c.first = r.Integer(j["first"], "data.first", 0, 10000000);
  if (j.contains("resize")) c.resize = static_cast<int>(r.Integer(j["resize"], "data.resize", 8, 8192));
}

void ReadCalibration(const JsonReader& r, const json& j, ExperimentCalibration& cal, ConfigFiles files) {
  const std::string path = "calibration";
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "none") {
      cal.kind = CalibrationKind::kNone;
    } else if (s == "auto") {
      cal.kind = CalibrationKind::kAuto;
    } else {
      cal.kind = CalibrationKind::kFile;
      cal.file = s;
      std::error_code ec;
      if (s.empty() || (files == ConfigFiles::kMustExist && !std::filesystem::is_regular_file(s, ec)))
        r.Fail(path, "\"" + s + "\" is neither \"none\", \"auto\" nor an existing calibration file");
    }
    return;
  }
  if (!j.is_object()) r.Fail(path, "expected \"none\", \"auto\", a file name or {\"auto\": {...}}, got " + Show(j));
  static constexpr std::string_view kKeys[] = {"auto"};
  r.CheckKeys(j, path, kKeys);
  if (!j.contains("auto")) r.Fail(path, "expected \"none\", \"auto\", a file name or {\"auto\": {...}}");
  const json& a = j["auto"];
  const std::string ap = Child(path, "auto");
  r.RequireObject(a, ap);
  static constexpr std::string_view kAutoKeys[] = {"fit_vectors", "holdout_vectors", "seed",   "adc_percentile",
                                                   "mode",        "inputs",          "data",   "images"};
  r.CheckKeys(a, ap, kAutoKeys);
  cal.kind = CalibrationKind::kAuto;
  ReadCalibrationKeys(r, a, ap, cal, false);
}

// "all" or a non-empty array of distinct layer names (checked against the model when the run starts).
Placement ReadCimLayers(const JsonReader& r, const json& cim, const std::string& path) {
  Placement p;
  p.path = path;
  if (cim.is_string() && cim.get<std::string>() == "all") return p;
  if (!cim.is_array() || cim.empty()) r.Fail(path, Show(cim) + " is neither \"all\" nor a non-empty array of layer names");
  p.all = false;
  for (size_t i = 0; i < cim.size(); ++i) {
    const std::string name = r.String(cim[i], Element(path, i));
    if (std::find(p.cim.begin(), p.cim.end(), name) != p.cim.end()) r.Fail(Element(path, i), "'" + name + "' appears twice");
    p.cim.push_back(name);
  }
  return p;
}

void ReadPlacement(const JsonReader& r, const json& j, Placement& p) {
  const std::string path = "placement";
  r.RequireObject(j, path);
  static constexpr std::string_view kKeys[] = {"cim", "split"};
  r.CheckKeys(j, path, kKeys);
  if (j.contains("cim") == j.contains("split")) r.Fail(path, "expected exactly one of \"cim\" and \"split\"");
  if (j.contains("split")) {
    p.all = false;
    p.path = Child(path, "split");
    p.split = r.String(j["split"], p.path);
    if (p.split.empty()) r.Fail(p.path, "expected a node name");
    return;
  }
  p = ReadCimLayers(r, j["cim"], Child(path, "cim"));
}

void ReadSweep(const JsonReader& r, const json& j, ExperimentConfig& c) {
  if (!j.is_array()) r.Fail("sweep", "expected an array of {\"param\": ..., \"values\": [...]}, got " + Show(j));
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string path = Element("sweep", i);
    const json& e = j[i];
    r.RequireObject(e, path);
    static constexpr std::string_view kKeys[] = {"param", "values"};
    r.CheckKeys(e, path, kKeys);
    if (!e.contains("param")) r.Fail(Child(path, "param"), "required (e.g. \"crossbar.adc.bits\")");
    if (!e.contains("values")) r.Fail(Child(path, "values"), "required, a non-empty array");
    SweepAxis axis;
    axis.param = r.String(e["param"], Child(path, "param"));
    for (const SweepAxis& other : c.sweep)
      if (other.param == axis.param) r.Fail(Child(path, "param"), "\"" + axis.param + "\" is swept twice");
    const std::vector<std::string> keys = SplitKey(axis.param);
    for (const std::string& key : keys)
      if (key.empty()) r.Fail(Child(path, "param"), Show(e["param"]) + " has an empty key");
    const bool chip = (keys[0] == "device" || keys[0] == "crossbar") && keys.size() >= 2;
    if (!axis.SetsPlacement() && axis.param != "seed" && !chip)
      r.Fail(Child(path, "param"), Show(e["param"]) +
                                       " is not sweepable; allowed \"split\", \"cim\", \"seed\" or a path inside "
                                       "the chip config starting with \"device.\" or \"crossbar.\"");
    const json& values = e["values"];
    const std::string vpath = Child(path, "values");
    if (!values.is_array() || values.empty()) r.Fail(vpath, "expected a non-empty array, got " + Show(values));
    if (!axis.SetsPlacement()) {
      // The path, once: a typed setter on the chip's values.
      try {
        axis.setter = ResolveXbarPath(axis.param);
      } catch (const InputError& err) {
        r.Fail(Element(vpath, 0), axis.param + " = " + Show(values[0]) + ": " + err.what());
      }
    }
    for (size_t k = 0; k < values.size(); ++k) {
      const std::string at = Element(vpath, k);
      if (axis.param == "split") {
        if (!values[k].is_string() || values[k].get<std::string>().empty()) r.Fail(at, "expected a node name, got " + Show(values[k]));
        Placement p;
        p.all = false;
        p.split = values[k].get<std::string>();
        p.path = at;
        axis.placements.push_back(std::move(p));
      } else if (axis.param == "cim") {
        axis.placements.push_back(ReadCimLayers(r, values[k], at));
      } else {
        // Converted once; alone on the base chip it must give a valid chip.
        try {
          XbarValue typed = XbarValueOf(axis.setter, values[k]);
          XbarInputs alone = c.chip;
          ApplyXbarValue(axis.setter, typed, alone);
          BuildXbarConfig(alone, "");
          axis.typed.push_back(std::move(typed));
        } catch (const InputError& err) {
          r.Fail(at, axis.param + " = " + Show(values[k]) + ": " + err.what());
        }
      }
      for (size_t m = 0; m < k; ++m)
        if (values[m] == values[k]) r.Fail(at, Show(values[k]) + " appears twice");
      axis.values.push_back(values[k]);
    }
    c.sweep.push_back(std::move(axis));
  }
  bool split = false, cim = false;
  for (const SweepAxis& axis : c.sweep) {
    split = split || axis.param == "split";
    cim = cim || axis.param == "cim";
  }
  if (split && cim)
    r.Fail("sweep", "\"split\" and \"cim\" are both swept; each sets the whole placement of a point, sweep one of them");
}

// What "lifetime" needs from the rest of the config: auto calibration, a simulated chip, no other read time.
void CheckLifetime(const JsonReader& r, const ExperimentConfig& c) {
  if (c.calibration.kind != CalibrationKind::kAuto)
    r.Fail("lifetime", std::string("needs \"calibration\": \"auto\" or {\"auto\": {...}} (the policies calibrate and "
                                    "read calibration inputs at every time); here it is ") +
                           (c.calibration.kind == CalibrationKind::kNone ? "\"none\"" : "a calibration file"));
  if (c.xbar.contains("external"))
    r.Fail("lifetime", "needs a simulated chip; an external chip (xbar.external) cannot be read at another time");
  if (c.xbar.contains("crossbar") && c.xbar["crossbar"].is_object() && c.xbar["crossbar"].contains("read_time"))
    r.Fail("xbar.crossbar.read_time", Show(c.xbar["crossbar"]["read_time"]) +
                                          ": not allowed with \"lifetime\", which reads the chip at lifetime.times "
                                          "(calibrated at lifetime.calibrate_at); remove one of the two");
  for (size_t i = 0; i < c.sweep.size(); ++i)
    if (c.sweep[i].param == "crossbar.read_time")
      r.Fail(Child(Element("sweep", i), "param"),
             "\"crossbar.read_time\" cannot be swept with \"lifetime\": the lifetime times are the read times "
             "(ambiguous); remove the sweep or the \"lifetime\" key");
}

OutputStatisticsParams ReadOutputStatistics(const JsonReader& r, const json& j) {
  r.RequireObject(j, "output_statistics");
  static constexpr std::string_view kKeys[] = {"images", "seed", "data"};
  r.CheckKeys(j, "output_statistics", kKeys);
  OutputStatisticsParams s;
  if (j.contains("images")) s.images = r.Integer(j["images"], "output_statistics.images", 10, 50000);
  if (s.images % 10 != 0)
    r.Fail("output_statistics.images", std::to_string(s.images) + " is not a multiple of 10 (a class-balanced subset)");
  if (j.contains("seed")) s.seed = r.Unsigned64(j["seed"], "output_statistics.seed");
  if (j.contains("data")) s.data = r.String(j["data"], "output_statistics.data");
  return s;
}

void ReadTraces(const JsonReader& r, const json& j, TraceParams& t) {
  r.RequireObject(j, "traces");
  static constexpr std::string_view kKeys[] = {"layers", "vectors"};
  r.CheckKeys(j, "traces", kKeys);
  if (j.contains("layers")) {
    if (!j["layers"].is_array()) r.Fail("traces.layers", "expected an array of layer names, got " + Show(j["layers"]));
    for (size_t i = 0; i < j["layers"].size(); ++i) {
      const std::string name = r.String(j["layers"][i], Element("traces.layers", i));
      if (std::find(t.layers.begin(), t.layers.end(), name) != t.layers.end())
        r.Fail(Element("traces.layers", i), "'" + name + "' appears twice");
      t.layers.push_back(name);
    }
  }
  if (j.contains("vectors")) t.vectors = r.Integer(j["vectors"], "traces.vectors", 1, 100000);
}

}  // namespace

ExperimentConfig ParseExperimentConfig(const json& j, const std::string& source, ConfigFiles files) {
  const JsonReader r(source, ": ");
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kTopKeys);
  ExperimentConfig c;
  c.source = source;
  if (!j.contains("model")) r.Fail("model", "required, {\"qmodel\": \"Q.h5\"}");
  c.qmodel = ReadModelShape(r, j["model"], files == ConfigFiles::kMustExist);
  if (j.contains("data")) ReadData(r, j["data"], c);
  const XbarShape xbar = ReadXbarShape(r, j.contains("xbar") ? j["xbar"] : json::object());
  c.xbar = xbar.json;
  c.chip_source = xbar.source;
  AnnotatingErrors(xbar.file, [&] {
    c.chip = ReadXbarInputs(c.xbar, c.chip_source);
    BuildXbarConfig(c.chip, c.chip_source);
  });
  if (j.contains("calibration")) ReadCalibration(r, j["calibration"], c.calibration, files);
  if (j.contains("placement")) ReadPlacement(r, j["placement"], c.placement);
  if (j.contains("instances")) c.instances = r.Integer(j["instances"], "instances", 1, 1000);
  if (j.contains("sweep")) ReadSweep(r, j["sweep"], c);
  if (j.contains("traces")) ReadTraces(r, j["traces"], c.traces);
  if (j.contains("threads")) c.threads = static_cast<int>(r.Integer(j["threads"], "threads", 0, 1024));
  if (j.contains("noise_seed")) c.noise_seed = r.Unsigned64(j["noise_seed"], "noise_seed");
  if (j.contains("lifetime")) {
    c.lifetime = ReadLifetime(r, j["lifetime"]);
    CheckLifetime(r, c);
  }
  if (j.contains("output_statistics")) c.output_statistics = ReadOutputStatistics(r, j["output_statistics"]);

  // A calibration file belongs to one chip: no chip sweeps, one instance.
  if (c.calibration.kind == CalibrationKind::kFile) {
    if (c.instances > 1) r.Fail("calibration", "a calibration file fits one chip; with \"instances\" > 1 use \"auto\"");
    for (const SweepAxis& a : c.sweep)
      if (!a.SetsPlacement())
        r.Fail("calibration", "a calibration file fits one chip; sweeping \"" + a.param + "\" needs \"auto\"");
  }
  for (const SweepAxis& a : c.sweep)
    if (a.param == "split" && (c.placement.all == false && c.placement.split.empty()))
      r.Fail("sweep", "sweeping \"split\" needs \"placement\" {\"cim\": \"all\"} or {\"split\": ...}");
  // Every combination must be a valid chip; global drift compensation needs the differential mapping.
  for (const ExperimentPoint& p : ExpandSweep(c)) {
    if (!c.lifetime || p.xbar.external || p.xbar.crossbar.mapping == CrossbarMapping::kDifferential) continue;
    for (LifetimePolicy policy : {LifetimePolicy::kGlobal, LifetimePolicy::kReprogram})
      if (c.lifetime->Has(policy))
        r.Fail("lifetime.policies",
               "\"" + std::string(ToString(policy)) + "\" needs \"mapping\": \"differential\"" +
                   (c.sweep.empty() ? std::string() : " (sweep point " + std::to_string(p.index) + " " + p.params.dump() + ")") +
                   ": one factor per layer rescales the analog column outputs, and with the offset mapping the "
                   "layer outputs it is measured on hold an exact digital term");
  }
  return c;
}

std::vector<ExperimentPoint> ExpandSweep(const ExperimentConfig& c) {
  size_t total = 1;
  for (const SweepAxis& a : c.sweep) total *= a.values.size();
  std::vector<ExperimentPoint> points;
  for (size_t i = 0; i < total; ++i) {
    ExperimentPoint p;
    p.index = static_cast<int64_t>(i);
    p.placement = c.placement;
    XbarInputs chip = c.chip;
    size_t rest = i;
    std::vector<size_t> pick(c.sweep.size());
    for (size_t a = c.sweep.size(); a-- > 0;) {
      pick[a] = rest % c.sweep[a].values.size();
      rest /= c.sweep[a].values.size();
    }
    for (size_t a = 0; a < c.sweep.size(); ++a) {
      const SweepAxis& axis = c.sweep[a];
      const json& v = axis.values[pick[a]];
      p.params[axis.param] = v;
      if (axis.SetsPlacement()) {
        p.placement = axis.placements[pick[a]];
      } else {
        ApplyXbarValue(axis.setter, axis.typed[pick[a]], chip);
      }
    }
    const std::string where = (c.source.empty() ? "" : c.source + ": ") + "sweep point " + std::to_string(i) + " " +
                              p.params.dump();
    p.xbar = BuildXbarConfig(chip, where);
    points.push_back(std::move(p));
  }
  return points;
}

ExperimentConfig LoadExperimentConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kExperiment);
  return AnnotatingErrors(doc, [&] { return ParseExperimentConfig(doc.json, path); });
}

json ExperimentConfigToJson(const ExperimentConfig& c) {
  json cal;
  switch (c.calibration.kind) {
    case CalibrationKind::kNone: cal = "none"; break;
    case CalibrationKind::kFile: cal = c.calibration.file; break;
    case CalibrationKind::kAuto: cal = {{"auto", CalibrationKeysToJson(c.calibration)}}; break;
  }
  json placement;
  if (!c.placement.split.empty()) {
    placement = {{"split", c.placement.split}};
  } else if (c.placement.all) {
    placement = {{"cim", "all"}};
  } else {
    placement = {{"cim", c.placement.cim}};
  }
  json sweep = json::array();
  for (const SweepAxis& a : c.sweep) sweep.push_back({{"param", a.param}, {"values", a.values}});
  json traces_layers = c.traces.layers;
  json data = {{"test", c.test_data}, {"count", c.count}, {"first", c.first}};
  if (c.resize > 0) data["resize"] = c.resize;  // image folders only; absent for CIFAR-10 as before
  json j = {{"model", {{"qmodel", c.qmodel}}},
          {"data", data},
          {"xbar", c.xbar},
          {"calibration", cal},
          {"placement", placement},
          {"instances", c.instances},
          {"sweep", sweep},
          {"traces", {{"layers", traces_layers}, {"vectors", c.traces.vectors}}},
          {"threads", c.threads},
          {"noise_seed", c.noise_seed}};
  if (c.lifetime) j["lifetime"] = LifetimeToJson(*c.lifetime);
  if (c.output_statistics)
    j["output_statistics"] = {{"images", c.output_statistics->images},
                              {"seed", c.output_statistics->seed},
                              {"data", c.output_statistics->data}};
  return j;
}

}  // namespace cimsim
