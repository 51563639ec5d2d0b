// xbar_fields.h — the chip config (XbarConfig) as the values its input sets, and typed setters for
// swept paths.
//
// The chip config has three parts: "seed" (its own entry), "device" (devices/device_fields.h) and
// "crossbar" (sim/crossbar_fields.h). XbarInputs holds what one input sets, already converted to the
// fields' types (JSON is read once); BuildXbarConfig applies it in table order — a device preset
// first, a section's kind before its keys — and validates, with the messages ParseXbarConfig always
// gave ("xbar.json: device.g_min: 30 must be < device.g_max (25)"). Without a "device" object the
// device is the ideal preset (named "ideal"); with one it starts unnamed from DeviceParams{}.
//
// A swept path ("crossbar.adc.bits", "device.preset", "device.drift", "seed") is resolved once to an
// XbarSetter: its part and the fields it replaces (one field, or every field of an object). Each
// value is converted once (XbarValueOf); ApplyXbarValue replaces those fields' values in an
// XbarInputs, exactly as replacing the JSON at that path did, without any JSON.
//
// ChipId: a chip's identity, the 64-bit FNV-1a hash of its canonical JSON (XbarConfigToJson, keys
// sorted, compact), which covers every parameter that applies and the seed, and nothing else (not the
// source file name). Two configs are the same chip iff their canonical JSON is equal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/fnv1a.h"
#include "common/field_table.h"
#include "experiments/json_reader.h"
#include "experiments/xbar_config.h"

namespace cimsim {

struct XbarInputs {
  std::optional<uint64_t> seed;
  std::optional<FieldValues> device;   // nullopt: no "device" object (the ideal preset)
  FieldValues crossbar;
  std::optional<hil::ExternalChipParams> external;   // "external" (experiments/external_chip_json.h)
};

// Structure and types of chip config j; errors name "<source>: <path>" (just the path without source).
XbarInputs ReadXbarInputs(const nlohmann::json& j, const std::string& source);
// The chip, validated; XbarConfig::source = source.
XbarConfig BuildXbarConfig(const XbarInputs& in, const std::string& source);

enum class XbarPart { kSeed, kDevice, kCrossbar };

struct XbarSetter {
  std::string path;              // "crossbar.adc.bits"
  XbarPart part = XbarPart::kSeed;
  std::vector<size_t> fields;    // the part's fields the path covers (empty for the seed)
};

// One swept value, converted: the seed, or the values of the setter's fields.
struct XbarValue {
  uint64_t seed = 0;
  FieldValues values;
};

// The setter of `path`; InputError naming path ("crossbar.adc.gain: unknown key; allowed: bits, range,
// fixed_range") when it is not a key or object of the chip config ("seed", "device.…", "crossbar.…").
XbarSetter ResolveXbarPath(const std::string& path);
// Value v for setter s, converted to its fields' types; InputError naming the path (without source).
XbarValue XbarValueOf(const XbarSetter& s, const nlohmann::json& v);
void ApplyXbarValue(const XbarSetter& s, const XbarValue& v, XbarInputs& in);

uint64_t ChipId(const XbarConfig& config);
// The id of a chip stored as JSON text (e.g. a calibration file's xbar_config): the JSON is read as a chip
// config (keys it lacks take their defaults, so a file written before a key existed keeps its chip) and
// the id is ChipId of that config. InputError naming "stored xbar_config" if it is not a chip config.
uint64_t ChipIdOfJson(const std::string& xbar_json);
// 16 lowercase hex digits.
std::string ChipIdText(uint64_t id);

}  // namespace cimsim
