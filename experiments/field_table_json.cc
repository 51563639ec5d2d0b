#include "experiments/field_table_json.h"

#include <cmath>

namespace cimsim {

using nlohmann::json;

std::vector<std::string> SplitKey(const std::string& key) {
  std::vector<std::string> keys;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    keys.push_back(key.substr(start, dot - start));
    if (dot == std::string::npos) return keys;
    start = dot + 1;
  }
}

const json* FindJson(const json& j, const std::string& key) {
  const json* at = &j;
  for (const std::string& k : SplitKey(key)) {
    if (!at->is_object() || !at->contains(k)) return nullptr;
    at = &(*at)[k];
  }
  return at;
}

namespace {

double FiniteNumber(const json& j, const JsonReader& r, const std::string& path) {
  const double v = r.Number(j, path);
  if (!std::isfinite(v))
    r.Fail(path, std::string("expected a finite number, got ") + (std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"));
  return v;
}

std::string Names(const std::vector<std::string>& choices) {
  std::string out;
  for (const std::string& c : choices) out += (out.empty() ? "" : ", ") + c;
  return out;
}

}  // namespace

FieldValue JsonToValue(FieldType type, const std::vector<std::string>& choices, const std::string& noun,
                       const std::string& example, const std::string& overflow_range, const json& j,
                       const JsonReader& r, const std::string& path) {
  switch (type) {
    case FieldType::kBool: return r.Bool(j, path);
    case FieldType::kInt: return static_cast<int64_t>(r.Int(j, path, overflow_range));
    case FieldType::kUnsigned: return r.Unsigned64(j, path);
    case FieldType::kNumber: return FiniteNumber(j, r, path);
    case FieldType::kNumbers: {
      if (!j.is_array()) r.Fail(path, "expected an array of numbers" + (example.empty() ? "" : " " + example) + ", got " + Show(j));
      std::vector<double> out;
      for (size_t i = 0; i < j.size(); ++i) out.push_back(FiniteNumber(j[i], r, Element(path, i)));
      return out;
    }
    case FieldType::kString:
    case FieldType::kChoice: {
      const std::string text = r.String(j, path);
      for (size_t i = 0; i < choices.size(); ++i)
        if (text == choices[i]) return type == FieldType::kChoice ? FieldValue(static_cast<int64_t>(i)) : FieldValue(text);
      if (type == FieldType::kString && choices.empty()) return text;
      r.Fail(path, Show(j) + " is not " + noun + "; allowed " + Names(choices));
    }
  }
  r.Fail(path, "unsupported field type");
}

json ValueToJson(const FieldValue& v, FieldType type, const std::vector<std::string>& choices) {
  switch (type) {
    case FieldType::kBool: return std::get<bool>(v);
    case FieldType::kInt: return std::get<int64_t>(v);
    case FieldType::kUnsigned: return std::get<uint64_t>(v);
    case FieldType::kNumber: return std::get<double>(v);
    case FieldType::kNumbers: return std::get<std::vector<double>>(v);
    case FieldType::kString: return std::get<std::string>(v);
    case FieldType::kChoice: {
      const int64_t i = std::get<int64_t>(v);
      return i >= 0 && i < static_cast<int64_t>(choices.size()) ? choices[static_cast<size_t>(i)] : "?";
    }
  }
  return nullptr;
}

}  // namespace cimsim
