#include "common/field_table.h"

namespace cimsim {
namespace {

std::string Choices(const std::vector<std::string>& choices, std::string_view quote) {
  std::string out;
  for (const std::string& c : choices) out += (out.empty() ? "" : ", ") + std::string(quote) + c + std::string(quote);
  return out;
}

std::string DocChoices(const std::vector<std::string>& choices) {
  std::string out;
  for (const std::string& c : choices) out += (out.empty() ? "" : ", ") + ("`\"" + c + "\"`");
  return out;
}

std::string TypeText(FieldType type, const FieldRange& range, const std::vector<std::string>& choices) {
  switch (type) {
    case FieldType::kBool: return "boolean";
    case FieldType::kInt: return "integer " + range.text;
    case FieldType::kUnsigned: return "integer 0..2^64 − 1";
    case FieldType::kNumber: return range.text.rfind("any ", 0) == 0 ? range.text : "number " + range.text;
    case FieldType::kNumbers: return "array of numbers";
    case FieldType::kString: return choices.empty() ? "string" : DocChoices(choices);
    case FieldType::kChoice: return DocChoices(choices);
  }
  return "?";
}

}  // namespace

namespace field_table_detail {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string OnlyWith(std::string_view selector, const std::vector<std::string>& values, std::string_view here_prefix,
                     std::string_view current, std::string_view origin) {
  std::string names;
  for (const std::string& v : values) names += (names.empty() ? "" : " or ") + Quoted(v);
  return "only allowed with " + Quoted(selector) + ": " + names + " (the " + std::string(selector) + " here is " +
         std::string(here_prefix) + Quoted(current) + std::string(origin) + ")";
}

}  // namespace field_table_detail

std::string_view KeyLeaf(std::string_view key) {
  const size_t dot = key.rfind('.');
  return dot == std::string_view::npos ? key : key.substr(dot + 1);
}

std::string FieldValueText(const FieldValue& v, FieldType type, const std::vector<std::string>& choices) {
  switch (type) {
    case FieldType::kBool: return std::get<bool>(v) ? "true" : "false";
    case FieldType::kInt: return std::to_string(std::get<int64_t>(v));
    case FieldType::kUnsigned: return std::to_string(std::get<uint64_t>(v));
    case FieldType::kNumber: return ShortestNumber(std::get<double>(v));
    case FieldType::kNumbers: {
      std::string out = "[";
      for (double d : std::get<std::vector<double>>(v)) out += (out.size() > 1 ? ", " : "") + ShortestNumber(d);
      return out + "]";
    }
    case FieldType::kString: return "\"" + std::get<std::string>(v) + "\"";
    case FieldType::kChoice: {
      const int64_t i = std::get<int64_t>(v);
      return i >= 0 && i < static_cast<int64_t>(choices.size()) ? "\"" + choices[static_cast<size_t>(i)] + "\""
                                                                : std::to_string(i);
    }
  }
  return "?";
}

FieldRange IntRange(int64_t lo, int64_t hi) {
  FieldRange r;
  r.lo = static_cast<double>(lo);
  r.hi = static_cast<double>(hi);
  r.text = std::to_string(lo) + ".." + std::to_string(hi);
  return r;
}

FieldRange AtLeast(double lo) {
  FieldRange r;
  r.lo = lo;
  r.text = ">= " + ShortestNumber(lo);
  return r;
}

FieldRange Above(double lo) {
  FieldRange r;
  r.lo = lo;
  r.lo_open = true;
  r.text = "> " + ShortestNumber(lo);
  return r;
}

FieldRange Closed(double lo, double hi) {
  FieldRange r;
  r.lo = lo;
  r.hi = hi;
  r.text = "[" + ShortestNumber(lo) + ", " + ShortestNumber(hi) + "]";
  return r;
}

FieldRange AnyFinite() {
  FieldRange r;
  r.text = "any finite number";
  return r;
}

FieldRange WithText(FieldRange r, std::string text) {
  r.text = std::move(text);
  return r;
}

std::string FieldProblem(const FieldValue& v, FieldType type, const FieldRange& range,
                         const std::vector<std::string>& choices, std::string_view key) {
  switch (type) {
    case FieldType::kInt: {
      const int64_t i = std::get<int64_t>(v);
      if (!range.Contains(static_cast<double>(i)))
        return std::to_string(i) + " is out of range; allowed " + range.text;
      return "";
    }
    case FieldType::kNumber: {
      const double d = std::get<double>(v);
      if (!range.Contains(d)) return ShortestNumber(d) + " is out of range; allowed " + range.text;
      return "";
    }
    case FieldType::kChoice: {
      const int64_t i = std::get<int64_t>(v);
      if (i < 0 || i >= static_cast<int64_t>(choices.size()))
        return std::to_string(i) + " is not a " + std::string(KeyLeaf(key)) + "; allowed " + Choices(choices, "");
      return "";
    }
    case FieldType::kString: {
      const std::string& s = std::get<std::string>(v);
      if (s.empty() || choices.empty()) return "";
      for (const std::string& c : choices)
        if (s == c) return "";
      return "\"" + s + "\" is not one of " + Choices(choices, "");
    }
    case FieldType::kBool:
    case FieldType::kUnsigned:
    case FieldType::kNumbers:
      return "";
  }
  return "";
}

std::string MarkdownHeader() {
  return "| key | type, allowed | unit | applies | default | meaning |\n|---|---|---|---|---|---|\n";
}

std::string MarkdownRow(std::string_view key, FieldType type, const FieldRange& range,
                        const std::vector<std::string>& choices, std::string_view unit, std::string_view when_selector,
                        const std::vector<std::string>& when_values, bool required, const std::string& default_text,
                        std::string_view doc) {
  std::string applies = "always";
  if (!when_selector.empty()) {
    applies = "`" + std::string(when_selector) + "` = ";
    std::string values;
    for (const std::string& v : when_values) values += (values.empty() ? "" : " or ") + ("`" + v + "`");
    applies += values + (required ? " (required there)" : "");
  }
  std::string def = default_text;
  if (type == FieldType::kChoice || type == FieldType::kString) def = "`" + def + "`";
  if (default_text == "—") def = "—";
  // A "|" inside a cell would end it.
  const auto cell = [](std::string text) {
    for (size_t at = text.find('|'); at != std::string::npos; at = text.find('|', at + 2)) text.insert(at, "\\");
    return text;
  };
  return "| `" + std::string(key) + "` | " + cell(TypeText(type, range, choices)) + " | " +
         (unit.empty() ? "—" : cell(std::string(unit))) + " | " + applies + " | " + cell(def) + " | " +
         cell(std::string(doc)) + " |\n";
}

}  // namespace cimsim
