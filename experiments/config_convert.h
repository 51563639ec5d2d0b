// config_convert.h — a config file rewritten in the other format (cimsim config convert).
//
// JSON ↔ YAML (either way, or into the same format to normalise it), the whole file: every section,
// keys in their order, each value with its JSON type (an integer stays an integer, 1.0 a float, a
// string that looks like a number stays quoted). The result is read back and must give the same
// document, type for type (a failure there is a bug: std::logic_error). YAML comments are not kept.
// Only the format is checked: the settings are validated by the command that reads them.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cimsim {

// `text` (the content of `in_path`) in the format of `out_path` (config_file.h FormatOfPath). InputError
// when text is not a valid document of in_path's format.
std::string ConvertConfigText(const std::string& text, const std::string& in_path, const std::string& out_path);

// The same document: equal values of the same JSON types (integers by value, signed or not; floats
// bitwise up to NaN), object keys in the same order.
bool SameDocument(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);

}  // namespace cimsim
