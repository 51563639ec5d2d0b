// field_table.h — one table per parameter struct: each config key written once, with its type,
// allowed range or choices, unit, one-line doc and when it applies. No JSON here (sim/ and devices/
// use it; experiments/field_table_json.h adds the JSON side).
//
// A Field<T> names a key by its path inside the config object ("adc.bits": key "bits" of the nested
// object "adc") and reaches the member through get/set lambdas that carry the value as a FieldValue:
//   kBool bool, kInt int64_t, kUnsigned uint64_t, kNumber double, kNumbers std::vector<double>,
//   kString std::string (optionally one of `choices`), kChoice int64_t (an enum's value; its config
//   spelling is choices[value], so the enum's values must be 0, 1, ... in that order).
// `when` says when a field applies: its selector (another field's key, a kChoice or kString) holds one
// of when.values. A field that does not apply is neither validated nor written, and a config that
// sets it is an error. `required` (a note) marks a field that an input must set when it sets the
// selector to a new value ("missing; \"kind\": \"constant\" needs it (σ in µS)").
//
// The table drives:
//   ValidateFields  every applicable field against its range / choices (Validate(where) of a struct
//                   adds only the checks that involve two fields);
//   ApplyFields     one input's values (field index → value, e.g. read from JSON or swept) applied in
//                   table order: the selector before the fields that depend on it, a preset first;
//   MarkdownTable   the key table of the docs (docs/crossbar.md, docs/devices.md are tested against it).
// Messages: "<where>.<key>: <value> is out of range; allowed <range.text>" (FieldChecker's style).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/field_checker.h"

namespace cimsim {

enum class FieldType { kBool, kInt, kUnsigned, kNumber, kNumbers, kString, kChoice };

using FieldValue = std::variant<bool, int64_t, uint64_t, double, std::vector<double>, std::string>;

// A field's value as text, for messages and docs: 8, 0.05, true, "dac", [1, 2].
std::string FieldValueText(const FieldValue& v, FieldType type, const std::vector<std::string>& choices);

// Allowed values of a kInt or kNumber field: finite, within [lo, hi] (or the open ends), or `also`.
struct FieldRange {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  std::optional<double> also;     // one more allowed value outside the interval (levels: 0 = continuous)
  std::string text;               // "1..24", ">= 0", "[0, 1]": after "allowed " in messages, and in the docs
  bool Contains(double v) const {
    if (!std::isfinite(v)) return false;
    if (also && v == *also) return true;
    return (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};

// Ranges with their usual text.
FieldRange IntRange(int64_t lo, int64_t hi);           // "lo..hi"
FieldRange AtLeast(double lo);                         // ">= lo"
FieldRange Above(double lo);                           // "> lo"
FieldRange Closed(double lo, double hi);               // "[lo, hi]"
FieldRange AnyFinite();                                // "any finite number"
FieldRange WithText(FieldRange r, std::string text);   // the same bounds, another text

template <typename T>
struct FieldWhen {
  std::string selector;                    // the key of the field that decides; "" = always applies
  std::vector<std::string> values;         // the selector's config spellings for which the field applies
  std::string here_prefix;                 // before the current value in "(the mode here is ...)"
  // Where the selector's value came from when the input did not set it (", from the preset \"pcm\"").
  std::function<std::string(const T&)> origin;
};

template <typename T>
struct Field {
  std::string key;                         // path inside the object: "adc.bits"
  FieldType type = FieldType::kNumber;
  std::function<FieldValue(const T&)> get;
  std::function<void(T&, const FieldValue&)> set;
  FieldRange range;                        // kInt, kNumber
  std::vector<std::string> choices;        // kChoice: names by enum value; kString: allowed ("" = any)
  std::string noun;                        // kChoice / kString with choices: "an ADC range"
  FieldWhen<T> when;
  std::string required;                    // non-empty: needed when the selector changes (the note)
  std::string example;                     // kNumbers: the shape in messages, "[c_0, c_1, ...]"
  std::string unit, doc;
  bool omit_empty = false;                 // kString: "" is not written
  bool overflow_names_range = false;       // kInt beyond int: the message names range.text
};

// The last part of a key: "bits" of "adc.bits".
std::string_view KeyLeaf(std::string_view key);

// Index of the field with this key, or nullopt.
template <typename T>
std::optional<size_t> FindField(const std::vector<Field<T>>& fields, std::string_view key) {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].key == key) return i;
  return std::nullopt;
}

// The selector's current spelling ("dac"), or "" when the field always applies.
template <typename T>
std::string SelectorValue(const std::vector<Field<T>>& fields, const Field<T>& f, const T& p) {
  if (f.when.selector.empty()) return "";
  const Field<T>& s = fields[*FindField(fields, f.when.selector)];
  const FieldValue v = s.get(p);
  if (s.type == FieldType::kChoice) {
    const int64_t i = std::get<int64_t>(v);
    return i >= 0 && i < static_cast<int64_t>(s.choices.size()) ? s.choices[static_cast<size_t>(i)] : "?";
  }
  return std::get<std::string>(v);
}

template <typename T>
bool Applies(const std::vector<Field<T>>& fields, const Field<T>& f, const T& p) {
  if (f.when.selector.empty()) return true;
  const std::string v = SelectorValue(fields, f, p);
  for (const std::string& w : f.when.values)
    if (v == w) return true;
  return false;
}

// Checks one field's value against its range or choices: "<v> is out of range; allowed ...",
// "<v> is not a <leaf>; allowed a, b" (an enum outside its names). Empty when fine.
std::string FieldProblem(const FieldValue& v, FieldType type, const FieldRange& range,
                         const std::vector<std::string>& choices, std::string_view key);

// Every applicable field of p, in table order; the first bad one goes to fail(key, problem), which
// throws (an InputError naming the key: FieldChecker::Fail, or a JsonReader's path).
template <typename T, typename Fail>
void ValidateFields(const std::vector<Field<T>>& fields, const T& p, const Fail& fail) {
  for (const Field<T>& f : fields) {
    if (!Applies(fields, f, p)) continue;
    const std::string problem = FieldProblem(f.get(p), f.type, f.range, f.choices, f.key);
    if (!problem.empty()) fail(f.key, problem);
  }
}
template <typename T>
void ValidateFields(const std::vector<Field<T>>& fields, const T& p, const FieldChecker& c) {
  ValidateFields(fields, p, [&c](const std::string& key, const std::string& problem) { c.Fail(key, problem); });
}

// One input's values, by field index.
using FieldValues = std::map<size_t, FieldValue>;

namespace field_table_detail {
std::string Quoted(std::string_view s);
std::string OnlyWith(std::string_view selector, const std::vector<std::string>& values, std::string_view here_prefix,
                     std::string_view current, std::string_view origin);
}  // namespace field_table_detail

// Applies `values` to p in table order. A field that does not apply (by p's state at that point) is
// an error "only allowed with \"<selector>\": \"<v>\" (the <selector> here is \"<current>\"<origin>)";
// after a selector changes, a `required` field that now applies and is not in `values` is an error
// "missing; \"<selector>\": \"<v>\" needs it (<note>)", through fail(key, problem) as in ValidateFields.
// Ranges are not checked here.
template <typename T, typename Fail>
void ApplyFields(const std::vector<Field<T>>& fields, const FieldValues& values, T& p, const Fail& fail) {
  using field_table_detail::Quoted;
  for (size_t i = 0; i < fields.size(); ++i) {
    const auto it = values.find(i);
    if (it == values.end()) continue;
    const Field<T>& f = fields[i];
    if (!Applies(fields, f, p)) {
      const bool selector_set = values.count(*FindField(fields, f.when.selector)) > 0;
      const std::string origin = selector_set || !f.when.origin ? "" : f.when.origin(p);
      fail(f.key, field_table_detail::OnlyWith(KeyLeaf(f.when.selector), f.when.values, f.when.here_prefix,
                                                 SelectorValue(fields, f, p), origin));
    }
    const FieldValue before = f.get(p);
    f.set(p, it->second);
    if (before == f.get(p)) continue;
    for (size_t k = 0; k < fields.size(); ++k) {
      const Field<T>& d = fields[k];
      if (d.required.empty() || d.when.selector != f.key || values.count(k) || !Applies(fields, d, p)) continue;
      fail(d.key, "missing; " + Quoted(KeyLeaf(f.key)) + ": " + Quoted(SelectorValue(fields, d, p)) +
                        " needs it (" + d.required + ")");
    }
  }
}

template <typename T>
void ApplyFields(const std::vector<Field<T>>& fields, const FieldValues& values, T& p, const FieldChecker& c) {
  ApplyFields(fields, values, p, [&c](const std::string& key, const std::string& problem) { c.Fail(key, problem); });
}

// The docs' key table: | key | type, allowed | unit | applies | default | meaning |, one row per field;
// defaults are those of `defaults` (the struct's, or a section's built-in ones).
template <typename T>
std::string MarkdownTable(const std::vector<Field<T>>& fields, const T& defaults);

// The parts of MarkdownTable that do not depend on T, one row.
std::string MarkdownRow(std::string_view key, FieldType type, const FieldRange& range,
                        const std::vector<std::string>& choices, std::string_view unit, std::string_view when_selector,
                        const std::vector<std::string>& when_values, bool required, const std::string& default_text,
                        std::string_view doc);
std::string MarkdownHeader();

template <typename T>
std::string MarkdownTable(const std::vector<Field<T>>& fields, const T& defaults) {
  std::string out = MarkdownHeader();
  for (const Field<T>& f : fields) {
    const bool omit = f.omit_empty && std::get<std::string>(f.get(defaults)).empty();
    const std::string def = omit ? "—" : FieldValueText(f.get(defaults), f.type, f.choices);
    out += MarkdownRow(f.key, f.type, f.range, f.choices, f.unit, f.when.selector, f.when.values, !f.required.empty(),
                       def, f.doc);
  }
  return out;
}

}  // namespace cimsim
