#include "experiments/xbar_config.h"

#include <stdexcept>

#include "common/error.h"
#include "common/streams.h"
#include "experiments/config_file.h"
#include "experiments/crossbar_config_json.h"
#include "experiments/device_config_json.h"
#include "experiments/external_chip_json.h"
#include "hil/external_chip.h"
#include "experiments/json_reader.h"
#include "experiments/xbar_fields.h"
#include "sim/crossbar_core.h"

namespace cimsim {

XbarConfig ParseXbarConfig(const nlohmann::json& j, const std::string& source) {
  return BuildXbarConfig(ReadXbarInputs(j, source), source);
}

XbarConfig LoadXbarConfig(const std::string& path) {
  const ConfigDocument doc = ReadConfigFile(path, ConfigKind::kChip);
  return AnnotatingErrors(doc, [&] { return ParseXbarConfig(doc.json, path); });
}

nlohmann::json XbarConfigToJson(const XbarConfig& c) {
  if (c.external) return {{"seed", c.seed}, {"external", ExternalChipToJson(*c.external)}};
  return {{"seed", c.seed}, {"device", DeviceParamsToJson(c.device)}, {"crossbar", CrossbarParamsToJson(c.crossbar)}};
}

namespace {

MvmCoreFactory ExternalCoreFactory(const XbarConfig& config) {
  hil::ExternalChipParams params = *config.external;
  if (!params.options.contains("program_seed")) params.options["program_seed"] = config.seed;
  const std::string where = (config.source.empty() ? "" : config.source + ": ") + "external";
  // Opened at the first layer, shared by every layer (and by copies of the factory).
  auto session = std::make_shared<std::shared_ptr<hil::ExternalChip>>();
  return [session, params, where](const QNode& node, int /*index*/) -> std::unique_ptr<MvmCore> {
    if (!*session) *session = hil::ExternalChip::Open(params, where);
    return (*session)->Program(node.name, std::span<const int16_t>(node.weights), node.out_channels, node.Depth(),
                               node.CoreWeightBits(), CodeRange{node.InputMin(), node.InputMax()});
  };
}

}  // namespace

MvmCoreFactory ChipCoreFactory(const XbarConfig& config) {
  if (config.external) return ExternalCoreFactory(config);
  const uint64_t seed = config.seed;
  return ChipCoreFactory(config, [seed](int index) { return ChipProgramStream(seed, index); });
}

MvmCoreFactory ChipCoreFactory(const XbarConfig& config, const std::function<Rng(int node)>& program_stream) {
  if (config.external)
    throw std::logic_error("ChipCoreFactory: an external chip is programmed by its server, not from a stream");
  const std::string prefix = config.source.empty() ? "" : config.source + ": ";
  auto device = std::make_shared<const DeviceModel>(config.device, prefix + "device");
  return [device, config, prefix, program_stream](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    const int32_t x_lo = node.InputMin(), x_hi = node.InputMax();
    Rng program = program_stream(index);
    return std::make_unique<CrossbarCore>(std::span<const int16_t>(node.weights), node.out_channels, node.Depth(),
                                          node.CoreWeightBits(), x_lo, x_hi, *device, config.crossbar, program,
                                          prefix + "crossbar (layer " + node.name + ")");
  };
}

}  // namespace cimsim
