#include "experiments/point_units.h"

#include <cmath>
#include <limits>
#include <stdexcept>

#include "common/error.h"
#include "common/h5_file.h"
#include "common/index_names.h"
#include "experiments/point_evaluation.h"

namespace cimsim {
namespace {

using nlohmann::json;

// Dataset `path` of shape `shape` (any length where an entry is −1) as T (an integer type), every value
// exactly a T. The range is checked before the conversion: a double outside T's range (or NaN, inf)
// converted to T is undefined behaviour. T's bounds as doubles: min() is a power of two (exact), and
// max() + 1.0 rounds to 2^(bits−1) (exact).
template <class T>
std::vector<T> ReadExact(const H5File& f, const std::string& path, std::vector<int64_t> shape) {
  if (!f.Exists(path)) throw InputError(f.Path() + ": missing dataset " + path);
  const H5Array a = f.ReadArray(path);
  bool ok = a.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || a.shape[i] == shape[i];
  if (!ok) throw InputError(f.Path() + ": " + path + " has the wrong shape");
  std::vector<T> out(a.values.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double v = a.values[i];
    const bool in_range = v >= static_cast<double>(std::numeric_limits<T>::min()) &&
                          v < static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    if (!in_range || v != std::trunc(v))
      throw InputError(f.Path() + ": " + path + "[" + std::to_string(i) + "] = " + std::to_string(v) +
                       " is not a value this dataset can hold");
    out[i] = static_cast<T>(v);
  }
  return out;
}

LayerTrace ReadTrace(const H5File& f, const std::string& g) {
  LayerTrace t;
  t.node = static_cast<int>(f.ReadIntAttribute(g, "node"));
  t.K = f.ReadIntAttribute(g, "K");
  t.N = f.ReadIntAttribute(g, "N");
  t.tile_rows = f.ReadIntAttribute(g, "tile_rows");
  t.weight_slices = static_cast<int>(f.ReadIntAttribute(g, "weight_slices"));
  t.input_slices = static_cast<int>(f.ReadIntAttribute(g, "input_slices"));
  t.sign_passes = static_cast<int>(f.ReadIntAttribute(g, "sign_passes"));
  t.vector_instance = ReadExact<int32_t>(f, g + "/vector_instance", {-1});
  const int64_t V = static_cast<int64_t>(t.vector_instance.size());
  t.vector_image = ReadExact<int64_t>(f, g + "/vector_image", {V});
  t.vector_position = ReadExact<int32_t>(f, g + "/vector_position", {V});
  t.inputs = ReadExact<int16_t>(f, g + "/inputs", {V, t.K});
  t.exact = ReadExact<int64_t>(f, g + "/exact", {V, t.N});
  t.measured = ReadExact<int32_t>(f, g + "/measured", {V, t.N});
  t.read_vector = ReadExact<int32_t>(f, g + "/read_vector", {-1});
  const int64_t R = static_cast<int64_t>(t.read_vector.size());
  t.read_output = ReadExact<int32_t>(f, g + "/read_output", {R});
  t.read_tile_row = ReadExact<int32_t>(f, g + "/read_tile_row", {R});
  t.read_tile_col = ReadExact<int32_t>(f, g + "/read_tile_col", {R});
  t.read_weight_slice = ReadExact<int32_t>(f, g + "/read_weight_slice", {R});
  t.read_input_slice = ReadExact<int32_t>(f, g + "/read_input_slice", {R});
  t.read_sign_pass = ReadExact<int32_t>(f, g + "/read_sign_pass", {R});
  t.read_ideal = ReadExact<int64_t>(f, g + "/read_ideal", {R});
  t.read_analog = f.ReadFiniteArray(g + "/read_analog", {R});
  t.read_code = ReadExact<int32_t>(f, g + "/read_code", {R});
  t.read_lsb = f.ReadFiniteArray(g + "/read_lsb", {R});
  t.read_calibrated = f.ReadFiniteArray(g + "/read_calibrated", {R});
  return t;
}

template <class T>
void Append(std::vector<T>& a, const std::vector<T>& b) {
  a.insert(a.end(), b.begin(), b.end());
}

}  // namespace

std::string UnitFileName(const std::string& dir, int64_t point, int64_t instance, int64_t points_total,
                         int64_t instances) {
  return dir + "/units/" + IndexName(point, points_total) + "-" + IndexName(instance, instances) + ".h5";
}

void WriteUnitFile(const std::string& path, const PointData& unit, int64_t instance, int64_t instances,
                   const std::string& config_key, int64_t points_total, const Provenance* provenance) {
  WritePointFile(path, unit, config_key, points_total, [&](H5File& f) {
    f.WriteIntAttribute("/", "instance", instance);
    f.WriteIntAttribute("/", "instances", instances);
    if (provenance != nullptr) WriteProvenance(f, *provenance);
  });
}

PointData ReadUnitFile(const std::string& path, const std::string& config_key, int64_t point, int64_t instance,
                       int64_t points_total) {
  PointData u;
  const H5File f = OpenVerifiedPointFile(path);
  u.summary = ReadPointSummary(f, config_key);
  u.summary.resumed = false;
  if (!f.HasAttribute("/", "instance") || f.ReadIntAttribute("/", "instance") != instance ||
      u.summary.index != point || u.summary.accuracy.size() != 1)
    throw InputError(path + ": is not the unit file of point " + std::to_string(point) + ", instance " +
                     std::to_string(instance) + "; move it away and run the shard (or --resume) again");
  const std::string g = PointGroup(point, points_total);
  const int64_t L = static_cast<int64_t>(u.summary.layers.size());
  if (static_cast<int64_t>(u.summary.dot_relative.size()) != L)
    throw InputError(path + ": its summary lists " + std::to_string(L) + " layers and " +
                     std::to_string(u.summary.dot_relative.size()) + " dot-product errors");
  u.xbar_json = f.ReadStringAttribute(g, "xbar");
  try {
    u.cim_layers = json::parse(f.ReadStringAttribute(g, "cim_layers")).get<std::vector<std::string>>();
  } catch (const json::exception& e) {
    throw InputError(path + ": " + g + " attribute cim_layers: " + e.what());
  }
  u.images = f.ReadIntAttribute(g, "images");
  u.correct = ReadExact<int64_t>(f, g + "/correct", {1});
  u.dot_rmse = f.ReadFiniteArray(g + "/dot_rmse", {1, L});
  const std::string traces = g + "/traces";
  for (const std::string& d : f.ListDatasets(traces)) {
    const std::string rest = d.substr(traces.size() + 1);   // <layer>/<dataset>
    const std::string layer = rest.substr(0, rest.find('/'));
    if (u.traces.count(layer) == 0) u.traces[layer] = ReadTrace(f, traces + "/" + layer);
  }
  return u;
}

std::optional<PointData> ReadIntactUnitFile(const std::string& path, const std::string& config_key, int64_t point,
                                            int64_t instance, int64_t points_total, const std::string& dir) {
  try {
    return ReadUnitFile(path, config_key, point, instance, points_total);
  } catch (const DamagedPointFile& e) {
    SetAsideDamaged(path, dir, e);
    return std::nullopt;
  }
}

PointData MergeInstances(const std::vector<PointData>& units) {
  if (units.empty()) throw std::invalid_argument("MergeInstances: no units");
  PointData out;
  const PointData& first = units.front();
  PointSummary& s = out.summary;
  s.index = first.summary.index;
  s.params = first.summary.params;
  s.split = first.summary.split;
  s.transmitted_bytes = first.summary.transmitted_bytes;
  s.layers = first.summary.layers;
  out.xbar_json = first.xbar_json;
  out.cim_layers = first.cim_layers;
  out.images = first.images;
  for (const PointData& u : units) {
    if (u.summary.index != s.index || u.summary.accuracy.size() != 1 || u.correct.size() != 1 || u.lifetime)
      throw std::invalid_argument("MergeInstances: unit of point " + std::to_string(u.summary.index) + " with " +
                                  std::to_string(u.summary.accuracy.size()) + " instances, merging point " +
                                  std::to_string(s.index));
    Append(s.accuracy, u.summary.accuracy);
    Append(s.dot_relative, u.summary.dot_relative);
    Append(out.correct, u.correct);
    Append(out.dot_rmse, u.dot_rmse);
    for (const auto& [layer, trace] : u.traces) out.traces[layer].Append(trace);
  }
  const AccuracyStats stats = Stats(s.accuracy);
  s.accuracy_mean = stats.mean;
  s.accuracy_std = stats.std;
  return out;
}

}  // namespace cimsim
