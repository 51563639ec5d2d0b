// Device presets (their documented values, unknown names) and DeviceParams::Validate (one row per
// rejected value: the full field path, the value and the allowed range).
#include "devices/device_presets.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"
#include "devices/device_model.h"

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;

TEST(DevicePresetsTest, NamesAndUnknownName) {
  const auto names = DevicePresetNames();
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "ideal");
  EXPECT_EQ(names[1], "pcm");
  EXPECT_EQ(names[2], "rram");
  for (std::string_view name : names) {
    const DeviceParams p = DevicePreset(name);
    EXPECT_EQ(p.preset, name);
    EXPECT_NO_THROW(p.Validate(std::string(name)));
    EXPECT_EQ(DeviceModel(p).Name(), name);
  }
  EXPECT_EQ(InputErrorOf([] { DevicePreset("reram"); }), "unknown device preset \"reram\"; allowed ideal, pcm, rram");
}

TEST(DevicePresetsTest, IdealIsTheDefaults) {
  DeviceParams p = DevicePreset("ideal");
  EXPECT_EQ(p.levels, 0);
  EXPECT_EQ(p.programming.kind, ProgrammingNoiseKind::kNone);
  EXPECT_EQ(p.read.kind, ReadNoiseKind::kNone);
  EXPECT_EQ(p.drift.kind, DriftKind::kNone);
  EXPECT_EQ(p.stuck_at_min + p.stuck_at_max + p.g_max_variation, 0.0);
  p.preset.clear();
  EXPECT_EQ(p, DeviceParams{});
}

TEST(DevicePresetsTest, PcmHasThePublishedConstants) {
  const DeviceParams p = DevicePreset("pcm");
  EXPECT_EQ(p.g_min, 0.0);
  EXPECT_EQ(p.g_max, 25.0);
  EXPECT_EQ(p.levels, 0);
  EXPECT_EQ(p.programming.kind, ProgrammingNoiseKind::kPolynomial);
  EXPECT_EQ(p.programming.coefficients, (std::vector<double>{0.26348, 1.9650, -1.1731}));
  EXPECT_EQ(p.programming.variable, PolynomialVariable::kGHat);
  EXPECT_EQ(p.programming.g_max_reference, 25.0);
  EXPECT_EQ(p.read.kind, ReadNoiseKind::kPcm1f);
  EXPECT_EQ(p.read.q_scale, 0.0088);
  EXPECT_EQ(p.read.q_exponent, 0.65);
  EXPECT_EQ(p.read.q_floor, 1e-3);
  EXPECT_EQ(p.read.q_max, 0.2);
  EXPECT_EQ(p.read.t_read, 250e-9);
  EXPECT_EQ(p.read.t0, 20.0);
  EXPECT_EQ(p.drift.kind, DriftKind::kPcm);
  EXPECT_EQ(p.drift.t0, 20.0);
  EXPECT_EQ(p.drift.nu_mean_fit, (LogFit{-0.0155, 0.0244, 0.049, 0.1}));
  EXPECT_EQ(p.drift.nu_std_fit, (LogFit{-0.0125, -0.0059, 0.008, 0.045}));
}

TEST(DevicePresetsTest, RramIsCrossSimsMiloFit) {
  const DeviceParams p = DevicePreset("rram");
  EXPECT_EQ(p.g_min, 50.0);
  EXPECT_EQ(p.g_max, 225.0);
  EXPECT_EQ(p.g_max / p.g_min, 4.5);   // on/off ratio
  EXPECT_EQ(p.levels, 64);
  EXPECT_EQ(p.programming.kind, ProgrammingNoiseKind::kPolynomial);
  EXPECT_EQ(p.programming.variable, PolynomialVariable::kG);
  EXPECT_EQ(p.programming.coefficients, (std::vector<double>{4.782321, -0.009107}));
  EXPECT_EQ(p.read.kind, ReadNoiseKind::kNone);
  EXPECT_EQ(p.drift.kind, DriftKind::kNone);
}

// ---- DeviceParams::Validate ----

struct BadParams {
  const char* label;
  std::function<void(DeviceParams&)> change;   // applied to the pcm preset
  const char* message;                          // the whole message, or (ends with "...") its start
};

void PrintTo(const BadParams& b, std::ostream* os) { *os << b.label; }

class BadParamsTest : public ::testing::TestWithParam<BadParams> {};

TEST_P(BadParamsTest, NamesTheFieldTheValueAndTheRange) {
  const BadParams& b = GetParam();
  DeviceParams p = DevicePreset("pcm");
  b.change(p);
  const std::string message = InputErrorOf([&] { p.Validate("xbar.json: device"); });
  std::string expected = b.message;
  if (expected.size() > 3 && expected.substr(expected.size() - 3) == "...") {
    expected.resize(expected.size() - 3);
    EXPECT_EQ(message.rfind(expected, 0), 0u) << message;
  } else {
    EXPECT_EQ(message, expected);
  }
}

const double kNan = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Table, BadParamsTest,
    ::testing::Values(
        BadParams{"g_min above g_max", [](DeviceParams& p) { p.g_min = 30; },
                  "xbar.json: device.g_min: 30 must be < device.g_max (25)"},
        BadParams{"g_min equal g_max", [](DeviceParams& p) { p.g_min = 25; },
                  "xbar.json: device.g_min: 25 must be < device.g_max (25)"},
        BadParams{"negative g_min", [](DeviceParams& p) { p.g_min = -1; },
                  "xbar.json: device.g_min: -1 is out of range; allowed 0..1e6 µS"},
        BadParams{"nan g_max", [](DeviceParams& p) { p.g_max = kNan; },
                  "xbar.json: device.g_max: nan is out of range; allowed 1e-6..1e6 µS"},
        BadParams{"huge g_max", [](DeviceParams& p) { p.g_max = 1e300; },
                  "xbar.json: device.g_max: 1e+300 is out of range; allowed 1e-6..1e6 µS"},
        BadParams{"one level", [](DeviceParams& p) { p.levels = 1; },
                  "xbar.json: device.levels: 1 is out of range; allowed 0 (continuous) or 2..65536"},
        BadParams{"too many levels", [](DeviceParams& p) { p.levels = 65537; },
                  "xbar.json: device.levels: 65537 is out of range; allowed 0 (continuous) or 2..65536"},
        BadParams{"negative levels", [](DeviceParams& p) { p.levels = -4; }, "xbar.json: device.levels: -4 is out..."},
        BadParams{"negative constant sigma",
                  [](DeviceParams& p) {
                    p.programming.kind = ProgrammingNoiseKind::kConstant;
                    p.programming.sigma = -0.1;
                  },
                  "xbar.json: device.programming_noise.sigma: -0.1 is out of range; allowed >= 0"},
        BadParams{"negative relative",
                  [](DeviceParams& p) {
                    p.programming.kind = ProgrammingNoiseKind::kProportional;
                    p.programming.relative = -0.01;
                  },
                  "xbar.json: device.programming_noise.relative: -0.01 is out of range; allowed >= 0"},
        BadParams{"no coefficients", [](DeviceParams& p) { p.programming.coefficients.clear(); },
                  "xbar.json: device.programming_noise.coefficients: 0 coefficients; allowed 1..8 (c_0, c_1, ...)"},
        BadParams{"nine coefficients", [](DeviceParams& p) { p.programming.coefficients.assign(9, 0.1); },
                  "xbar.json: device.programming_noise.coefficients: 9 coefficients; allowed 1..8..."},
        BadParams{"infinite coefficient", [](DeviceParams& p) { p.programming.coefficients[1] = kInf; },
                  "xbar.json: device.programming_noise.coefficients[1]: inf is out of range; allowed any finite number"},
        BadParams{"polynomial negative at g_max",
                  [](DeviceParams& p) {
                    p.programming.coefficients = {1, -2};
                    p.programming.g_max_reference = 0;
                  },
                  "xbar.json: device.programming_noise.coefficients: [1, -2] give σ = -1 µS at g = 25 µS (g_hat = 1); "
                  "σ must be >= 0 over [g_min, g_max] = [0, 25] µS"},
        BadParams{"polynomial in g negative at g_min",
                  [](DeviceParams& p) {
                    p.g_min = 5;
                    p.programming.coefficients = {-2, 0.25};
                    p.programming.variable = PolynomialVariable::kG;
                  },
                  "xbar.json: device.programming_noise.coefficients: [-2, 0.25] give σ = -0.75 µS at g = 5 µS; "
                  "σ must be >= 0 over [g_min, g_max] = [5, 25] µS"},
        BadParams{"negative g_max_reference", [](DeviceParams& p) { p.programming.g_max_reference = -25; },
                  "xbar.json: device.programming_noise.g_max_reference: -25 is out of range; allowed >= 0"},
        BadParams{"negative read sigma",
                  [](DeviceParams& p) {
                    p.read.kind = ReadNoiseKind::kConstant;
                    p.read.sigma = -1;
                  },
                  "xbar.json: device.read_noise.sigma: -1 is out of range; allowed 0..1e6 µS"},
        BadParams{"zero t_read", [](DeviceParams& p) { p.read.t_read = 0; },
                  "xbar.json: device.read_noise.t_read: 0 is out of range; allowed > 0"},
        BadParams{"zero q_floor", [](DeviceParams& p) { p.read.q_floor = 0; },
                  "xbar.json: device.read_noise.q_floor: 0 is out of range; allowed > 0"},
        BadParams{"negative read t0", [](DeviceParams& p) { p.read.t0 = -1; },
                  "xbar.json: device.read_noise.t0: -1 is out of range; allowed >= 0"},
        BadParams{"zero drift t0", [](DeviceParams& p) { p.drift.t0 = 0; },
                  "xbar.json: device.drift.t0: 0 is out of range; allowed > 0"},
        BadParams{"negative drift t0 constant_nu",
                  [](DeviceParams& p) {
                    p.drift.kind = DriftKind::kConstantNu;
                    p.drift.t0 = -5;
                  },
                  "xbar.json: device.drift.t0: -5 is out of range; allowed > 0"},
        BadParams{"negative nu",
                  [](DeviceParams& p) {
                    p.drift.kind = DriftKind::kConstantNu;
                    p.drift.nu = -0.1;
                  },
                  "xbar.json: device.drift.nu: -0.1 is out of range; allowed >= 0"},
        BadParams{"fit max below min", [](DeviceParams& p) { p.drift.nu_std_fit.max = 0.001; },
                  "xbar.json: device.drift.nu_std_fit.max: 0.001 must be >= device.drift.nu_std_fit.min (0.008)"},
        BadParams{"negative fit min", [](DeviceParams& p) { p.drift.nu_mean_fit.min = -0.1; },
                  "xbar.json: device.drift.nu_mean_fit.min: -0.1 is out of range; allowed >= 0"},
        BadParams{"stuck_at_min above 1", [](DeviceParams& p) { p.stuck_at_min = 1.5; },
                  "xbar.json: device.stuck_at_min: 1.5 is out of range; allowed [0, 1]"},
        BadParams{"negative stuck_at_max", [](DeviceParams& p) { p.stuck_at_max = -0.1; },
                  "xbar.json: device.stuck_at_max: -0.1 is out of range; allowed [0, 1]"},
        BadParams{"fault fractions above 1",
                  [](DeviceParams& p) {
                    p.stuck_at_min = 0.6;
                    p.stuck_at_max = 0.5;
                  },
                  "xbar.json: device.stuck_at_max: 0.5 plus device.stuck_at_min (0.6) is 1.1; the two fractions "
                  "must sum to <= 1"},
        BadParams{"g_max_variation above 1", [](DeviceParams& p) { p.g_max_variation = 1.5; },
                  "xbar.json: device.g_max_variation: 1.5 is out of range; allowed [0, 1]"},
        BadParams{"nan g_max_variation", [](DeviceParams& p) { p.g_max_variation = kNan; },
                  "xbar.json: device.g_max_variation: nan is out of range; allowed [0, 1]"},
        BadParams{"unknown drift kind", [](DeviceParams& p) { p.drift.kind = static_cast<DriftKind>(7); },
                  "xbar.json: device.drift.kind: 7 is not a kind; allowed none, constant_nu, pcm"}));

TEST(DeviceParamsTest, FieldsOfOtherKindsAreNotChecked) {
  DeviceParams p = DevicePreset("ideal");
  p.programming.sigma = -1;      // kind none
  p.read.t_read = 0;             // kind none
  p.drift.t0 = -3;               // kind none
  EXPECT_NO_THROW(p.Validate("x"));
}

TEST(DeviceParamsTest, WhereWithoutAFileNamesFieldsByIt) {
  DeviceParams p;
  p.g_min = 30;
  EXPECT_EQ(InputErrorOf([&] { p.Validate("device"); }), "device.g_min: 30 must be < device.g_max (25)");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate(""); }), "g_min: 30 must be < g_max (25)"));
}

}  // namespace
}  // namespace cimsim
