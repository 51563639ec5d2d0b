// yaml_document.h — YAML config text to and from the JSON document every cimsim config reader takes.
//
// A YAML config is read into the same nlohmann::json document its JSON twin gives, value for value
// and type for type, so both go through one schema and one validation (experiments/config_file.h).
// The mapping (YAML 1.2 core schema, restricted to what JSON can hold):
//   mapping → object (keys are strings; a key twice in one mapping is refused, as in JSON)
//   sequence → array
//   quoted scalar, or tagged !!str → string
//   plain scalar: "", ~, null, Null, NULL → null; true/True/TRUE, false/False/FALSE → boolean;
//     [-+]?digits → integer; [-+]?(digits[.digits]|.digits)([eE][-+]?digits) → number; each exactly as the
//     same digits in JSON would be (a non-negative integer is unsigned, 1.0 stays a float, a number beyond
//     a double is refused); .inf and .nan are refused (a JSON config cannot hold them); anything else is a
//     string (so "yes", "on", "0x1F" are strings, as YAML 1.2 has them).
//   other tags (!!binary, !custom ...) → refused.
// Aliases are expanded (a document that grows past kMaxYamlValues values is refused: "billion laughs"),
// nesting is limited to kMaxJsonDepth, the text must be UTF-8 without control characters other than tab,
// line feed and carriage return, and a file holds one document.
//
// Every value's line is kept by key path ("a.b[2].c", the paths JsonReader names), so a validation error
// on a YAML config can name its line (config_file.h).
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace cimsim {

inline constexpr size_t kMaxYamlValues = 1000000;

struct YamlDocument {
  nlohmann::ordered_json json;        // keys in the order the file has them
  std::map<std::string, int> lines;   // key path → 1-based line; "" is the document itself
};

// The document in `text`. InputError "<source>:<line>:<column>: not valid YAML: <why>", or
// "<source>:<line>: <key path>: <problem>" (duplicate key, a tag, .inf, too deep, too large).
YamlDocument ParseYamlText(const std::string& text, const std::string& source);

// YAML block text for j (objects in j's key order); ParseYamlText of it gives back j exactly, types
// included: numbers are written as JSON writes them, a string that would read back as something else
// (or holds spaces, quotes, ':' or '#') is double-quoted with JSON escapes.
std::string WriteYamlText(const nlohmann::ordered_json& j);

// The same document as an nlohmann::json (keys sorted), number types kept.
nlohmann::json ToSortedJson(const nlohmann::ordered_json& j);

}  // namespace cimsim
