#include "experiments/results_file.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "common/atomic_file.h"
#include "common/error.h"
#include "common/h5_file.h"
#include "common/index_names.h"
#include "experiments/eval_report.h"
#include "experiments/results_table.h"

namespace cimsim {
namespace {

using nlohmann::json;

// The point's summary JSON: dataset /summary, one string.
std::string PointSummaryText(const H5File& f) {
  const std::vector<std::string> text = f.ReadStringArray("/summary");
  if (text.size() != 1) throw InputError(f.Path() + ": dataset /summary holds " + std::to_string(text.size()) + " strings; expected 1");
  return text[0];
}

// The per-instance arrays of a point group: [instances] or [instances, layers], and their units.
struct PerInstanceArray {
  const char* name;
  const char* units;
  bool per_layer, lifetime;
};
constexpr PerInstanceArray kPerInstanceArrays[] = {
    {"accuracy", "1", false, false},          {"correct", "images", false, false},
    {"dot_rmse", "integer dot-product units", true, false}, {"dot_relative", "1", true, false},
    {"reprograms", "events", false, true},    {"drift_alpha", "1", true, true},
    {"reference_relative", "1", true, true},  {"reprogrammed", "1", true, true}};

// Makes `instance` and `layer` of point group g dimension scales of its per-instance arrays (done in
// results.h5 after the copy: HDF5 does not carry the scales' object references through H5Ocopy).
void AttachScales(H5File& f, const std::string& g) {
  if (!f.Exists(g + "/instance") || !f.Exists(g + "/layer")) return;   // a point file of an older version
  for (const PerInstanceArray& a : kPerInstanceArrays) {
    const std::string d = g + "/" + a.name;
    if (!f.Exists(d)) continue;
    f.AttachScale(d, g + "/instance", "instance", 0);
    if (a.per_layer) f.AttachScale(d, g + "/layer", "layer", 1);
  }
}

// The swept values of a point as typed attributes of group `g`: integers (and booleans, 0/1) as int64,
// other numbers as float64, strings as strings, anything else as JSON text.
void WriteTypedParams(H5File& f, const std::string& g, const json& params) {
  f.CreateGroup(g);
  for (const auto& [path, v] : params.items()) {
    if (v.is_boolean()) f.WriteIntAttribute(g, path, v.get<bool>() ? 1 : 0);
    else if (v.is_number_integer()) f.WriteIntAttribute(g, path, v.get<int64_t>());
    else if (v.is_number()) f.WriteDoubleAttribute(g, path, v.get<double>());
    else if (v.is_string()) f.WriteStringAttribute(g, path, v.get<std::string>());
    else f.WriteStringAttribute(g, path, v.dump());
  }
}

void WriteTrace(H5File& f, const std::string& g, const LayerTrace& t) {
  f.CreateGroup(g);
  f.WriteIntAttribute(g, "node", t.node);
  f.WriteIntAttribute(g, "K", t.K);
  f.WriteIntAttribute(g, "N", t.N);
  f.WriteIntAttribute(g, "tile_rows", t.tile_rows);
  f.WriteIntAttribute(g, "weight_slices", t.weight_slices);
  f.WriteIntAttribute(g, "input_slices", t.input_slices);
  f.WriteIntAttribute(g, "sign_passes", t.sign_passes);
  const int64_t V = t.Vectors(), R = static_cast<int64_t>(t.read_vector.size());
  f.WriteInt32Array(g + "/vector_instance", {V}, t.vector_instance.data());
  f.WriteInt64Array(g + "/vector_image", {V}, t.vector_image.data());
  f.WriteInt32Array(g + "/vector_position", {V}, t.vector_position.data());
  f.WriteInt16Array(g + "/inputs", {V, t.K}, t.inputs.data());
  f.WriteInt64Array(g + "/exact", {V, t.N}, t.exact.data());
  f.WriteInt32Array(g + "/measured", {V, t.N}, t.measured.data());
  f.WriteInt32Array(g + "/read_vector", {R}, t.read_vector.data());
  f.WriteInt32Array(g + "/read_output", {R}, t.read_output.data());
  f.WriteInt32Array(g + "/read_tile_row", {R}, t.read_tile_row.data());
  f.WriteInt32Array(g + "/read_tile_col", {R}, t.read_tile_col.data());
  f.WriteInt32Array(g + "/read_weight_slice", {R}, t.read_weight_slice.data());
  f.WriteInt32Array(g + "/read_input_slice", {R}, t.read_input_slice.data());
  f.WriteInt32Array(g + "/read_sign_pass", {R}, t.read_sign_pass.data());
  f.WriteInt64Array(g + "/read_ideal", {R}, t.read_ideal.data());
  f.WriteDoubleArray(g + "/read_analog", {R}, t.read_analog.data());
  f.WriteInt32Array(g + "/read_code", {R}, t.read_code.data());
  f.WriteDoubleArray(g + "/read_lsb", {R}, t.read_lsb.data());
  f.WriteDoubleArray(g + "/read_calibrated", {R}, t.read_calibrated.data());
}

}  // namespace

std::string PointFileName(const std::string& dir, int64_t index, int64_t points_total) {
  return dir + "/points/" + IndexName(index, points_total) + ".h5";
}
std::string PointGroup(int64_t index, int64_t points_total) { return "/points/" + IndexName(index, points_total); }

json SummaryToJson(const PointSummary& s) {
  json j = {{"index", s.index},
          {"params", s.params},
          {"accuracy", s.accuracy},
          {"accuracy_mean", s.accuracy_mean},
          {"accuracy_std", s.accuracy_std},
          {"transmitted_bytes", s.transmitted_bytes},
          {"split", s.split},
          {"layers", s.layers},
          {"dot_relative", s.dot_relative}};
  if (s.reprograms) j["reprograms"] = *s.reprograms;
  return j;
}

PointSummary SummaryFromJson(const json& j) {
  PointSummary s;
  s.index = j.at("index").get<int64_t>();
  s.params = j.at("params");
  s.accuracy = j.at("accuracy").get<std::vector<double>>();
  s.accuracy_mean = j.at("accuracy_mean").get<double>();
  s.accuracy_std = j.at("accuracy_std").get<double>();
  s.transmitted_bytes = j.at("transmitted_bytes").get<int64_t>();
  s.split = j.at("split").get<std::string>();
  s.layers = j.at("layers").get<std::vector<std::string>>();
  s.dot_relative = j.at("dot_relative").get<std::vector<double>>();
  if (j.contains("reprograms")) s.reprograms = j.at("reprograms").get<std::vector<int64_t>>();
  return s;
}

void SetAsideDamaged(const std::string& path, const std::string& dir, const DamagedPointFile& why) {
  const std::filesystem::path aside = std::filesystem::path(dir) / "damaged";
  std::filesystem::create_directories(aside);
  std::filesystem::path target = aside / std::filesystem::path(path).filename();
  for (int n = 1; std::filesystem::exists(target); ++n)
    target = aside / (std::filesystem::path(path).filename().string() + "." + std::to_string(n));
  std::filesystem::rename(path, target);
  std::cerr << "cimsim: note: " << why.what() << "; moved to " << target.string() << " and computed again\n";
}

std::optional<PointSummary> ReadIntactPointSummary(const std::string& path, const std::string& config_key,
                                                   const std::string& dir) {
  try {
    return ReadPointSummary(path, config_key);
  } catch (const DamagedPointFile& e) {
    SetAsideDamaged(path, dir, e);
    return std::nullopt;
  }
}

void WritePointFile(const std::string& path, const PointData& p, const std::string& config_key, int64_t points_total,
                    const std::function<void(H5File&)>& extra_attributes) {
  const PointSummary& s = p.summary;
  H5File f = H5File::CreateAtomic(path);
  f.EnableCompression();
  f.WriteStringAttribute("/", "config", config_key);
  f.WriteStringArray("/summary", {SummaryToJson(s).dump()});  // a dataset: beyond an attribute's 64 KiB with 1,000 instances
  f.WriteIntAttribute("/", "points_total", points_total);
  if (extra_attributes) extra_attributes(f);
  const std::string g = PointGroup(s.index, points_total);
  f.CreateGroup(g);
  f.WriteIntAttribute(g, "index", s.index);
  f.WriteStringAttribute(g, "params", s.params.dump());
  f.WriteStringAttribute(g, "xbar", p.xbar_json);
  f.WriteStringAttribute(g, "split", s.split);
  f.WriteStringAttribute(g, "cim_layers", json(p.cim_layers).dump());
  f.WriteStringAttribute(g, "layers", json(s.layers).dump());
  f.WriteIntAttribute(g, "transmitted_bytes", s.transmitted_bytes);
  f.WriteIntAttribute(g, "images", p.images);
  f.WriteDoubleArrayAttribute(g, "accuracy_mean", {s.accuracy_mean});
  f.WriteDoubleArrayAttribute(g, "accuracy_std", {s.accuracy_std});
  const int64_t I = static_cast<int64_t>(s.accuracy.size()), L = static_cast<int64_t>(s.layers.size());
  f.WriteDoubleArray(g + "/accuracy", {I}, s.accuracy.data());
  f.WriteInt64Array(g + "/correct", {I}, p.correct.data());
  f.WriteDoubleArray(g + "/dot_rmse", {I, L}, p.dot_rmse.data());
  f.WriteDoubleArray(g + "/dot_relative", {I, L}, s.dot_relative.data());
  WriteTypedParams(f, g + "/parameters", s.params);
  // The coordinates of the [instances, layers] arrays (results.h5 makes them dimension scales) and units.
  std::vector<int64_t> instance(static_cast<size_t>(I));
  for (int64_t k = 0; k < I; ++k) instance[static_cast<size_t>(k)] = k;
  f.WriteInt64Array(g + "/instance", {I}, instance.data());
  f.WriteStringArray(g + "/layer", s.layers);
  for (const PerInstanceArray& a : kPerInstanceArrays)
    if (f.Exists(g + "/" + a.name)) f.WriteStringAttribute(g + "/" + a.name, "units", a.units);
  if (p.lifetime) {
    const PointData::Lifetime& l = *p.lifetime;
    f.WriteIntAttribute(g, "chip_point", l.chip_point);
    f.WriteIntAttribute(g, "time_index", l.time_index);
    f.WriteDoubleArrayAttribute(g, "time", {l.time});
    f.WriteStringAttribute(g, "policy", l.policy);
    const std::vector<int64_t> reprograms = s.reprograms.value_or(std::vector<int64_t>(static_cast<size_t>(I), 0));
    f.WriteInt64Array(g + "/reprograms", {I}, reprograms.data());
    f.WriteDoubleArray(g + "/drift_alpha", {I, L}, l.drift_alpha.data());
    f.WriteDoubleArray(g + "/reference_relative", {I, L}, l.reference_relative.data());
    f.WriteInt32Array(g + "/reprogrammed", {I, L}, l.reprogrammed.data());
    for (const PerInstanceArray& a : kPerInstanceArrays)
      if (a.lifetime) f.WriteStringAttribute(g + "/" + a.name, "units", a.units);
  }
  for (const auto& [layer, trace] : p.traces) WriteTrace(f, g + "/traces/" + layer, trace);
  f.Commit();  // with its content checksum, which ReadPointSummary requires
}

H5File OpenVerifiedPointFile(const std::string& path) {
  try {
    H5File f = H5File::OpenRead(path);  // verifies the checksum when there is one
    if (!f.HasContentChecksum()) f.VerifyContentChecksum();  // none: throws "no content_checksum"
    return f;
  } catch (const InputError& e) {
    throw DamagedPointFile(e.what());
  }
}

PointSummary ReadPointSummary(const std::string& path, const std::string& config_key) {
  return ReadPointSummary(OpenVerifiedPointFile(path), config_key);
}

PointSummary ReadPointSummary(const H5File& f, const std::string& config_key) {
  const std::string& path = f.Path();
  if (!f.HasAttribute("/", "config") || !f.Exists("/summary"))
    throw InputError(path + ": not a cimsim experiment point file");
  if (f.ReadStringAttribute("/", "config") != config_key)
    throw InputError(path + ": was written by a different experiment config; --resume needs the same config "
                            "(or choose another --out)");
  try {
    PointSummary s = SummaryFromJson(json::parse(PointSummaryText(f)));
    s.resumed = true;
    return s;
  } catch (const json::exception& e) {
    throw InputError(path + ": unreadable point summary: " + e.what());
  }
}

void WriteResultsFile(const std::string& path, const std::string& config_json, int64_t points_total, int64_t instances,
                      const json& swept, const std::vector<std::string>& point_files,
                      const std::vector<PointSummary>& points, const std::string& lifetime_json,
                      const Provenance* provenance) {
  H5File f = H5File::CreateAtomic(path);
  if (provenance != nullptr) WriteProvenance(f, *provenance);
  f.WriteStringAttribute("/", "format", "cimsim-experiment-results");
  f.WriteIntAttribute("/", "format_version", 1);
  f.WriteStringAttribute("/", "config", config_json);
  f.WriteIntAttribute("/", "points_total", points_total);
  f.WriteIntAttribute("/", "points_finished", static_cast<int64_t>(point_files.size()));
  f.WriteIntAttribute("/", "instances", instances);
  f.WriteStringAttribute("/", "swept", swept.dump());
  if (!lifetime_json.empty()) f.WriteStringAttribute("/", "lifetime", lifetime_json);
  f.CreateGroup("/points");
  for (const std::string& file : point_files) {
    // Each was verified (isolated, checksum) by ReadIntactPointSummary or written by this process: read
    // in-process, so the merge after every point costs no process per file.
    const H5File src = H5File::OpenReadInProcess(file);
    const std::string summary = PointSummaryText(src);
    const int64_t index = json::parse(summary).at("index").get<int64_t>();
    f.CopyFrom(src, PointGroup(index, points_total));
    AttachScales(f, PointGroup(index, points_total));
  }
  f.WriteTable("/table", ResultsTable(swept, points));
  f.Commit();
}

void WriteSummaryJson(const std::string& path, const json& config, const std::vector<PointSummary>& points,
                      int64_t points_total, const Provenance* provenance) {
  json j = {{"format", "cimsim-experiment-summary"}, {"points_total", points_total}, {"config", config}};
  if (provenance != nullptr) j["provenance"] = ProvenanceJson(*provenance);
  json list = json::array();
  for (const PointSummary& s : points) {
    json e = SummaryToJson(s);
    e["seconds"] = s.seconds;
    e["resumed"] = s.resumed;
    list.push_back(e);
  }
  j["points"] = list;
  WriteFileAtomically(path, j.dump(2) + "\n");
}

}  // namespace cimsim
