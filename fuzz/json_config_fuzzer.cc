// Fuzzes every JSON config parser: the first byte picks the parser (train, qat, quantize, crossbar,
// experiment, calibrate), the rest is the document. Bad input must end in InputError; any other
// exception, crash, hang or sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.h"
#include "experiments/calibrate_config.h"
#include "experiments/experiment_config.h"
#include "experiments/json_reader.h"
#include "experiments/qat_config.h"
#include "experiments/quant_config_json.h"
#include "experiments/train_config.h"
#include "experiments/xbar_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const nlohmann::json j = cimsim::ParseJsonText(text, "fuzz.json");
    switch (data[0] % 6) {
      case 0: cimsim::ParseTrainConfig(j, "fuzz.json"); break;
      case 1: cimsim::ParseQatConfig(j, "fuzz.json"); break;
      case 2: cimsim::ParseQuantConfig(j, "fuzz.json"); break;
      case 3: cimsim::ParseXbarConfig(j, "fuzz.json"); break;
      case 4: cimsim::ParseExperimentConfig(j, "fuzz.json", cimsim::ConfigFiles::kMayBeAbsent); break;
      default: cimsim::ParseCalibrateConfig(j, "fuzz.json"); break;
    }
  } catch (const cimsim::InputError&) {
  }
  return 0;
}
