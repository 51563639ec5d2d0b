// The "device" config object: presets then overrides, kind changes (reset and required keys), the
// exact path and problem in every rejection (a table), and the round trip through DeviceParamsToJson.
#include "experiments/device_config_json.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"
#include "devices/device_presets.h"

namespace cimsim {
namespace {

using nlohmann::json;
using testing::HasPart;
using testing::InputErrorOf;

constexpr const char* kWhere = "xbar.json: device";

DeviceParams Parse(const std::string& text) { return ParseDeviceConfig(json::parse(text), kWhere); }

TEST(DeviceConfigJsonTest, APresetAloneIsThePreset) {
  for (std::string_view name : DevicePresetNames()) {
    EXPECT_EQ(Parse("{\"preset\": \"" + std::string(name) + "\"}"), DevicePreset(name)) << name;
  }
  EXPECT_EQ(Parse("{}"), DeviceParams{});   // no preset: the ideal defaults, unnamed
}

// The two examples of docs/devices.md.
TEST(DeviceConfigJsonTest, TheDocumentedExamplesParse) {
  const DeviceParams pcm = Parse(R"({"preset": "pcm", "g_max": 30, "levels": 0,
 "programming_noise": {"coefficients": [0.26348, 1.9650, -1.1731]},
 "read_noise": {"t_read": 250e-9},
 "drift": {"t0": 20, "nu_mean_fit": {"max": 0.1}},
 "stuck_at_min": 0.01, "stuck_at_max": 0.005, "g_max_variation": 0.05})");
  EXPECT_EQ(pcm.g_max, 30.0);
  EXPECT_EQ(pcm.programming, DevicePreset("pcm").programming);
  EXPECT_EQ(pcm.stuck_at_max, 0.005);
  const DeviceParams rram = Parse(R"({"preset": "rram", "levels": 16, "read_noise": {"kind": "proportional", "relative": 0.01},
 "drift": {"kind": "constant_nu", "nu": 0.005, "nu_std": 0.001}})");
  EXPECT_EQ(rram.levels, 16);
  EXPECT_EQ(rram.read.kind, ReadNoiseKind::kProportional);
  EXPECT_EQ(rram.drift.nu_std, 0.001);
}

TEST(DeviceConfigJsonTest, KeysOverrideThePreset) {
  const DeviceParams p = Parse(R"({
      "preset": "pcm", "g_max": 30, "levels": 32.0,
      "programming_noise": {"coefficients": [0.3, 1.5]},
      "read_noise": {"t_read": 1e-6},
      "drift": {"t0": 60, "nu_mean_fit": {"max": 0.12}},
      "stuck_at_min": 0.01, "stuck_at_max": 0.02, "g_max_variation": 0.05})");
  DeviceParams expected = DevicePreset("pcm");
  expected.g_max = 30;
  expected.levels = 32;
  expected.programming.coefficients = {0.3, 1.5};   // variable and g_max_reference stay the preset's
  expected.read.t_read = 1e-6;
  expected.drift.t0 = 60;
  expected.drift.nu_mean_fit.max = 0.12;            // slope, intercept, min stay
  expected.stuck_at_min = 0.01;
  expected.stuck_at_max = 0.02;
  expected.g_max_variation = 0.05;
  EXPECT_EQ(p, expected);
}

TEST(DeviceConfigJsonTest, ANewKindResetsItsSection) {
  const DeviceParams p = Parse(R"({"preset": "pcm",
      "programming_noise": {"kind": "constant", "sigma": 0.5},
      "read_noise": {"kind": "proportional", "relative": 0.01},
      "drift": {"kind": "constant_nu", "nu": 0.05}})");
  ProgrammingNoise programming;
  programming.kind = ProgrammingNoiseKind::kConstant;
  programming.sigma = 0.5;
  EXPECT_EQ(p.programming, programming);
  EXPECT_TRUE(p.programming.coefficients.empty());
  ReadNoise read;
  read.kind = ReadNoiseKind::kProportional;
  read.relative = 0.01;
  EXPECT_EQ(p.read, read);
  Drift drift;
  drift.kind = DriftKind::kConstantNu;
  drift.nu = 0.05;
  EXPECT_EQ(p.drift, drift);
  EXPECT_EQ(p.drift.t0, 20.0);
  EXPECT_EQ(p.g_max, 25.0);   // the rest is still the preset's

  // The same kind named again keeps the preset's values.
  const DeviceParams same = Parse(R"({"preset": "pcm", "drift": {"kind": "pcm", "t0": 30}})");
  EXPECT_EQ(same.drift.nu_std_fit, DevicePreset("pcm").drift.nu_std_fit);
  EXPECT_EQ(same.drift.t0, 30.0);

  // pcm kinds on an ideal device start from the published fits.
  const DeviceParams fits = Parse(R"({"read_noise": {"kind": "pcm_1f"}, "drift": {"kind": "pcm"}})");
  EXPECT_EQ(fits.read, DevicePreset("pcm").read);
  EXPECT_EQ(fits.drift, DevicePreset("pcm").drift);
  EXPECT_EQ(fits.programming.kind, ProgrammingNoiseKind::kNone);
}

struct BadConfig {
  const char* text;
  const char* message;   // after "xbar.json: device"; a trailing "..." matches a prefix
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.text; }

class BadDeviceConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadDeviceConfigTest, NamesThePathAndTheProblem) {
  const BadConfig& c = GetParam();
  const std::string message = InputErrorOf([&] { Parse(c.text); });
  std::string expected = std::string(kWhere) + c.message;
  if (expected.size() > 3 && expected.substr(expected.size() - 3) == "...") {
    expected.resize(expected.size() - 3);
    EXPECT_EQ(message.rfind(expected, 0), 0u) << "message \"" << message << "\" does not start with \"" << expected << "\"";
  } else {
    EXPECT_EQ(message, expected);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadDeviceConfigTest,
    ::testing::Values(
        BadConfig{R"({"g_min": 30})", ".g_min: 30 must be < device.g_max (25)"},
        BadConfig{R"([1, 2])", ": expected an object {...}, got [1,2]"},
        BadConfig{R"({"preset": "reram"})", ".preset: \"reram\" is not a device preset; allowed ideal, pcm, rram"},
        BadConfig{R"({"preset": 3})", ".preset: expected a string, got 3"},
        BadConfig{R"({"gmax": 25})",
                  ".gmax: unknown key; allowed: preset, g_min, g_max, levels, programming_noise, read_noise, drift, "
                  "stuck_at_min, stuck_at_max, g_max_variation"},
        BadConfig{R"({"g_max": "25"})", ".g_max: expected a number, got \"25\""},
        BadConfig{R"({"stuck_at_max": true})", ".stuck_at_max: expected a number, got true"},
        BadConfig{R"({"levels": 1})", ".levels: 1 is out of range; allowed 0 (continuous) or 2..65536"},
        BadConfig{R"({"levels": 70000})", ".levels: 70000 is out of range; allowed 0 (continuous) or 2..65536"},
        BadConfig{R"({"levels": 1e12})", ".levels: 1000000000000.0 is out of range; allowed 0 (continuous) or 2..65536"},
        BadConfig{R"({"levels": 16.5})", ".levels: expected an integer, got 16.5"},
        BadConfig{R"({"programming_noise": 0.5})", ".programming_noise: expected an object {...}, got 0.5"},
        BadConfig{R"({"programming_noise": {"kind": "gaussian"}})",
                  ".programming_noise.kind: \"gaussian\" is not a kind; allowed none, constant, proportional, polynomial"},
        BadConfig{R"({"programming_noise": {"kind": "constant"}})",
                  ".programming_noise.sigma: missing; \"kind\": \"constant\" needs it (σ in µS)"},
        BadConfig{R"({"programming_noise": {"kind": "constant", "sigma": -0.2}})",
                  ".programming_noise.sigma: -0.2 is out of range; allowed >= 0"},
        BadConfig{R"({"preset": "pcm", "programming_noise": {"sigma": 0.5}})",
                  ".programming_noise.sigma: only allowed with \"kind\": \"constant\" (the kind here is \"polynomial\", "
                  "from the preset \"pcm\")"},
        BadConfig{R"({"programming_noise": {"relative": 0.1}})",
                  ".programming_noise.relative: only allowed with \"kind\": \"proportional\" (the kind here is "
                  "\"none\", the default)"},
        BadConfig{R"({"programming_noise": {"kind": "polynomial", "coefficients": [0.5], "sigma": 1}})",
                  ".programming_noise.sigma: only allowed with \"kind\": \"constant\" (the kind here is \"polynomial\")"},
        BadConfig{R"({"preset": "pcm", "programming_noise": {"coefficients": [1, -2], "g_max_reference": 0}})",
                  ".programming_noise.coefficients: [1, -2] give σ = -1 µS at g = 25 µS (g_hat = 1); σ must be >= 0 "
                  "over [g_min, g_max] = [0, 25] µS"},
        BadConfig{R"({"programming_noise": {"kind": "polynomial", "coefficients": "0.1"}})",
                  ".programming_noise.coefficients: expected an array of numbers [c_0, c_1, ...], got \"0.1\""},
        BadConfig{R"({"programming_noise": {"kind": "polynomial", "coefficients": [0.1, null]}})",
                  ".programming_noise.coefficients[1]: expected a number, got null"},
        BadConfig{R"({"programming_noise": {"kind": "polynomial", "coefficients": []}})",
                  ".programming_noise.coefficients: 0 coefficients; allowed 1..8 (c_0, c_1, ...)"},
        BadConfig{R"({"programming_noise": {"kind": "polynomial", "coefficients": [0.1], "variable": "G"}})",
                  ".programming_noise.variable: \"G\" is not a variable; allowed g_hat, g"},
        BadConfig{R"({"read_noise": {"kind": "pcm_1f", "t_read": 0}})",
                  ".read_noise.t_read: 0 is out of range; allowed > 0"},
        BadConfig{R"({"read_noise": {"kind": "constant", "sigma": 0.1, "t_read": 1e-6}})",
                  ".read_noise.t_read: only allowed with \"kind\": \"pcm_1f\" (the kind here is \"constant\")"},
        BadConfig{R"({"read_noise": {"kind": "proportional"}})",
                  ".read_noise.relative: missing; \"kind\": \"proportional\" needs it (σ / |g|)"},
        BadConfig{R"({"read_noise": {"sigma_read": 0.1}})",
                  ".read_noise.sigma_read: unknown key; allowed: kind, sigma, relative, q_scale, q_exponent, q_floor, "
                  "q_max, t_read, t0"},
        BadConfig{R"({"preset": "pcm", "drift": {"t0": 0}})", ".drift.t0: 0 is out of range; allowed > 0"},
        BadConfig{R"({"preset": "pcm", "drift": {"t0": -20}})", ".drift.t0: -20 is out of range; allowed > 0"},
        BadConfig{R"({"drift": {"kind": "constant_nu"}})",
                  ".drift.nu: missing; \"kind\": \"constant_nu\" needs it (the drift exponent)"},
        BadConfig{R"({"drift": {"kind": "constant_nu", "nu": 0.05, "nu_std": -0.01}})",
                  ".drift.nu_std: -0.01 is out of range; allowed >= 0"},
        BadConfig{R"({"drift": {"t0": 20}})",
                  ".drift.t0: only allowed with \"kind\": \"constant_nu\" or \"pcm\" (the kind here is \"none\", the "
                  "default)"},
        BadConfig{R"({"preset": "pcm", "drift": {"nu_mean_fit": {"max": 0.01}}})",
                  ".drift.nu_mean_fit.max: 0.01 must be >= device.drift.nu_mean_fit.min (0.049)"},
        BadConfig{R"({"preset": "pcm", "drift": {"nu_std_fit": {"slop": 1}}})",
                  ".drift.nu_std_fit.slop: unknown key; allowed: slope, intercept, min, max"},
        BadConfig{R"({"drift": {"kind": "pcm", "nu_mean_fit": [1, 2]}})",
                  ".drift.nu_mean_fit: expected an object {...}, got [1,2]"},
        BadConfig{R"({"stuck_at_min": 1.5})", ".stuck_at_min: 1.5 is out of range; allowed [0, 1]"},
        BadConfig{R"({"stuck_at_min": 0.75, "stuck_at_max": 0.5})",
                  ".stuck_at_max: 0.5 plus device.stuck_at_min (0.75) is 1.25; the two fractions must sum to <= 1"},
        BadConfig{R"({"g_max_variation": -0.1})", ".g_max_variation: -0.1 is out of range; allowed [0, 1]"}));

TEST(DeviceConfigJsonTest, NonFiniteNumbersBuiltInCodeAreRejected) {
  json j = {{"g_max", std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(InputErrorOf([&] { ParseDeviceConfig(j, kWhere); }), "xbar.json: device.g_max: expected a finite number, got inf");
}

std::vector<DeviceParams> RoundTripCases() {
  std::vector<DeviceParams> cases;
  for (std::string_view name : DevicePresetNames()) cases.push_back(DevicePreset(name));
  cases.push_back(DeviceParams{});
  cases.push_back(Parse(R"({"preset": "rram", "levels": 0, "stuck_at_min": 0.001, "stuck_at_max": 0.002,
      "g_max_variation": 0.03, "read_noise": {"kind": "constant", "sigma": 0.125},
      "drift": {"kind": "constant_nu", "nu": 0.005, "nu_std": 0.001, "t0": 1}})"));
  cases.push_back(Parse(R"({"preset": "pcm", "g_max": 40,
      "programming_noise": {"kind": "proportional", "relative": 0.03},
      "read_noise": {"q_scale": 0.01, "t0": 0}, "drift": {"nu_std_fit": {"min": 0.001}}})"));
  cases.push_back(Parse(R"({"g_min": 1, "g_max": 100, "levels": 9,
      "programming_noise": {"kind": "polynomial", "coefficients": [0.5, 0.01, 0.0001], "variable": "g"}})"));
  return cases;
}

TEST(DeviceConfigJsonTest, RoundTripsThroughJsonText) {
  for (const DeviceParams& p : RoundTripCases()) {
    const json j = DeviceParamsToJson(p);
    SCOPED_TRACE(j.dump());
    EXPECT_EQ(ParseDeviceConfig(json::parse(j.dump()), kWhere), p);
  }
}

TEST(DeviceConfigJsonTest, ToJsonWritesOnlyTheKindsKeys) {
  const json j = DeviceParamsToJson(DevicePreset("pcm"));
  EXPECT_EQ(j["preset"], "pcm");
  EXPECT_EQ(j["programming_noise"],
            json::parse(R"({"kind": "polynomial", "coefficients": [0.26348, 1.965, -1.1731], "variable": "g_hat",
                            "g_max_reference": 25.0})"));
  EXPECT_EQ(j["read_noise"]["kind"], "pcm_1f");
  EXPECT_FALSE(j["read_noise"].contains("sigma"));
  EXPECT_EQ(j["drift"]["nu_mean_fit"], json::parse(R"({"slope": -0.0155, "intercept": 0.0244, "min": 0.049, "max": 0.1})"));
  EXPECT_FALSE(j["drift"].contains("nu"));
  const json ideal = DeviceParamsToJson(DeviceParams{});
  EXPECT_FALSE(ideal.contains("preset"));
  EXPECT_EQ(ideal["drift"], json::parse(R"({"kind": "none"})"));
}

}  // namespace
}  // namespace cimsim
