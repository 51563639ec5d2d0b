// field_table_json.h — the JSON side of a field table (common/field_table.h): read an object's values,
// write a struct's applicable fields.
//
// ReadFieldValues checks the structure — j and every nested object ("adc" of "adc.bits") must be
// objects whose keys are the table's ("<path>.<key>: unknown key; allowed: a, b", the keys in table
// order) — and converts each present key to its field's type: "expected an integer, got \"8\"",
// "expected a finite number, got inf", "\"auto\" is not an ADC range; allowed max, fixed, calibrated".
// Ranges and applicability are not checked here: ApplyFields and ValidateFields do that. Errors go
// through the JsonReader, naming prefix + path.
//
// FieldsToJson writes every field that applies (a kString with omit_empty only when not ""), nested
// by its key: JSON integers for kInt / kUnsigned, JSON numbers (written with a decimal point) for
// kNumber, the spelling for kChoice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/field_table.h"
#include "experiments/json_reader.h"

namespace cimsim {

// Splits "a.b.c" into its keys.
std::vector<std::string> SplitKey(const std::string& key);

// The JSON value of one field at `path`, converted to the field's type.
template <typename T>
FieldValue JsonToFieldValue(const Field<T>& f, const nlohmann::json& j, const JsonReader& r, const std::string& path);

// The non-template part: the conversion by type.
FieldValue JsonToValue(FieldType type, const std::vector<std::string>& choices, const std::string& noun,
                       const std::string& example, const std::string& overflow_range, const nlohmann::json& j,
                       const JsonReader& r, const std::string& path);
nlohmann::json ValueToJson(const FieldValue& v, FieldType type, const std::vector<std::string>& choices);

template <typename T>
FieldValue JsonToFieldValue(const Field<T>& f, const nlohmann::json& j, const JsonReader& r, const std::string& path) {
  return JsonToValue(f.type, f.choices, f.noun, f.example, f.overflow_names_range ? f.range.text : "", j, r, path);
}

// The keys one level below `object` ("" = the top) in table order: "bits", "range", ... for "adc".
template <typename T>
std::vector<std::string> KeysUnder(const std::vector<Field<T>>& fields, const std::string& object) {
  std::vector<std::string> keys;
  const std::string prefix = object.empty() ? "" : object + ".";
  for (const Field<T>& f : fields) {
    if (f.key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string rest = f.key.substr(prefix.size());
    const std::string first = rest.substr(0, rest.find('.'));
    bool seen = false;
    for (const std::string& k : keys) seen = seen || k == first;
    if (!seen) keys.push_back(first);
  }
  return keys;
}

// Checks object j (at `object`, "" = the top) and the objects inside it against the table; messages
// name Child(base, path).
template <typename T>
void CheckObject(const std::vector<Field<T>>& fields, const nlohmann::json& j, const std::string& object,
                 const JsonReader& r, const std::string& base = "") {
  r.RequireObject(j, Child(base, object));
  const std::vector<std::string> keys = KeysUnder(fields, object);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  r.CheckKeys(j, Child(base, object), views);
  for (const std::string& k : keys) {
    const std::string path = Child(object, k);
    if (j.contains(k) && !FindField(fields, path)) CheckObject(fields, j[k], path, r, base);
  }
}

// The value at a field's key inside j, or nullptr (j's structure already checked).
const nlohmann::json* FindJson(const nlohmann::json& j, const std::string& key);

// The values object j sets; messages name Child(base, key) ("calibration.auto.images").
template <typename T>
FieldValues ReadFieldValues(const std::vector<Field<T>>& fields, const nlohmann::json& j, const JsonReader& r,
                            const std::string& base = "") {
  CheckObject(fields, j, "", r, base);
  FieldValues values;
  for (size_t i = 0; i < fields.size(); ++i) {
    const nlohmann::json* v = FindJson(j, fields[i].key);
    if (v != nullptr) values[i] = JsonToFieldValue(fields[i], *v, r, Child(base, fields[i].key));
  }
  return values;
}

// fail(key, problem) for ApplyFields / ValidateFields through a JsonReader, naming Child(base, key).
inline auto ReaderFail(const JsonReader& r, const std::string& base) {
  return [&r, base](const std::string& key, const std::string& problem) { r.Fail(Child(base, key), problem); };
}

template <typename T>
nlohmann::json FieldsToJson(const std::vector<Field<T>>& fields, const T& p) {
  nlohmann::json out = nlohmann::json::object();
  for (const Field<T>& f : fields) {
    if (!Applies(fields, f, p)) continue;
    const FieldValue v = f.get(p);
    if (f.omit_empty && std::get<std::string>(v).empty()) continue;
    nlohmann::json* at = &out;
    for (const std::string& k : SplitKey(f.key)) at = &(*at)[k];
    *at = ValueToJson(v, f.type, f.choices);
  }
  return out;
}

// The fields under `path` ("adc" or "adc.bits": the field itself, or every field of the object).
template <typename T>
std::vector<size_t> FieldsUnder(const std::vector<Field<T>>& fields, const std::string& path) {
  std::vector<size_t> out;
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].key == path || fields[i].key.compare(0, path.size() + 1, path + ".") == 0) out.push_back(i);
  return out;
}

}  // namespace cimsim
