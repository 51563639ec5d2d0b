#include "experiments/config_shapes.h"

#include <filesystem>

namespace cimsim {

std::string ReadModelShape(const JsonReader& r, const nlohmann::json& j, bool must_exist) {
  r.RequireObject(j, "model");
  static constexpr std::string_view kKeys[] = {"qmodel"};
  r.CheckKeys(j, "model", kKeys);
  if (!j.contains("qmodel")) r.Fail("model.qmodel", "required, the quantized model file (cimsim quantize)");
  const std::string qmodel = r.String(j["qmodel"], "model.qmodel");
  if (qmodel.empty()) r.Fail("model.qmodel", "required, the quantized model file (cimsim quantize)");
  std::error_code ec;
  if (must_exist && !std::filesystem::is_regular_file(qmodel, ec)) r.Fail("model.qmodel", "\"" + qmodel + "\" not found");
  return qmodel;
}

XbarShape ReadXbarShape(const JsonReader& r, const nlohmann::json& j) {
  if (j.is_string()) {
    const std::string file = j.get<std::string>();
    std::error_code ec;
    if (file.empty() || !std::filesystem::is_regular_file(file, ec)) r.Fail("xbar", "crossbar config \"" + file + "\" not found");
    ConfigDocument doc = ReadConfigFile(file, ConfigKind::kChip);
    nlohmann::json chip = doc.json;
    return {std::move(chip), file, std::move(doc)};
  }
  return {j, r.Where("xbar"), {}};
}

}  // namespace cimsim
