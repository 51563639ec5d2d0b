#include "experiments/config_convert.h"

#include <cmath>
#include <stdexcept>

#include "experiments/config_file.h"
#include "experiments/json_reader.h"
#include "experiments/yaml_document.h"

namespace cimsim {

namespace {

nlohmann::ordered_json ParseOrdered(const std::string& text, const std::string& path) {
  if (FormatOfPath(path) == ConfigFormat::kYaml) return ParseYamlText(text, path).json;
  return ParseOrderedJsonText(text, path);
}

}  // namespace

bool SameDocument(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
  // Integers compare by value: JSON text cannot tell a signed 0 ("-0") from an unsigned one.
  if (a.is_number_integer() && b.is_number_integer()) return a == b;
  if (a.type() != b.type()) return false;
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    auto ib = b.begin();
    for (auto ia = a.begin(); ia != a.end(); ++ia, ++ib)
      if (ia.key() != ib.key() || !SameDocument(ia.value(), ib.value())) return false;
    return true;
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!SameDocument(a[i], b[i])) return false;
    return true;
  }
  if (a.is_number_float()) {  // bitwise: -0.0 and 0.0 differ
    const double x = a.get<double>(), y = b.get<double>();
    return std::signbit(x) == std::signbit(y) && x == y;
  }
  return a == b;
}

std::string ConvertConfigText(const std::string& text, const std::string& in_path, const std::string& out_path) {
  const nlohmann::ordered_json doc = ParseOrdered(text, in_path);
  const std::string out = FormatOfPath(out_path) == ConfigFormat::kYaml ? WriteYamlText(doc) : doc.dump(2) + "\n";
  if (!SameDocument(ParseOrdered(out, out_path), doc))
    throw std::logic_error("cimsim config convert: " + out_path + " would not read back as " + in_path + "'s document");
  return out;
}

}  // namespace cimsim
