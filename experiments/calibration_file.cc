#include "experiments/calibration_file.h"

#include <charconv>

#include <cmath>
#include <cstdio>

#include "common/error.h"
#include "common/h5_file.h"
#include "experiments/xbar_fields.h"

namespace cimsim {
namespace {

constexpr const char* kFormat = "cimsim-chip-calibration";
constexpr int64_t kFormatVersion = 1;

std::string LayerPath(int node) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/layers/%04d", node);
  return buf;
}

double ReadDouble(const H5File& f, const std::string& obj, const std::string& name) {
  if (!f.HasAttribute(obj, name)) throw InputError(f.Path() + ": " + obj + " has no attribute '" + name + "'");
  const std::vector<double> v = f.ReadDoubleArrayAttribute(obj, name);
  if (v.size() != 1) throw InputError(f.Path() + ": " + obj + " attribute '" + name + "' must be one number");
  return v[0];
}

}  // namespace

void SaveChipCalibration(const std::string& path, const ChipCalibrationFile& file, const Provenance* provenance) {
  H5File f = H5File::CreateAtomic(path);
  if (provenance != nullptr) WriteProvenance(f, *provenance);
  f.WriteStringAttribute("/", "format", kFormat);
  f.WriteIntAttribute("/", "format_version", kFormatVersion);
  f.WriteStringAttribute("/", "qmodel", file.qmodel);
  f.WriteStringAttribute("/", "xbar_config", file.xbar_config);
  f.WriteStringAttribute("/", "calibration_config", file.calibration_config);
  f.WriteIntAttribute("/", "layer_count", static_cast<int64_t>(file.layers.size()));
  for (const auto& [node, cal] : file.layers) {
    const std::string g = LayerPath(node);
    const std::array<int64_t, 3> s = file.shapes.at(node);
    const std::vector<int64_t> shape{s[0], s[1], s[2]};
    f.CreateGroup(g);
    f.WriteStringAttribute(g, "name", cal.layer);
    f.WriteIntAttribute(g, "tile_rows", s[0]);
    f.WriteIntAttribute(g, "slices", s[1]);
    f.WriteIntAttribute(g, "outputs", s[2]);
    f.WriteIntAttribute(g, "fit_reads", cal.fit_reads);
    f.WriteDoubleArrayAttribute(g, "rmse_before", {cal.rmse_before});
    f.WriteDoubleArrayAttribute(g, "rmse_after", {cal.rmse_after});
    f.WriteDoubleArrayAttribute(g, "relative_before", {cal.relative_before});
    f.WriteDoubleArrayAttribute(g, "relative_after", {cal.relative_after});
    std::vector<double> gain, offset;
    for (const ColumnCorrection& c : cal.corrections) {
      gain.push_back(c.gain);
      offset.push_back(c.offset);
    }
    f.WriteDoubleArray(g + "/gain", shape, gain.data());
    f.WriteDoubleArray(g + "/offset", shape, offset.data());
    if (!cal.adc_ranges.empty()) f.WriteDoubleArray(g + "/adc_range", shape, cal.adc_ranges.data());
  }
  f.Commit();
}

ChipCalibrationFile LoadChipCalibration(const std::string& path) {
  const H5File f = H5File::OpenRead(path);
  const std::string format = f.HasAttribute("/", "format") ? f.ReadStringAttribute("/", "format") : "";
  if (format != kFormat)
    throw InputError(path + ": not a cimsim chip calibration (format '" + format + "'; make one with `cimsim calibrate`)");
  const int64_t version = f.HasAttribute("/", "format_version") ? f.ReadIntAttribute("/", "format_version") : -1;
  if (version != kFormatVersion)
    throw InputError(path + ": format_version " + std::to_string(version) + "; this cimsim reads version " +
                     std::to_string(kFormatVersion) + " (recalibrate with this cimsim: `cimsim calibrate`)");
  ChipCalibrationFile file;
  for (const char* key : {"qmodel", "xbar_config", "calibration_config"})
    if (!f.HasAttribute("/", key)) throw InputError(path + ": missing root attribute '" + std::string(key) + "'");
  file.qmodel = f.ReadStringAttribute("/", "qmodel");
  file.xbar_config = f.ReadStringAttribute("/", "xbar_config");
  file.calibration_config = f.ReadStringAttribute("/", "calibration_config");
  for (const std::string& ds : f.ListDatasets("/layers")) {
    if (ds.size() < 12 || ds.compare(ds.size() - 5, 5, "/gain") != 0) continue;
    const std::string g = ds.substr(0, ds.size() - 5);
    const std::string tail = g.substr(g.rfind('/') + 1);
    int node = -1;
    const auto [end, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), node);
    if (ec != std::errc() || end != tail.data() + tail.size() || node < 0)
      throw InputError(path + ": " + g + ": the group of a layer is named by its node index (a number), not '" + tail + "'");
    std::array<int64_t, 3> s{f.ReadIntAttribute(g, "tile_rows"), f.ReadIntAttribute(g, "slices"), f.ReadIntAttribute(g, "outputs")};
    if (s[0] < 1 || s[1] < 1 || s[2] < 1) throw InputError(path + ": " + g + " has an empty shape");
    const std::vector<int64_t> shape{s[0], s[1], s[2]};
    LayerCalibration cal;
    if (!f.HasAttribute(g, "name")) throw InputError(path + ": " + g + " has no attribute 'name'");
    cal.layer = f.ReadStringAttribute(g, "name");
    const std::vector<double> gain = f.ReadFiniteArray(g + "/gain", shape), offset = f.ReadFiniteArray(g + "/offset", shape);
    for (size_t i = 0; i < gain.size(); ++i) cal.corrections.push_back({gain[i], offset[i]});
    if (f.Exists(g + "/adc_range")) {
      cal.adc_ranges = f.ReadFiniteArray(g + "/adc_range", shape);
      for (double r : cal.adc_ranges)
        if (!(r > 0)) throw InputError(path + ": " + g + "/adc_range holds a range <= 0");
    }
    cal.fit_reads = f.ReadIntAttribute(g, "fit_reads");
    cal.rmse_before = ReadDouble(f, g, "rmse_before");
    cal.rmse_after = ReadDouble(f, g, "rmse_after");
    cal.relative_before = ReadDouble(f, g, "relative_before");
    cal.relative_after = ReadDouble(f, g, "relative_after");
    file.layers[node] = std::move(cal);
    file.shapes[node] = s;
  }
  return file;
}

MvmCoreFactory CalibratedChipCoreFactory(const XbarConfig& config, const ChipCalibrationFile& calibration,
                                         const QuantizedModel& model, const std::string& where) {
  for (const auto& [node, cal] : calibration.layers) {
    if (node < 0 || static_cast<size_t>(node) >= model.nodes.size())
      throw InputError(where + ": calibrates node " + std::to_string(node) + " ('" + cal.layer + "'), but the model has " +
                       std::to_string(model.nodes.size()) + " nodes: a calibration of another model?");
    const QNode& n = model.nodes[static_cast<size_t>(node)];
    if (n.kind != QNodeKind::kConv && n.kind != QNodeKind::kLinear)
      throw InputError(where + ": calibrates node " + std::to_string(node) + " ('" + cal.layer + "'), which is not a conv or "
                       "linear layer in the model ('" + n.name + "'): a calibration of another model?");
    if (n.name != cal.layer)
      throw InputError(where + ": node " + std::to_string(node) + " is '" + n.name + "' in the model but '" + cal.layer +
                       "' in the calibration: a calibration of another model?");
  }
  if (ChipId(config) != ChipIdOfJson(calibration.xbar_config))
    throw InputError(where + ": this calibration belongs to another chip: its xbar_config " + calibration.xbar_config +
                     " differs from " + XbarConfigToJson(config).dump());
  const MvmCoreFactory plain = ChipCoreFactory(config);
  auto layers = std::make_shared<const std::map<int, LayerCalibration>>(calibration.layers);
  return [plain, layers, where](const QNode& node, int index) {
    std::unique_ptr<MvmCore> core = plain(node, index);
    const auto it = layers->find(index);
    return it != layers->end() ? ApplyCalibration(it->second, *core, where) : std::move(core);
  };
}

}  // namespace cimsim
