// Fuzzes the YAML config reader (experiments/yaml_document.h) and, through it, every config parser: the
// first byte picks the kind (train, qat, quantize, chip, experiment, calibrate), the rest is the YAML
// text, read as file "fuzz.yaml" (sections included) the way `cimsim <command> --config` reads it. Bad
// input must end in InputError; any other exception, crash, hang or sanitizer report is a finding. Also
// checks that every document read converts back: YAML text written from it reads as the same document.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/error.h"
#include "experiments/calibrate_config.h"
#include "experiments/config_convert.h"
#include "experiments/config_file.h"
#include "experiments/experiment_config.h"
#include "experiments/qat_config.h"
#include "experiments/quant_config_json.h"
#include "experiments/train_config.h"
#include "experiments/xbar_config.h"
#include "experiments/yaml_document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  using cimsim::ConfigKind;
  constexpr ConfigKind kKinds[] = {ConfigKind::kTrain, ConfigKind::kQat,        ConfigKind::kQuantize,
                                   ConfigKind::kChip,  ConfigKind::kExperiment, ConfigKind::kCalibrate};
  const ConfigKind kind = kKinds[data[0] % 6];
  try {
    const cimsim::YamlDocument yaml = cimsim::ParseYamlText(text, "fuzz.yaml");
    if (!cimsim::SameDocument(cimsim::ParseYamlText(cimsim::WriteYamlText(yaml.json), "again.yaml").json, yaml.json))
      throw std::logic_error("the YAML written from a document does not read back as it");
    const cimsim::ConfigDocument doc = cimsim::ParseConfigText(text, "fuzz.yaml", kind);
    cimsim::AnnotatingErrors(doc, [&] {
      switch (kind) {
        case ConfigKind::kTrain: cimsim::ParseTrainConfig(doc.json, doc.file); break;
        case ConfigKind::kQat: cimsim::ParseQatConfig(doc.json, doc.file); break;
        case ConfigKind::kQuantize: cimsim::ParseQuantConfig(doc.json, doc.file); break;
        case ConfigKind::kChip: cimsim::ParseXbarConfig(doc.json, doc.file); break;
        case ConfigKind::kExperiment:
          cimsim::ParseExperimentConfig(doc.json, doc.file, cimsim::ConfigFiles::kMayBeAbsent);
          break;
        case ConfigKind::kCalibrate: cimsim::ParseCalibrateConfig(doc.json, doc.file); break;
      }
    });
  } catch (const cimsim::InputError&) {
  }
  return 0;
}
