// The "crossbar" config object: defaults, every key, the documented example, keys of another mode,
// the exact path and problem in every rejection (a table), and the round trip through
// CrossbarParamsToJson.
#include "experiments/crossbar_config_json.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using nlohmann::json;
using testing::HasPart;
using testing::InputErrorOf;

constexpr const char* kWhere = "xbar.json: crossbar";

CrossbarParams Parse(const std::string& text) { return ParseCrossbarConfig(json::parse(text), kWhere); }

TEST(CrossbarConfigJsonTest, AnEmptyObjectIsTheDefaults) { EXPECT_EQ(Parse("{}"), CrossbarParams{}); }

// The example of docs/crossbar.md.
TEST(CrossbarConfigJsonTest, EveryKeyAndTheDocumentedExample) {
  const CrossbarParams p = Parse(R"({"rows_max": 256, "cols_max": 256, "mapping": "offset", "slice_bits": 2,
      "devices_per_cell": 2, "input": {"mode": "bit_serial", "slice_bits": 2},
      "adc": {"bits": 6, "range": "calibrated"},
      "read_time": 3600, "read_noise": false, "periphery": {"gain_sigma": 0.05, "offset_sigma": 0.01}})");
  CrossbarParams expected;
  expected.rows_max = 256;
  expected.cols_max = 256;
  expected.mapping = CrossbarMapping::kOffset;
  expected.slice_bits = 2;
  expected.devices_per_cell = 2;
  expected.input.slice_bits = 2;
  expected.adc.bits = 6;
  expected.adc.range = AdcRange::kCalibrated;
  expected.read_time = 3600;
  expected.read_noise = false;
  expected.periphery = {0.05, 0.01};
  EXPECT_EQ(p, expected);

  const CrossbarParams dac =
      Parse(R"({"input": {"mode": "dac", "dac_bits": 9}, "adc": {"range": "fixed", "fixed_range": 5000.5}})");
  EXPECT_EQ(dac.input.mode, InputMode::kDac);
  EXPECT_EQ(dac.input.dac_bits, 9);
  EXPECT_EQ(dac.input.slice_bits, 1);   // untouched default
  EXPECT_EQ(dac.adc.range, AdcRange::kFixed);
  EXPECT_EQ(dac.adc.fixed_range, 5000.5);
  EXPECT_EQ(Parse(R"({"rows_max": 64.0})").rows_max, 64);   // an integral number written as a float
}

TEST(CrossbarConfigJsonTest, EveryRejectionNamesThePathAndTheProblem) {
  struct Bad {
    std::string text, message;
  };
  const std::vector<Bad> table = {
      {R"([1, 2])", "xbar.json: crossbar: expected an object {...}, got [1,2]"},
      {R"({"rows": 128})",
       "xbar.json: crossbar.rows: unknown key; allowed: rows_max, cols_max, mapping, slice_bits, devices_per_cell, "
       "full_range_slices, replicate_rows, input, adc, read_time, read_noise, periphery"},
      {R"({"rows_max": "128"})", "xbar.json: crossbar.rows_max: expected an integer, got \"128\""},
      {R"({"rows_max": 12.5})", "xbar.json: crossbar.rows_max: expected an integer, got 12.5"},
      {R"({"rows_max": 0})", "xbar.json: crossbar.rows_max: 0 is out of range; allowed 1..65536"},
      {R"({"cols_max": 1e12})", "xbar.json: crossbar.cols_max: 1000000000000.0 is out of range for an integer"},
      {R"({"mapping": "pairs"})", "xbar.json: crossbar.mapping: \"pairs\" is not a mapping; allowed differential, offset"},
      {R"({"slice_bits": 17})", "xbar.json: crossbar.slice_bits: 17 is out of range; allowed 0..16"},
      {R"({"devices_per_cell": 0})", "xbar.json: crossbar.devices_per_cell: 0 is out of range; allowed 1..16"},
      {R"({"devices_per_cell": 17})", "xbar.json: crossbar.devices_per_cell: 17 is out of range; allowed 1..16"},
      {R"({"input": 3})", "xbar.json: crossbar.input: expected an object {...}, got 3"},
      {R"({"input": {"bits": 8}})", "xbar.json: crossbar.input.bits: unknown key; allowed: mode, dac_bits, slice_bits"},
      {R"({"input": {"mode": "pwm"}})",
       "xbar.json: crossbar.input.mode: \"pwm\" is not an input mode; allowed dac, bit_serial"},
      {R"({"input": {"dac_bits": 8}})",
       "xbar.json: crossbar.input.dac_bits: only allowed with \"mode\": \"dac\" (the mode here is \"mode\": "
       "\"bit_serial\")"},
      {R"({"input": {"mode": "dac", "slice_bits": 2}})",
       "xbar.json: crossbar.input.slice_bits: only allowed with \"mode\": \"bit_serial\""},
      {R"({"input": {"mode": "dac", "dac_bits": 0}})", "xbar.json: crossbar.input.dac_bits: 0 is out of range; allowed 1..16"},
      {R"({"input": {"slice_bits": 17}})", "xbar.json: crossbar.input.slice_bits: 17 is out of range; allowed 1..16"},
      {R"({"adc": {"bits": 40}})", "xbar.json: crossbar.adc.bits: 40 is out of range; allowed 1..24"},
      {R"({"adc": {"bits": true}})", "xbar.json: crossbar.adc.bits: expected an integer, got true"},
      {R"({"adc": {"range": "auto"}})",
       "xbar.json: crossbar.adc.range: \"auto\" is not an ADC range; allowed max, fixed, calibrated"},
      {R"({"adc": {"fixed_range": 100}})",
       "xbar.json: crossbar.adc.fixed_range: only allowed with \"range\": \"fixed\" (the range here is \"max\")"},
      {R"({"adc": {"range": "fixed"}})",
       "xbar.json: crossbar.adc.fixed_range: missing; \"range\": \"fixed\" needs it (the full scale in integer units)"},
      {R"({"adc": {"range": "fixed", "fixed_range": -2}})",
       "xbar.json: crossbar.adc.fixed_range: -2 is out of range; allowed > 0 (integer units), finite"},
      {R"({"read_time": "1h"})", "xbar.json: crossbar.read_time: expected a number, got \"1h\""},
      {R"({"read_time": -1})", "xbar.json: crossbar.read_time: -1 is out of range; allowed 0..1e12 seconds (30,000 years)"},
      {R"({"read_noise": 1})", "xbar.json: crossbar.read_noise: expected true or false, got 1"},
      {R"({"replicate_rows": 3})", "xbar.json: crossbar.replicate_rows: expected true or false, got 3"},
      {R"({"full_range_slices": "yes"})",
       "xbar.json: crossbar.full_range_slices: expected true or false, got \"yes\""},
      {R"({"periphery": {"gain": 0.05}})",
       "xbar.json: crossbar.periphery.gain: unknown key; allowed: gain_sigma, offset_sigma"},
      {R"({"periphery": {"gain_sigma": "5%"}})", "xbar.json: crossbar.periphery.gain_sigma: expected a number, got \"5%\""},
      {R"({"periphery": {"offset_sigma": -0.1}})",
       "xbar.json: crossbar.periphery.offset_sigma: -0.1 is out of range; allowed 0..1"},
  };
  for (const Bad& bad : table) {
    const std::string message = InputErrorOf([&] { Parse(bad.text); });
    EXPECT_TRUE(HasPart(message, bad.message)) << bad.text;
  }
}

TEST(CrossbarConfigJsonTest, ToJsonWritesEachModesKeysAndRoundTrips) {
  const std::vector<std::string> configs = {
      "{}",
      R"({"rows_max": 256, "cols_max": 64, "mapping": "offset", "slice_bits": 4, "input": {"slice_bits": 2},
          "adc": {"bits": 12, "range": "calibrated"}, "read_time": 86400, "read_noise": false,
          "periphery": {"gain_sigma": 0.5, "offset_sigma": 0.125}})",
      R"({"input": {"mode": "dac", "dac_bits": 10}, "adc": {"range": "fixed", "fixed_range": 2048}})",
  };
  for (const std::string& text : configs) {
    const CrossbarParams p = Parse(text);
    const json j = CrossbarParamsToJson(p);
    EXPECT_EQ(ParseCrossbarConfig(j, kWhere), p) << j.dump();
  }
  const json bs = CrossbarParamsToJson(CrossbarParams{});
  EXPECT_EQ(bs["input"], json::parse(R"({"mode": "bit_serial", "slice_bits": 1})"));
  EXPECT_EQ(bs["adc"], json::parse(R"({"bits": 8, "range": "max"})"));
  EXPECT_EQ(bs["mapping"], "differential");
  EXPECT_EQ(bs["read_noise"], true);
  const json dac = CrossbarParamsToJson(Parse(configs[2]));
  EXPECT_EQ(dac["input"], json::parse(R"({"mode": "dac", "dac_bits": 10})"));
  EXPECT_EQ(dac["adc"], json::parse(R"({"bits": 8, "range": "fixed", "fixed_range": 2048.0})"));
}

}  // namespace
}  // namespace cimsim
