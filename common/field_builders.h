// field_builders.h — short ways to write the entries of a field table (common/field_table.h).
//
// Each builder takes the key, a member reference `ref` — a generic lambda returning a reference to the
// member, `[](auto& p) -> auto& { return p.adc.bits; }`, which serves both get (const T&) and set
// (T&) — the range or choices, the unit and the one-line doc. When(...) and Required(...) add the
// applicability and the "needed when its selector changes" note to a built entry.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/field_table.h"

namespace cimsim {

template <typename T, typename Ref>
Field<T> BoolField(std::string key, Ref ref, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kBool;
  f.get = [ref](const T& p) { return FieldValue(static_cast<bool>(ref(p))); };
  f.set = [ref](T& p, const FieldValue& v) { ref(p) = std::get<bool>(v); };
  f.doc = std::move(doc);
  return f;
}

// An integer member (int, int64_t); values are carried as int64_t.
template <typename T, typename Ref>
Field<T> IntField(std::string key, Ref ref, FieldRange range, std::string unit, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kInt;
  f.get = [ref](const T& p) { return FieldValue(static_cast<int64_t>(ref(p))); };
  f.set = [ref](T& p, const FieldValue& v) {
    using M = std::remove_reference_t<decltype(ref(p))>;
    ref(p) = static_cast<M>(std::get<int64_t>(v));
  };
  f.range = std::move(range);
  f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}

template <typename T, typename Ref>
Field<T> UnsignedField(std::string key, Ref ref, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kUnsigned;
  f.get = [ref](const T& p) { return FieldValue(static_cast<uint64_t>(ref(p))); };
  f.set = [ref](T& p, const FieldValue& v) { ref(p) = std::get<uint64_t>(v); };
  f.doc = std::move(doc);
  return f;
}

template <typename T, typename Ref>
Field<T> NumberField(std::string key, Ref ref, FieldRange range, std::string unit, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kNumber;
  f.get = [ref](const T& p) { return FieldValue(static_cast<double>(ref(p))); };
  f.set = [ref](T& p, const FieldValue& v) { ref(p) = std::get<double>(v); };
  f.range = std::move(range);
  f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}

template <typename T, typename Ref>
Field<T> NumbersField(std::string key, Ref ref, std::string unit, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kNumbers;
  f.get = [ref](const T& p) { return FieldValue(ref(p)); };
  f.set = [ref](T& p, const FieldValue& v) { ref(p) = std::get<std::vector<double>>(v); };
  f.unit = std::move(unit);
  f.doc = std::move(doc);
  return f;
}

// An enum member whose values are 0 .. N−1; `names` are their config spellings in that order; `noun`
// names the kind of value in messages ("an ADC range").
template <typename T, typename Ref>
Field<T> ChoiceField(std::string key, Ref ref, std::vector<std::string> names, std::string noun, std::string doc) {
  Field<T> f;
  f.key = std::move(key);
  f.type = FieldType::kChoice;
  f.get = [ref](const T& p) { return FieldValue(static_cast<int64_t>(ref(p))); };
  f.set = [ref](T& p, const FieldValue& v) {
    using M = std::remove_reference_t<decltype(ref(p))>;
    ref(p) = static_cast<M>(std::get<int64_t>(v));
  };
  f.choices = std::move(names);
  f.noun = std::move(noun);
  f.doc = std::move(doc);
  return f;
}

// The config spellings of enum values 0 .. count−1 by their ToString.
template <typename Enum>
std::vector<std::string> EnumNames(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.emplace_back(ToString(static_cast<Enum>(i)));
  return names;
}

template <typename T>
Field<T> When(Field<T> f, std::string selector, std::vector<std::string> values, std::string here_prefix = "",
              std::type_identity_t<std::function<std::string(const T&)>> origin = nullptr) {
  f.when = {std::move(selector), std::move(values), std::move(here_prefix), std::move(origin)};
  return f;
}

// A field of a nested struct Inner (its own table) as a field of Outer, reached through inner(outer)
// (a lambda returning Inner&; called on const and non-const Outer): the same key, range and doc, so a
// struct embedded in another is still described once. The field must not depend on a selector.
template <typename Outer, typename Inner, typename Access>
Field<Outer> Nested(const Field<Inner>& f, Access inner) {
  Field<Outer> g;
  g.key = f.key;
  g.type = f.type;
  g.get = [get = f.get, inner](const Outer& o) { return get(inner(const_cast<Outer&>(o))); };
  g.set = [set = f.set, inner](Outer& o, const FieldValue& v) { set(inner(o), v); };
  g.range = f.range;
  g.choices = f.choices;
  g.noun = f.noun;
  g.required = f.required;
  g.example = f.example;
  g.unit = f.unit;
  g.doc = f.doc;
  g.omit_empty = f.omit_empty;
  g.overflow_names_range = f.overflow_names_range;
  return g;
}

template <typename T>
Field<T> Required(Field<T> f, std::string note) {
  f.required = std::move(note);
  return f;
}

}  // namespace cimsim
