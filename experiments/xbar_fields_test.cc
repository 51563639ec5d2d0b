// The chip config through its field tables: typed sweep setters (resolved once, values converted once,
// the same results as replacing the JSON at the path), and the chip identity (ChipId).
#include "experiments/xbar_fields.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/test_support.h"
#include "devices/device_presets.h"

namespace cimsim {
namespace {

using nlohmann::json;
using testing::HasPart;
using testing::InputErrorOf;

// The chip of base with `value` at `path`, the way sweeps apply it.
XbarConfig Swept(const std::string& base, const std::string& path, const json& value) {
  XbarInputs in = ReadXbarInputs(json::parse(base), "base.json");
  const XbarSetter s = ResolveXbarPath(path);
  ApplyXbarValue(s, XbarValueOf(s, value), in);
  return BuildXbarConfig(in, "");
}

// The chip of a JSON text, parsed directly.
XbarConfig Parsed(const std::string& text) { return ParseXbarConfig(json::parse(text), ""); }

TEST(XbarFieldsTest, ASweptValueGivesTheChipOfTheEditedJson) {
  const std::string base = R"({"seed": 4, "device": {"preset": "pcm", "levels": 16},
                               "crossbar": {"adc": {"bits": 6}}})";
  const auto same = [](const XbarConfig& a, const XbarConfig& b) {
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.device, b.device);
    EXPECT_EQ(a.crossbar, b.crossbar);
  };
  same(Swept(base, "crossbar.adc.bits", 4),
       Parsed(R"({"seed": 4, "device": {"preset": "pcm", "levels": 16}, "crossbar": {"adc": {"bits": 4}}})"));
  same(Swept(base, "device.preset", "rram"),   // the preset first, the base's other device keys on top
       Parsed(R"({"seed": 4, "device": {"preset": "rram", "levels": 16}, "crossbar": {"adc": {"bits": 6}}})"));
  same(Swept(base, "seed", 9),
       Parsed(R"({"seed": 9, "device": {"preset": "pcm", "levels": 16}, "crossbar": {"adc": {"bits": 6}}})"));
  // A whole object replaces every key under it.
  same(Swept(base, "crossbar.adc", json{{"range", "fixed"}, {"fixed_range", 300}}),
       Parsed(R"({"seed": 4, "device": {"preset": "pcm", "levels": 16},
                  "crossbar": {"adc": {"range": "fixed", "fixed_range": 300}}})"));
  same(Swept(base, "device.drift", json{{"kind", "constant_nu"}, {"nu", 0.01}}),
       Parsed(R"({"seed": 4, "device": {"preset": "pcm", "levels": 16, "drift": {"kind": "constant_nu", "nu": 0.01}},
                  "crossbar": {"adc": {"bits": 6}}})"));
  // Without a "device" object the device is the ideal preset; a swept device key starts it unnamed.
  EXPECT_EQ(Swept("{}", "seed", 2).device, DevicePreset("ideal"));
  EXPECT_EQ(Swept("{}", "device.g_max", 40).device.preset, "");
}

TEST(XbarFieldsTest, SweptValuesFollowTheRulesOfTheJson) {
  // A key of another mode, a kind without its required key: as if the JSON had been edited.
  EXPECT_EQ(InputErrorOf([] { Swept(R"({"crossbar": {"adc": {"range": "fixed", "fixed_range": 9}}})", "crossbar.adc.range", "max"); }),
            "crossbar.adc.fixed_range: only allowed with \"range\": \"fixed\" (the range here is \"max\")");
  EXPECT_EQ(InputErrorOf([] { Swept("{}", "device.drift.kind", "constant_nu"); }),
            "device.drift.nu: missing; \"kind\": \"constant_nu\" needs it (the drift exponent)");
  EXPECT_EQ(InputErrorOf([] { Swept("{}", "crossbar.adc.bits", "8"); }),
            "crossbar.adc.bits: expected an integer, got \"8\"");
  EXPECT_EQ(InputErrorOf([] { Swept("{}", "crossbar.adc.bits", 30); }), "crossbar.adc.bits: 30 is out of range; allowed 1..24");
  EXPECT_EQ(InputErrorOf([] { Swept("{}", "seed", -1); }), "seed: -1 is out of range; allowed 0..18446744073709551615");
}

TEST(XbarFieldsTest, PathsResolveOnceOrNameTheKeysThere) {
  const XbarSetter bits = ResolveXbarPath("crossbar.adc.bits");
  EXPECT_EQ(bits.part, XbarPart::kCrossbar);
  EXPECT_EQ(bits.fields.size(), 1u);
  EXPECT_EQ(ResolveXbarPath("crossbar.adc").fields.size(), 3u);   // bits, range, fixed_range
  EXPECT_EQ(ResolveXbarPath("seed").part, XbarPart::kSeed);
  EXPECT_EQ(InputErrorOf([] { ResolveXbarPath("crossbar.adc.gain"); }),
            "crossbar.adc.gain: unknown key; allowed: bits, range, fixed_range");
  EXPECT_TRUE(HasPart(InputErrorOf([] { ResolveXbarPath("device.gmax"); }), "device.gmax: unknown key; allowed: preset, g_min"));
  EXPECT_TRUE(HasPart(InputErrorOf([] { ResolveXbarPath("model.qmodel"); }), "model.qmodel: unknown key"));
}

TEST(XbarFieldsTest, AChipIsIdentifiedByTheHashOfItsCanonicalJson) {
  const XbarConfig a = ParseXbarConfig(json::parse(R"({"seed": 3, "device": {"preset": "pcm"},
      "crossbar": {"adc": {"bits": 6}, "rows_max": 64}})"), "a.json");
  // The same chip written differently: other key order, an explicit default, another source name.
  const XbarConfig b = ParseXbarConfig(json::parse(R"({"crossbar": {"rows_max": 64.0, "adc": {"bits": 6, "range": "max"}},
      "device": {"preset": "pcm", "levels": 0}, "seed": 3})"), "b.json");
  EXPECT_EQ(ChipId(a), ChipId(b));
  EXPECT_EQ(ChipId(a), Fnv1a64(XbarConfigToJson(a).dump()));
  EXPECT_EQ(ChipIdOfJson(XbarConfigToJson(a).dump(2)), ChipId(a));   // any formatting of the stored JSON
  // A chip stored before a key existed (here without crossbar.replicate_rows) is the chip with its default.
  json stored = XbarConfigToJson(a);
  stored["crossbar"].erase("replicate_rows");
  EXPECT_EQ(ChipIdOfJson(stored.dump()), ChipId(a));
  {
    XbarConfig r = a;
    r.crossbar.replicate_rows = true;
    EXPECT_NE(ChipId(r), ChipId(a));
    EXPECT_EQ(ChipIdOfJson(XbarConfigToJson(r).dump()), ChipId(r));
  }
  EXPECT_TRUE(HasPart(InputErrorOf([] { ChipIdOfJson(R"({"seed": 1, "crossbar": {"rows": 3}})"); }),
                      "stored xbar_config: crossbar.rows: unknown key"));
  XbarConfig c = a;
  c.seed = 4;
  EXPECT_NE(ChipId(c), ChipId(a));
  c = a;
  c.crossbar.read_time = 1;
  EXPECT_NE(ChipId(c), ChipId(a));
  c = a;
  c.crossbar.input.dac_bits = 5;   // bit_serial: dac_bits does not apply, the chip is the same
  EXPECT_EQ(ChipId(c), ChipId(a));
  // FNV-1a 64 reference values.
  EXPECT_EQ(Fnv1a64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(ChipIdText(0xaf63dc4c8601ec8cull), "af63dc4c8601ec8c");
}

}  // namespace
}  // namespace cimsim
