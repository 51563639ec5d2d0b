#include "experiments/config_file.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/input_file.h"
#include "experiments/json_reader.h"
#include "experiments/yaml_document.h"

namespace cimsim {

namespace {

constexpr ConfigKind kKinds[] = {ConfigKind::kTrain,     ConfigKind::kQat,        ConfigKind::kQuantize,
                                 ConfigKind::kCalibrate, ConfigKind::kExperiment, ConfigKind::kChip};

bool IsSectionName(const std::string& key) {
  return std::any_of(std::begin(kKinds), std::end(kKinds), [&](ConfigKind k) { return key == SectionName(k); });
}

std::string SectionList() {
  std::string out;
  for (ConfigKind k : kKinds) out += (out.empty() ? "" : ", ") + std::string(SectionName(k));
  return out;
}

bool IsPathLike(const std::string& token) {
  if (token.empty()) return false;
  return std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '[' || c == ']' || c == '-';
  });
}

// The key path one level up: "a.b[2]" → "a.b", "a.b" → "a", "a" → "".
std::string Parent(const std::string& path) {
  const size_t cut = path.find_last_of(".[");
  return cut == std::string::npos ? std::string() : path.substr(0, cut);
}

}  // namespace

std::string_view SectionName(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kTrain: return "train";
    case ConfigKind::kQat: return "qat";
    case ConfigKind::kQuantize: return "quantize";
    case ConfigKind::kCalibrate: return "calibrate";
    case ConfigKind::kExperiment: return "experiment";
    case ConfigKind::kChip: return "chip";
  }
  return "?";
}

std::string_view ConfigWhat(ConfigKind kind) {
  switch (kind) {
    case ConfigKind::kTrain: return "training config";
    case ConfigKind::kQat: return "QAT config";
    case ConfigKind::kQuantize: return "quantization config";
    case ConfigKind::kCalibrate: return "calibration config";
    case ConfigKind::kExperiment: return "experiment config";
    case ConfigKind::kChip: return "crossbar config";
  }
  return "config";
}

ConfigFormat FormatOfPath(const std::string& path) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto ends_with = [&](std::string_view suffix) {
    return lower.size() >= suffix.size() && lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml") ? ConfigFormat::kYaml : ConfigFormat::kJson;
}

std::string ConfigDocument::Annotate(const std::string& message) const {
  const std::string prefix = file + ": ";
  if (file.empty() || message.compare(0, prefix.size(), prefix) != 0) return message;
  const std::string rest = message.substr(prefix.size());
  // The leading ": "-separated tokens that look like key paths (never the last: that is the problem).
  std::vector<std::string> tokens;
  for (size_t begin = 0;;) {
    const size_t end = rest.find(": ", begin);
    if (end == std::string::npos) break;
    std::string token = rest.substr(begin, end - begin);
    if (!IsPathLike(token)) break;
    tokens.push_back(std::move(token));
    begin = end + 2;
  }
  std::string key_path;
  for (const std::string& t : tokens) key_path = Child(key_path, t);
  int line = 0;
  for (std::string p = key_path;; p = Parent(p)) {
    const std::string full = section.empty() ? p : p.empty() ? section : Child(section, p);
    if (const auto it = lines.find(full); it != lines.end()) {
      line = it->second;
      break;
    }
    if (p.empty()) break;
  }
  std::string out = file + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
  if (!section.empty()) out += tokens.empty() ? "section " + section + ": " : section + ".";
  return out + rest;
}

std::string ReadConfigText(const std::string& path, std::string_view what) {
  const std::string what_text(what);
  const uint64_t bytes = RequireRegularFile(path, what_text);
  if (bytes > kMaxJsonFileBytes)
    throw InputError(path + ": the " + what_text + " is " + std::to_string(bytes) + " bytes; a config is at most " +
                     std::to_string(kMaxJsonFileBytes) + " bytes");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) throw InputError(path + ": cannot read the " + what_text);
  return text.str();
}

ConfigDocument ParseConfigText(const std::string& text, const std::string& path, ConfigKind kind) {
  ConfigDocument doc;
  doc.file = path;
  if (FormatOfPath(path) == ConfigFormat::kYaml) {
    YamlDocument yaml = ParseYamlText(text, path);
    doc.json = ToSortedJson(yaml.json);
    doc.lines = std::move(yaml.lines);
  } else {
    doc.json = ParseJsonText(text, path);
  }
  if (!doc.json.is_object()) return doc;
  bool sectioned = false;
  for (const auto& [key, value] : doc.json.items()) sectioned = sectioned || IsSectionName(key);
  if (!sectioned) return doc;
  for (const auto& [key, value] : doc.json.items())
    if (!IsSectionName(key))
      throw InputError(doc.Annotate(path + ": " + key + ": not a section; a file with sections holds only " +
                                    SectionList() + " at its top level"));
  const std::string section(SectionName(kind));
  if (!doc.json.contains(section)) {
    std::string present;
    for (const auto& [key, value] : doc.json.items()) present += (present.empty() ? "" : ", ") + key;
    throw InputError(path + ": has the sections " + present + " but no \"" + section + "\" section, which the " +
                     std::string(ConfigWhat(kind)) + " is read from");
  }
  nlohmann::json selected = std::move(doc.json[section]);
  doc.json = std::move(selected);
  doc.section = section;
  return doc;
}

ConfigDocument ReadConfigFile(const std::string& path, ConfigKind kind) {
  return ParseConfigText(ReadConfigText(path, ConfigWhat(kind)), path, kind);
}

}  // namespace cimsim
