#include "calib/trace_calibration.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "common/error.h"
#include "common/h5_file.h"
#include "common/index_names.h"
#include "calib/linear_fit.h"

namespace cimsim {
namespace {

// The point's group: /points/ + IndexName(point, points_total), points_total from the file's root
// attribute (results.h5 and point files carry it; files from before it existed used 4 digits).
std::string PointGroupName(const H5File& f, int64_t point) {
  const int64_t total = f.HasAttribute("/", "points_total") ? f.ReadIntAttribute("/", "points_total") : 0;
  return "/points/" + IndexName(point, total);
}

// A 1-D dataset of `length` (or any length when length < 0) whose values are all integers (or all
// finite, when `integers` is false).
std::vector<double> Column(const H5File& f, const std::string& path, int64_t length, bool integers) {
  if (!f.Exists(path)) throw InputError(f.Path() + ": missing dataset " + path);
  H5Array a = f.ReadArray(path);
  if (a.shape.size() != 1 || (length >= 0 && a.shape[0] != length)) {
    throw InputError(f.Path() + ": " + path + " has the wrong shape; expected one dimension" +
                     (length >= 0 ? " of " + std::to_string(length) : std::string()));
  }
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i];
    if (!std::isfinite(v) || (integers && v != std::trunc(v))) {
      throw InputError(f.Path() + ": " + path + "[" + std::to_string(i) + "] = " + std::to_string(v) + " is not " +
                       (integers ? "an integer" : "finite"));
    }
  }
  return std::move(a.values);
}

double Rms(double sum_sq, int64_t n) { return n > 0 ? std::sqrt(sum_sq / static_cast<double>(n)) : 0.0; }

}  // namespace

std::vector<std::string> TracedLayers(const std::string& file, int64_t point) {
  const H5File f = H5File::OpenRead(file);
  const std::string group = PointGroupName(f, point);
  const std::string traces = group + "/traces";
  if (!f.Exists(group)) throw InputError(file + ": no point group " + group);
  std::vector<std::string> layers;
  if (!f.Exists(traces)) return layers;
  for (const std::string& d : f.ListDatasets(traces)) {
    // .../traces/<layer>/<dataset>
    const std::string rest = d.substr(traces.size() + 1);
    const std::string layer = rest.substr(0, rest.find('/'));
    if (layers.empty() || layers.back() != layer) layers.push_back(layer);
  }
  std::sort(layers.begin(), layers.end());
  layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
  return layers;
}

TraceReads ReadTraceReads(const std::string& file, int64_t point, int64_t instance, const std::string& layer) {
  const H5File f = H5File::OpenRead(file);
  const std::string g = PointGroupName(f, point) + "/traces/" + layer;
  if (!f.Exists(g)) throw InputError(file + ": no traces of layer '" + layer + "' at point " + std::to_string(point) + " (" + g + ")");
  TraceReads t;
  t.layer = layer;
  t.K = f.ReadIntAttribute(g, "K");
  t.N = f.ReadIntAttribute(g, "N");
  t.tile_rows = f.ReadIntAttribute(g, "tile_rows");
  t.weight_slices = f.ReadIntAttribute(g, "weight_slices");
  const std::vector<double> vector_instance = Column(f, g + "/vector_instance", -1, true);
  const std::vector<double> read_vector = Column(f, g + "/read_vector", -1, true);
  const auto R = static_cast<int64_t>(read_vector.size());
  const std::vector<double> tile_row = Column(f, g + "/read_tile_row", R, true);
  const std::vector<double> weight_slice = Column(f, g + "/read_weight_slice", R, true);
  const std::vector<double> output = Column(f, g + "/read_output", R, true);
  const std::vector<double> ideal = Column(f, g + "/read_ideal", R, true);
  const std::vector<double> code = Column(f, g + "/read_code", R, true);
  const std::vector<double> lsb = Column(f, g + "/read_lsb", R, false);

  // Rows of this instance, renumbered 0, 1, ... in file order (the even/odd split runs on these).
  std::vector<int64_t> rank(vector_instance.size(), -1);
  int64_t rows = 0;
  for (size_t v = 0; v < vector_instance.size(); ++v)
    if (vector_instance[v] == static_cast<double>(instance)) rank[v] = rows++;
  if (rows == 0) {
    throw InputError(file + ": " + g + " has no traced vectors of instance " + std::to_string(instance));
  }
  for (int64_t i = 0; i < R; ++i) {
    const double v = read_vector[static_cast<size_t>(i)];
    if (v < 0 || v >= static_cast<double>(vector_instance.size())) {
      throw InputError(file + ": " + g + "/read_vector[" + std::to_string(i) + "] = " + std::to_string(v) +
                       " is not a row of vector_instance (0.." + std::to_string(vector_instance.size()) + ")");
    }
    const int64_t r = rank[static_cast<size_t>(v)];
    if (r < 0) continue;
    const auto k = static_cast<size_t>(i);
    t.row.push_back(r);
    t.tile_row.push_back(static_cast<int64_t>(tile_row[k]));
    t.weight_slice.push_back(static_cast<int64_t>(weight_slice[k]));
    t.output.push_back(static_cast<int64_t>(output[k]));
    t.ideal.push_back(ideal[k]);
    t.code.push_back(static_cast<int64_t>(code[k]));
    t.lsb.push_back(lsb[k]);
  }
  return t;
}

LayerCalibration CalibrateFromReads(const TraceReads& t, const MvmCore& core, const ChipCalibrationParams& params,
                                    const std::string& where) {
  params.Validate("calibration");
  const std::string what = where + ": traces of " + t.layer;
  const ColumnReadout& readout = RequireReadout(core, t.layer);
  const ReadoutGeometry g = readout.Geometry();
  if (t.K != core.Depth() || t.N != core.Outputs() || t.tile_rows != g.tile_rows || t.weight_slices != g.weight_slices) {
    throw InputError(what + " have K = " + std::to_string(t.K) + ", N = " + std::to_string(t.N) + ", " +
                     std::to_string(t.tile_rows) + " tile rows and " + std::to_string(t.weight_slices) +
                     " weight slices; the chip's layer has " + std::to_string(core.Depth()) + ", " +
                     std::to_string(core.Outputs()) + ", " + std::to_string(g.tile_rows) + " and " +
                     std::to_string(g.weight_slices));
  }
  const size_t columns = static_cast<size_t>(g.Columns());
  const size_t R = t.ideal.size();

  // Each read's column, and each column's one lsb.
  std::vector<size_t> column(R);
  std::vector<double> lsb(columns, 0.0);
  for (size_t i = 0; i < R; ++i) {
    if (t.tile_row[i] < 0 || t.tile_row[i] >= g.tile_rows || t.weight_slice[i] < 0 ||
        t.weight_slice[i] >= g.weight_slices || t.output[i] < 0 || t.output[i] >= core.Outputs()) {
      throw InputError(what + ": read " + std::to_string(i) + " has tile row " + std::to_string(t.tile_row[i]) +
                       ", weight slice " + std::to_string(t.weight_slice[i]) + ", output " +
                       std::to_string(t.output[i]) + ", outside the chip's layer");
    }
    if (!(t.lsb[i] > 0) || !std::isfinite(t.lsb[i])) {
      throw InputError(what + ": read " + std::to_string(i) + " has lsb " + std::to_string(t.lsb[i]) +
                       "; must be finite and > 0");
    }
    column[i] = static_cast<size_t>(g.Index(t.tile_row[i], static_cast<int>(t.weight_slice[i]), t.output[i]));
    double& l = lsb[column[i]];
    if (l == 0) l = t.lsb[i];
    if (l != t.lsb[i]) {
      throw InputError(what + ": the reads of column (tile row " + std::to_string(t.tile_row[i]) + ", slice " +
                       std::to_string(t.weight_slice[i]) + ", output " + std::to_string(t.output[i]) +
                       ") disagree on lsb (" + std::to_string(l) + " and " + std::to_string(t.lsb[i]) + ")");
    }
  }

  LayerCalibration cal;
  cal.layer = t.layer;
  if (readout.AdcRangesSettable()) {
    const double half = std::ldexp(1.0, readout.AdcBits() - 1);
    cal.adc_ranges.resize(columns);
    for (size_t c = 0; c < columns; ++c) cal.adc_ranges[c] = lsb[c] > 0 ? lsb[c] * half : readout.AdcRanges()[c];
  } else {
    for (size_t c = 0; c < columns; ++c) {
      if (lsb[c] > 0 && lsb[c] != readout.AdcLsb()[c]) {
        throw InputError(what + ": column " + std::to_string(c) + " was read with lsb " + std::to_string(lsb[c]) +
                         " but this chip's ADC (" + readout.AdcRangesFixedReason() + ") has lsb " +
                         std::to_string(readout.AdcLsb()[c]) + "; the traces come from another ADC setting");
      }
    }
  }

  // Fits on even rows.
  std::vector<LinearFit> fits(columns);
  double im = 0, mm = 0;
  for (size_t i = 0; i < R; ++i) {
    if (t.row[i] % 2 != 0) continue;
    const double m = static_cast<double>(t.code[i]) * t.lsb[i];
    fits[column[i]].Add(m, t.ideal[i]);
    im += t.ideal[i] * m;
    mm += m * m;
    ++cal.fit_reads;
  }
  cal.corrections.assign(columns, ColumnCorrection{});
  if (params.mode == CorrectionMode::kColumn) {
    for (size_t c = 0; c < columns; ++c) {
      const LineFit f = fits[c].Result();
      cal.corrections[c] = {f.gain, f.offset};
    }
  } else {
    const double gain = mm > 0 ? im / mm : 1.0;
    for (ColumnCorrection& c : cal.corrections) c = {gain, 0.0};
  }

  // Read-level check on odd rows.
  double before = 0, after = 0, ref = 0;
  int64_t held_out = 0;
  for (size_t i = 0; i < R; ++i) {
    if (t.row[i] % 2 == 0) continue;
    const double m = static_cast<double>(t.code[i]) * t.lsb[i];
    const ColumnCorrection& c = cal.corrections[column[i]];
    before += (t.ideal[i] - m) * (t.ideal[i] - m);
    const double e = t.ideal[i] - std::fma(c.gain, m, c.offset);
    after += e * e;
    ref += t.ideal[i] * t.ideal[i];
    ++held_out;
  }
  cal.rmse_before = Rms(before, held_out);
  cal.rmse_after = Rms(after, held_out);
  cal.relative_before = ref > 0 ? std::sqrt(before / ref) : 0.0;
  cal.relative_after = ref > 0 ? std::sqrt(after / ref) : 0.0;
  return cal;
}

}  // namespace cimsim
