// xbar_config.h — the simulated chip of `cimsim infer --crossbar xbar.json` (and of calibration):
// which device, which crossbar geometry/mapping/ADC, and the seed of the chip instance.
//
//   {"seed": 1,                                   chip instance: programming noise, faults, drift ν
//    "device": {"preset": "pcm", ...},            docs/devices.md
//    "crossbar": {"rows_max": 128, ...}}          docs/crossbar.md
// or, for a real or emulated chip in another process (hardware in the loop, docs/external_core.md):
//   {"seed": 1, "external": {"command": [...], ...}}    experiments/external_chip_json.h
// Every key is optional (defaults: seed 1, the ideal device, CrossbarParams' defaults); unknown keys
// are errors naming the path. Reading goes through the field tables (experiments/xbar_fields.h, which
// also gives a chip's identity, ChipId). The conv/linear node i of a quantized model is programmed with
// ChipProgramStream(seed, i), so a layer's chip does not depend on which other layers run on CIM;
// `cimsim infer` draws read noise from streams rooted at ChipReadNoiseSeed(seed) (common/streams.h).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/rng.h"
#include "devices/device_model.h"
#include "hil/external_chip_params.h"
#include "nets/integer_network.h"
#include "sim/crossbar_params.h"

namespace cimsim {

struct XbarConfig {
  uint64_t seed = 1;
  DeviceParams device;
  CrossbarParams crossbar;
  std::optional<hil::ExternalChipParams> external;   // set: the layers run on an external chip
  std::string source;  // file name, for messages
};

XbarConfig ParseXbarConfig(const nlohmann::json& j, const std::string& source);
XbarConfig LoadXbarConfig(const std::string& path);
nlohmann::json XbarConfigToJson(const XbarConfig& config);

// The chip's core for each conv/linear node: a CrossbarCore programmed from the device and crossbar
// config (validated against each layer: InputError naming the source), or, with "external", an
// ExternalCore programmed on one server session that the factory opens at its first layer and shares
// (the server lives as long as the factory or any of its cores). The factory keeps the device model
// alive.
MvmCoreFactory ChipCoreFactory(const XbarConfig& config);
// The same simulated chip with node i's programming draws from program_stream(i) instead of
// ChipProgramStream(seed, i) (a lifetime run's reprogrammed layers); std::logic_error for an external chip.
MvmCoreFactory ChipCoreFactory(const XbarConfig& config, const std::function<Rng(int node)>& program_stream);

}  // namespace cimsim
