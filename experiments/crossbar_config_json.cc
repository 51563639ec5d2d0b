#include "experiments/crossbar_config_json.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string_view>

#include "common/error.h"
#include "experiments/json_reader.h"

namespace cimsim {
namespace {

using nlohmann::json;

constexpr std::string_view kTopKeys[] = {"rows_max", "cols_max", "mapping",   "slice_bits",
                                         "input",    "adc",      "read_time", "read_noise", "periphery"};
constexpr std::string_view kPeripheryKeys[] = {"gain_sigma", "offset_sigma"};
constexpr std::string_view kInputKeys[] = {"mode", "dac_bits", "slice_bits"};
constexpr std::string_view kAdcKeys[] = {"bits", "range", "fixed_range"};

constexpr CrossbarMapping kMappings[] = {CrossbarMapping::kDifferential, CrossbarMapping::kOffset};
constexpr InputMode kModes[] = {InputMode::kDac, InputMode::kBitSerial};
constexpr AdcRange kRanges[] = {AdcRange::kMax, AdcRange::kFixed, AdcRange::kCalibrated};

// Every error is "<where>.<path>: <problem>".
class Reader : public JsonReader {
 public:
  explicit Reader(const std::string& where) : JsonReader(where, ".") {}

  // `key` of object j at `path` may only appear when `ok` (the object's mode/range allows it).
  void OnlyWith(const json& j, const std::string& path, std::string_view key, bool ok, const std::string& rule) const {
    if (j.contains(key) && !ok) Fail(Child(path, key), "only allowed with " + rule);
  }
};

void ReadInput(const Reader& r, const json& j, InputParams& input) {
  const std::string path = "input";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kInputKeys);
  if (j.contains("mode")) input.mode = r.Choice(j["mode"], Child(path, "mode"), kModes, "an input mode");
  const std::string mode = "\"mode\": \"" + std::string(ToString(input.mode)) + "\"";
  r.OnlyWith(j, path, "dac_bits", input.mode == InputMode::kDac, "\"mode\": \"dac\" (the mode here is " + mode + ")");
  r.OnlyWith(j, path, "slice_bits", input.mode == InputMode::kBitSerial,
             "\"mode\": \"bit_serial\" (the mode here is " + mode + ")");
  if (j.contains("dac_bits")) input.dac_bits = r.Int(j["dac_bits"], Child(path, "dac_bits"));
  if (j.contains("slice_bits")) input.slice_bits = r.Int(j["slice_bits"], Child(path, "slice_bits"));
}

void ReadAdc(const Reader& r, const json& j, AdcParams& adc) {
  const std::string path = "adc";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kAdcKeys);
  if (j.contains("bits")) adc.bits = r.Int(j["bits"], Child(path, "bits"));
  if (j.contains("range")) adc.range = r.Choice(j["range"], Child(path, "range"), kRanges, "an ADC range");
  r.OnlyWith(j, path, "fixed_range", adc.range == AdcRange::kFixed,
             "\"range\": \"fixed\" (the range here is \"" + std::string(ToString(adc.range)) + "\")");
  if (adc.range == AdcRange::kFixed && !j.contains("fixed_range")) {
    r.Fail(Child(path, "fixed_range"), "missing; \"range\": \"fixed\" needs it (the full scale in integer units)");
  }
  if (j.contains("fixed_range")) adc.fixed_range = r.Number(j["fixed_range"], Child(path, "fixed_range"));
}

void ReadPeriphery(const Reader& r, const json& j, PeripheryParams& periphery) {
  const std::string path = "periphery";
  r.RequireObject(j, path);
  r.CheckKeys(j, path, kPeripheryKeys);
  if (j.contains("gain_sigma")) periphery.gain_sigma = r.Number(j["gain_sigma"], Child(path, "gain_sigma"));
  if (j.contains("offset_sigma")) periphery.offset_sigma = r.Number(j["offset_sigma"], Child(path, "offset_sigma"));
}

}  // namespace

CrossbarParams ParseCrossbarConfig(const json& j, const std::string& where) {
  const Reader r(where);
  r.RequireObject(j, "");
  r.CheckKeys(j, "", kTopKeys);
  CrossbarParams p;
  if (j.contains("rows_max")) p.rows_max = r.Int(j["rows_max"], "rows_max");
  if (j.contains("cols_max")) p.cols_max = r.Int(j["cols_max"], "cols_max");
  if (j.contains("mapping")) p.mapping = r.Choice(j["mapping"], "mapping", kMappings, "a mapping");
  if (j.contains("slice_bits")) p.slice_bits = r.Int(j["slice_bits"], "slice_bits");
  if (j.contains("input")) ReadInput(r, j["input"], p.input);
  if (j.contains("adc")) ReadAdc(r, j["adc"], p.adc);
  if (j.contains("read_time")) p.read_time = r.Number(j["read_time"], "read_time");
  if (j.contains("read_noise")) p.read_noise = r.Bool(j["read_noise"], "read_noise");
  if (j.contains("periphery")) ReadPeriphery(r, j["periphery"], p.periphery);
  p.Validate(where);
  return p;
}

json CrossbarParamsToJson(const CrossbarParams& p) {
  json input = {{"mode", std::string(ToString(p.input.mode))}};
  if (p.input.mode == InputMode::kDac) {
    input["dac_bits"] = p.input.dac_bits;
  } else {
    input["slice_bits"] = p.input.slice_bits;
  }
  json adc = {{"bits", p.adc.bits}, {"range", std::string(ToString(p.adc.range))}};
  if (p.adc.range == AdcRange::kFixed) adc["fixed_range"] = p.adc.fixed_range;
  return {{"rows_max", p.rows_max},
          {"cols_max", p.cols_max},
          {"mapping", std::string(ToString(p.mapping))},
          {"slice_bits", p.slice_bits},
          {"input", std::move(input)},
          {"adc", std::move(adc)},
          {"read_time", p.read_time},
          {"read_noise", p.read_noise},
          {"periphery", {{"gain_sigma", p.periphery.gain_sigma}, {"offset_sigma", p.periphery.offset_sigma}}}};
}

}  // namespace cimsim
