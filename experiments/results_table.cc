#include "experiments/results_table.h"

#include <algorithm>
#include <charconv>


namespace cimsim {
namespace {

using nlohmann::json;

H5Column Ints(const std::string& name) { return {name, H5Column::Kind::kInt64, {}, {}, {}}; }
H5Column Doubles(const std::string& name) { return {name, H5Column::Kind::kFloat64, {}, {}, {}}; }
H5Column Strings(const std::string& name) { return {name, H5Column::Kind::kString, {}, {}, {}}; }

// The column kind of a swept parameter from its values at every point (see the header).
H5Column::Kind KindOf(const std::vector<const json*>& values) {
  bool integers = true, numbers = true;
  for (const json* v : values) {
    const bool is_int = v->is_number_integer() || v->is_boolean();
    integers = integers && is_int;
    numbers = numbers && (is_int || v->is_number_float());
  }
  return integers ? H5Column::Kind::kInt64 : numbers ? H5Column::Kind::kFloat64 : H5Column::Kind::kString;
}

std::string ShortestDouble(double v) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::vector<H5Column> ResultsTable(const json& swept, const std::vector<PointSummary>& points) {
  std::vector<H5Column> cols = {Ints("point"), Ints("instance")};
  std::vector<std::string> paths;
  for (const json& p : swept) paths.push_back(p.get<std::string>());
  for (const std::string& path : paths) {
    std::vector<const json*> values;
    for (const PointSummary& s : points)
      if (s.params.contains(path)) values.push_back(&s.params.at(path));
    H5Column c = Strings(path);
    c.kind = KindOf(values);
    cols.push_back(c);
  }
  const size_t first_metric = cols.size();
  const bool split_swept = std::find(paths.begin(), paths.end(), "split") != paths.end();   // then a column already
  if (!split_swept) cols.push_back(Strings("split"));
  cols.push_back(Ints("transmitted_bytes"));
  cols.push_back(Doubles("accuracy"));
  bool lifetime = false;
  for (const PointSummary& s : points) lifetime = lifetime || s.reprograms.has_value();
  if (lifetime) cols.push_back(Ints("reprograms"));
  const size_t first_layer = cols.size();
  const std::vector<std::string> layers = points.empty() ? std::vector<std::string>() : points[0].layers;
  for (const std::string& layer : layers) cols.push_back(Doubles("dot_relative/" + layer));

  for (const PointSummary& s : points) {
    const size_t instances = s.accuracy.size();
    for (size_t k = 0; k < instances; ++k) {
      cols[0].ints.push_back(s.index);
      cols[1].ints.push_back(static_cast<int64_t>(k));
      for (size_t a = 0; a < paths.size(); ++a) {
        H5Column& c = cols[2 + a];
        const json v = s.params.contains(paths[a]) ? s.params.at(paths[a]) : json();
        if (c.kind == H5Column::Kind::kInt64) c.ints.push_back(v.is_boolean() ? (v.get<bool>() ? 1 : 0) : v.get<int64_t>());
        if (c.kind == H5Column::Kind::kFloat64) c.doubles.push_back(v.get<double>());
        if (c.kind == H5Column::Kind::kString) c.strings.push_back(v.is_string() ? v.get<std::string>() : v.dump());
      }
      size_t i = first_metric;
      if (!split_swept) cols[i++].strings.push_back(s.split);
      cols[i++].ints.push_back(s.transmitted_bytes);
      cols[i++].doubles.push_back(s.accuracy[k]);
      if (lifetime) cols[i++].ints.push_back(s.reprograms ? (*s.reprograms)[k] : 0);
      for (size_t l = 0; l < layers.size(); ++l) {
        const size_t at = k * s.layers.size() + l;
        cols[first_layer + l].doubles.push_back(l < s.layers.size() && at < s.dot_relative.size() ? s.dot_relative[at] : 0.0);
      }
    }
  }
  return cols;
}

std::string TableCsv(const std::vector<H5Column>& columns) {
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) out += (i ? "," : "") + CsvField(columns[i].name);
  out += "\n";
  const int64_t rows = columns.empty() ? 0 : columns[0].Rows();
  for (int64_t r = 0; r < rows; ++r) {
    const size_t ri = static_cast<size_t>(r);
    for (size_t i = 0; i < columns.size(); ++i) {
      const H5Column& c = columns[i];
      if (i) out += ",";
      if (c.kind == H5Column::Kind::kInt64) out += std::to_string(c.ints[ri]);
      if (c.kind == H5Column::Kind::kFloat64) out += ShortestDouble(c.doubles[ri]);
      if (c.kind == H5Column::Kind::kString) out += CsvField(c.strings[ri]);
    }
    out += "\n";
  }
  return out;
}

}  // namespace cimsim
