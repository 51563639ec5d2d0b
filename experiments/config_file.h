// config_file.h — reading a config file of any kind, JSON or YAML, whole or one section of it.
//
// Format: a file named *.yaml or *.yml is YAML (experiments/yaml_document.h); any other is JSON. Both
// give the same nlohmann::json document, so one schema and one validation serve both.
//
// Sections: a file whose top-level keys name commands holds the settings of several of them, and each
// command reads its own section:
//   train: {...}        cimsim train
//   qat: {...}          cimsim qat
//   quantize: {...}     cimsim quantize --config
//   calibrate: {...}    cimsim calibrate --config
//   experiment: {...}   cimsim experiment --config
//   chip: {...}         a crossbar config (--crossbar, "xbar": "FILE", hardware_aware.xbar)
// No config schema has a top-level key of those names, so a file either has sections (then every
// top-level key must be one) or is one config. A command whose section is absent is refused by name.
//
// Errors: the readers' messages name "<file>: <key path>: <problem>"; for a YAML file ConfigDocument::
// Annotate adds the line of the key ("run.yaml:12: quant.default.weight_bits: 9 is out of range; ..."),
// and for a section its name ("all.yaml:30: train.epochs: ...").
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace cimsim {

enum class ConfigKind { kTrain, kQat, kQuantize, kCalibrate, kExperiment, kChip };
// "train", "qat", "quantize", "calibrate", "experiment", "chip"
std::string_view SectionName(ConfigKind kind);
// "training config", "QAT config", ... as messages name the file
std::string_view ConfigWhat(ConfigKind kind);

enum class ConfigFormat { kJson, kYaml };
// kYaml for a name ending in .yaml or .yml (any case), else kJson.
ConfigFormat FormatOfPath(const std::string& path);

struct ConfigDocument {
  nlohmann::json json;                // the config (the section, in a file with sections)
  std::string file;                   // the file, as messages name it; empty for an inline config
  std::string section;                // the section read, or empty
  std::map<std::string, int> lines;   // YAML: key path in the whole file → 1-based line; JSON: empty

  // `message` with the line of the key path it names and the section, when it is an error about this
  // file ("<file>: <key path>: ..."); any other message unchanged.
  std::string Annotate(const std::string& message) const;
};

// The text of config file `path`: a regular file of at most kMaxJsonFileBytes (json_reader.h).
std::string ReadConfigText(const std::string& path, std::string_view what);
// The config of `kind` in `text` (the content of file `path`, whose name sets the format).
ConfigDocument ParseConfigText(const std::string& text, const std::string& path, ConfigKind kind);
ConfigDocument ReadConfigFile(const std::string& path, ConfigKind kind);

// f(), with any InputError it throws annotated by doc.
template <typename F>
decltype(auto) AnnotatingErrors(const ConfigDocument& doc, F&& f) {
  try {
    return f();
  } catch (const InputError& e) {
    throw InputError(doc.Annotate(e.what()));
  }
}

}  // namespace cimsim
