#include "experiments/yaml_document.h"

#include <cctype>
#include <optional>
#include <string_view>
#include <unordered_set>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "common/error.h"
#include "experiments/json_reader.h"

namespace cimsim {

using nlohmann::ordered_json;

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The JSON spelling of a YAML 1.2 core-schema integer or float ("+1" → "1", "007" → "7", ".5" → "0.5",
// "1." → "1.0"), or nothing when s is not one.
std::optional<std::string> JsonNumberText(std::string_view s) {
  size_t i = 0;
  std::string out;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    if (s[i] == '-') out += '-';
    ++i;
  }
  const size_t int_begin = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  std::string_view int_digits = s.substr(int_begin, i - int_begin);
  bool has_dot = false;
  std::string_view frac;
  if (i < s.size() && s[i] == '.') {
    has_dot = true;
    const size_t frac_begin = ++i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    frac = s.substr(frac_begin, i - frac_begin);
  }
  if (int_digits.empty() && frac.empty()) return std::nullopt;
  std::string exponent;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    exponent = "e";
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) exponent += s[i++];
    const size_t exp_begin = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == exp_begin) return std::nullopt;
    exponent += s.substr(exp_begin, i - exp_begin);
  }
  if (i != s.size()) return std::nullopt;
  while (int_digits.size() > 1 && int_digits[0] == '0') int_digits.remove_prefix(1);
  out += int_digits.empty() ? "0" : std::string(int_digits);
  if (has_dot) out += "." + (frac.empty() ? std::string("0") : std::string(frac));
  return out + exponent;
}

enum class PlainKind { kNull, kTrue, kFalse, kNumber, kNonFinite, kString };

PlainKind ClassifyPlain(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return PlainKind::kNull;
  if (s == "true" || s == "True" || s == "TRUE") return PlainKind::kTrue;
  if (s == "false" || s == "False" || s == "FALSE") return PlainKind::kFalse;
  std::string_view unsigned_part = s;
  if (!unsigned_part.empty() && (unsigned_part[0] == '-' || unsigned_part[0] == '+')) unsigned_part.remove_prefix(1);
  if (unsigned_part == ".inf" || unsigned_part == ".Inf" || unsigned_part == ".INF" || s == ".nan" || s == ".NaN" ||
      s == ".NAN")
    return PlainKind::kNonFinite;
  return JsonNumberText(s) ? PlainKind::kNumber : PlainKind::kString;
}

// Offset of the first byte that is not UTF-8, or of a control character other than tab, LF, CR.
std::optional<size_t> FirstBadByte(const std::string& text, std::string& why) {
  const auto* b = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = b[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        why = "control character " + std::to_string(c) + " (YAML text may hold tab, line feed and carriage return only)";
        return i;
      }
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0, min = 0;
    if ((c & 0xe0) == 0xc0) len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) len = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) len = 4, cp = c & 0x07, min = 0x10000;
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (b[i + k] & 0xc0) == 0x80;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if (!ok || cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      why = "byte " + std::to_string(c) + " is not UTF-8 (a YAML config is UTF-8 text)";
      return i;
    }
    i += len;
  }
  return std::nullopt;
}

int LineOfOffset(const std::string& text, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

// yaml-cpp 0.7 reads a quoted scalar that the end of the text cuts off ("a: \"abc") as if it were closed.
// True when the quoted scalar starting at `pos` (its opening quote) is closed: '"' ends at an unescaped
// '"', '\'' at a ' that is not doubled.
bool QuoteIsClosed(std::string_view text, size_t pos) {
  if (pos >= text.size() || (text[pos] != '"' && text[pos] != '\'')) return true;  // not at a quote: nothing to check
  const char quote = text[pos];
  for (size_t i = pos + 1; i < text.size(); ++i) {
    if (quote == '"' && text[i] == '\\') {
      ++i;
    } else if (text[i] == quote) {
      if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
        ++i;
      } else {
        return true;
      }
    }
  }
  return false;
}

class Converter {
 public:
  Converter(const std::string& source, std::string_view text, std::map<std::string, int>& lines)
      : source_(source), text_(text), lines_(lines) {}

  ordered_json Convert(const YAML::Node& n, const std::string& path, int line, int depth) {
    if (!n.Mark().is_null()) line = n.Mark().line + 1;
    lines_.emplace(path, line);
    if (++values_ > kMaxYamlValues)
      Fail(line, path, "the document expands to more than " + std::to_string(kMaxYamlValues) +
                           " values (aliases?); a cimsim config is a few hundred");
    if (depth > kMaxJsonDepth)
      Fail(line, path, "mappings and sequences nested more than " + std::to_string(kMaxJsonDepth) +
                           " levels deep; a cimsim config is nested a few levels");
    const std::string& tag = n.Tag();
    if (tag == "!" && !n.Mark().is_null() && !QuoteIsClosed(text_, static_cast<size_t>(n.Mark().pos)))
      Fail(line, path, "a quoted string is not closed before the end of the text");
    if (!tag.empty() && tag != "?" && tag != "!" && tag != kStrTag)
      Fail(line, path, "the tag " + tag + " is not supported; write the value plainly (or quoted for a string)");
    switch (n.Type()) {
      case YAML::NodeType::Null:
        return tag == kStrTag || tag == "!" ? ordered_json("") : ordered_json(nullptr);
      case YAML::NodeType::Scalar:
        return Scalar(n.Scalar(), tag, line, path);
      case YAML::NodeType::Sequence: {
        if (tag == kStrTag) Fail(line, path, "!!str on a sequence");
        ordered_json a = ordered_json::array();
        size_t i = 0;
        for (const YAML::Node& child : n) a.push_back(Convert(child, Element(path, i++), line, depth + 1));
        return a;
      }
      case YAML::NodeType::Map: {
        if (tag == kStrTag) Fail(line, path, "!!str on a mapping");
        ordered_json o = ordered_json::object();
        std::unordered_set<std::string> seen;
        for (auto it = n.begin(); it != n.end(); ++it) {
          // Copies: yaml-cpp's it->first and it->second live in a proxy that dies with the expression.
          const YAML::Node key = it->first;
          const YAML::Node value = it->second;
          const int key_line = key.Mark().is_null() ? line : key.Mark().line + 1;
          if (!key.IsScalar())
            Fail(key_line, path, "a key must be a plain or quoted string, not " +
                                     std::string(key.IsNull() ? "empty" : key.IsMap() ? "a mapping" : "a sequence"));
          if (key.Tag() == "!" && !key.Mark().is_null() && !QuoteIsClosed(text_, static_cast<size_t>(key.Mark().pos)))
            Fail(key_line, path, "a quoted key is not closed before the end of the text");
          const std::string& k = key.Scalar();
          const std::string child = Child(path, k);
          if (!seen.insert(k).second) Fail(key_line, child, "duplicate key; each key may appear once per mapping");
          lines_.emplace(child, key_line);
          o[k] = Convert(value, child, key_line, depth + 1);
        }
        return o;
      }
      case YAML::NodeType::Undefined:
        break;
    }
    Fail(line, path, "a value of no YAML type");
  }

 private:
  ordered_json Scalar(const std::string& text, const std::string& tag, int line, const std::string& path) const {
    if (tag == "!" || tag == kStrTag) return text;
    switch (ClassifyPlain(text)) {
      case PlainKind::kNull: return nullptr;
      case PlainKind::kTrue: return true;
      case PlainKind::kFalse: return false;
      case PlainKind::kNonFinite:
        Fail(line, path, text + " is not a finite number; a config holds finite numbers (as JSON does)");
      case PlainKind::kNumber:
        try {
          return ordered_json::parse(*JsonNumberText(text));
        } catch (const ordered_json::exception&) {
          Fail(line, path, Show(text) + " is beyond the range of a double");
        }
      case PlainKind::kString:
        break;
    }
    return text;
  }

  [[noreturn]] void Fail(int line, const std::string& path, const std::string& problem) const {
    throw InputError(source_ + ":" + std::to_string(line) + ": " + (path.empty() ? "" : path + ": ") + problem);
  }

  const std::string& source_;
  std::string_view text_;
  std::map<std::string, int>& lines_;
  size_t values_ = 0;
};

bool IsBlock(const ordered_json& j) { return (j.is_object() || j.is_array()) && !j.empty(); }

// A string as a plain scalar when it reads back as the same string and needs no quoting; otherwise
// double-quoted with JSON's escapes (which YAML's double-quoted style shares).
std::string StringScalar(const std::string& s) {
  bool plain = !s.empty() && (std::isalnum(static_cast<unsigned char>(s[0])) || s[0] == '_' || s[0] == '.' || s[0] == '/');
  for (char c : s)
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' || c == '-' || c == '+');
  if (plain && ClassifyPlain(s) == PlainKind::kString) return s;
  return ordered_json(s).dump();
}

std::string InlineScalar(const ordered_json& j) {
  if (j.is_string()) return StringScalar(j.get<std::string>());
  if (j.is_object()) return "{}";
  if (j.is_array()) return "[]";
  return j.dump();  // null, true/false, numbers as JSON writes them
}

void EmitBlock(const ordered_json& j, size_t indent, std::string& out) {
  const std::string pad(indent, ' ');
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      out += pad + StringScalar(key) + ":";
      if (IsBlock(value)) {
        out += "\n";
        EmitBlock(value, indent + 2, out);
      } else {
        out += " " + InlineScalar(value) + "\n";
      }
    }
    return;
  }
  for (const ordered_json& value : j) {
    if (IsBlock(value)) {
      std::string nested;
      EmitBlock(value, indent + 2, nested);
      out += pad + "- " + nested.substr(indent + 2);
    } else {
      out += pad + "- " + InlineScalar(value) + "\n";
    }
  }
}

}  // namespace

YamlDocument ParseYamlText(const std::string& text, const std::string& source) {
  std::string why;
  if (const std::optional<size_t> bad = FirstBadByte(text, why))
    throw InputError(source + ":" + std::to_string(LineOfOffset(text, *bad)) + ": not valid YAML: " + why);
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::DeepRecursion& e) {
    throw InputError(source + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: nested more than " +
                     std::to_string(e.depth()) + " levels deep (the YAML reader's limit); a cimsim config is nested a few levels");
  } catch (const YAML::Exception& e) {
    const std::string at = e.mark.is_null() ? "" : ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    throw InputError(source + at + ": not valid YAML: " + e.msg);
  }
  if (documents.empty()) throw InputError(source + ": holds no YAML document; a config is one mapping");
  if (documents.size() > 1)
    throw InputError(source + ": holds " + std::to_string(documents.size()) +
                     " YAML documents ('---'); a config file holds one (put the sections of several commands in one mapping)");
  YamlDocument doc;
  Converter converter(source, text, doc.lines);
  doc.json = converter.Convert(documents[0], "", 1, 0);
  return doc;
}

std::string WriteYamlText(const ordered_json& j) {
  if (!IsBlock(j)) return InlineScalar(j) + "\n";
  std::string out;
  EmitBlock(j, 0, out);
  return out;
}

nlohmann::json ToSortedJson(const ordered_json& j) {
  switch (j.type()) {
    case ordered_json::value_t::object: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [key, value] : j.items()) o[key] = ToSortedJson(value);
      return o;
    }
    case ordered_json::value_t::array: {
      nlohmann::json a = nlohmann::json::array();
      for (const ordered_json& value : j) a.push_back(ToSortedJson(value));
      return a;
    }
    case ordered_json::value_t::string: return j.get<std::string>();
    case ordered_json::value_t::boolean: return j.get<bool>();
    case ordered_json::value_t::number_integer: return j.get<int64_t>();
    case ordered_json::value_t::number_unsigned: return j.get<uint64_t>();
    case ordered_json::value_t::number_float: return j.get<double>();
    default: return nullptr;
  }
}

}  // namespace cimsim
