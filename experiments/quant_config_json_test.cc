// The quantization config file: parsing of every key, the exact path in every rejection, resolution
// of a parsed config against PyTorch layer names (order, hybrid rule, unused rules), loading from
// disk (missing file, invalid JSON, duplicate keys) and the round trip through QuantPlanToJson.
#include "experiments/quant_config_json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"
#include "data/calibration_subset.h"
#include "data/cifar10.h"
#include "nets/checkpoint.h"
#include "nets/integer_network.h"
#include "nets/quantize_network.h"

namespace cimsim {
namespace {

using nlohmann::json;
using testing::HasPart;
using testing::InputErrorOf;
using testing::ScopedTempDir;

// ResNet-20's conv/linear layers (option-A shortcuts have no parameters) in model order.
std::vector<std::string> ResNet20Names() {
  std::vector<std::string> names = {"conv1"};
  for (int stage = 1; stage <= 3; ++stage) {
    for (int block = 0; block < 3; ++block) {
      for (int conv = 1; conv <= 2; ++conv) {
        names.push_back("layer" + std::to_string(stage) + "." + std::to_string(block) + ".conv" + std::to_string(conv));
      }
    }
  }
  names.push_back("linear");
  return names;
}

const ResolvedLayer& Find(const std::vector<ResolvedLayer>& layers, const std::string& name) {
  for (const ResolvedLayer& l : layers) {
    if (l.name == name) return l;
  }
  throw std::logic_error("no layer " + name);
}

QuantPlan Parse(const std::string& text) { return ParseQuantConfig(json::parse(text), "q.json"); }

// The example of docs/quant_config.md.
constexpr const char* kExample = R"({
  "default": {"weight_bits": 8, "activation_bits": 8, "per_channel": true,
              "weight_calibration": {"method": "aciq", "prior": "laplace"},
              "activation_calibration": {"method": "percentile", "percentile": 99.99},
              "bias_correction": false, "mode": "auto"},
  "layers": [ {"match": "layer3.*", "weight_bits": 6}, {"match": "linear", "activation_bits": 8} ],
  "calibration": {"images": 500, "seed": 1, "class_balanced": true, "sample_capacity": 1048576}
})";

TEST(QuantConfigJsonTest, ParsesTheDocumentedExample) {
  const QuantPlan plan = Parse(kExample);
  EXPECT_EQ(plan.source, "q.json");
  EXPECT_EQ(plan.defaults.weight_bits, 8);
  EXPECT_EQ(plan.defaults.activation_bits, 8);
  EXPECT_TRUE(plan.defaults.per_channel);
  EXPECT_EQ(plan.defaults.weight_range.method, RangeMethod::kAciq);
  EXPECT_EQ(plan.defaults.weight_range.prior, AciqPrior::kLaplace);
  EXPECT_EQ(plan.defaults.activation_range.method, RangeMethod::kPercentile);
  EXPECT_DOUBLE_EQ(plan.defaults.activation_range.percentile, 99.99);
  EXPECT_FALSE(plan.defaults.bias_correction);
  EXPECT_EQ(plan.defaults.mode, QuantMode::kAuto);
  ASSERT_EQ(plan.rules.size(), 2u);
  EXPECT_EQ(plan.rules[0].pattern, "layer3.*");
  EXPECT_EQ(plan.rules[0].where, "q.json: layers[0]");
  EXPECT_EQ(plan.rules[0].set.weight_bits, 6);
  EXPECT_FALSE(plan.rules[0].set.activation_bits.has_value());
  EXPECT_FALSE(plan.rules[0].set.weight_range.has_value());
  EXPECT_EQ(plan.rules[1].pattern, "linear");
  EXPECT_EQ(plan.rules[1].set.activation_bits, 8);
  EXPECT_EQ(plan.rules[1].where, "q.json: layers[1]");
  EXPECT_EQ(plan.calibration.images, 500);
  EXPECT_EQ(plan.calibration.seed, 1u);
  EXPECT_TRUE(plan.calibration.class_balanced);
  EXPECT_EQ(plan.calibration.sample_capacity, 1048576);

  const std::vector<ResolvedLayer> layers = plan.Resolve(ResNet20Names());
  ASSERT_EQ(layers.size(), 20u);
  EXPECT_EQ(Find(layers, "layer2.2.conv2").params.weight_bits, 8);
  EXPECT_EQ(Find(layers, "layer3.0.conv1").params.weight_bits, 6);
  EXPECT_EQ(Find(layers, "layer3.2.conv2").params.weight_bits, 6);
  EXPECT_EQ(Find(layers, "linear").params.weight_bits, 8);
}

TEST(QuantConfigJsonTest, AnEmptyConfigIsTheBuiltInDefaults) {
  const QuantPlan plan = Parse("{}");
  const LayerQuantParams d;
  EXPECT_EQ(plan.defaults.weight_bits, d.weight_bits);
  EXPECT_EQ(plan.defaults.activation_bits, d.activation_bits);
  EXPECT_EQ(plan.defaults.per_channel, d.per_channel);
  EXPECT_EQ(plan.defaults.weight_range.method, RangeMethod::kAciq);
  EXPECT_EQ(plan.defaults.activation_range.method, RangeMethod::kAciq);
  EXPECT_EQ(plan.defaults.mode, QuantMode::kAuto);
  EXPECT_TRUE(plan.rules.empty());
  EXPECT_EQ(plan.calibration.images, CalibrationParams{}.images);
  EXPECT_EQ(plan.calibration.sample_capacity, int64_t{1} << 20);
}

TEST(QuantConfigJsonTest, RangeObjectsTakeTheirMethodsKeysAndReplaceTheWholeSetting) {
  const QuantPlan plan = Parse(R"({
    "default": {"weight_calibration": {"method": "mse", "candidates": 64},
                "activation_calibration": {"prior": "gauss"}},
    "layers": [{"match": "conv1", "weight_calibration": {"method": "max"}},
               {"match": "linear", "weight_calibration": {}}]})");
  EXPECT_EQ(plan.defaults.weight_range.method, RangeMethod::kMse);
  EXPECT_EQ(plan.defaults.weight_range.mse_candidates, 64);
  EXPECT_EQ(plan.defaults.activation_range.method, RangeMethod::kAciq);  // method defaults to aciq
  EXPECT_EQ(plan.defaults.activation_range.prior, AciqPrior::kGauss);
  const std::vector<ResolvedLayer> layers = plan.Resolve(ResNet20Names());
  EXPECT_EQ(Find(layers, "conv1").params.weight_range.method, RangeMethod::kMax);
  // {} is the built-in RangeParams, not a merge with the default section's mse setting.
  EXPECT_EQ(Find(layers, "linear").params.weight_range.method, RangeMethod::kAciq);
  EXPECT_EQ(Find(layers, "layer1.0.conv1").params.weight_range.method, RangeMethod::kMse);
}

TEST(QuantConfigJsonTest, IntegralFloatsAndLargeSeedsAreAccepted) {
  const QuantPlan plan = Parse(R"({"default": {"weight_bits": 6.0},
      "calibration": {"images": 1e3, "seed": 18446744073709551615, "sample_capacity": 4096}})");
  EXPECT_EQ(plan.defaults.weight_bits, 6);
  EXPECT_EQ(plan.calibration.images, 1000);
  EXPECT_EQ(plan.calibration.seed, 18446744073709551615u);
  EXPECT_EQ(plan.calibration.sample_capacity, 4096);
}

struct BadConfig {
  const char* text;
  const char* path;    // the message must hold "q.json: <path>: "
  const char* detail;  // ... and this
};

void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.text; }

class BadConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(BadConfigTest, NamesThePathAndTheProblem) {
  const BadConfig c = GetParam();
  const std::string message = InputErrorOf([&] { Parse(c.text); });
  const std::string prefix = std::string("q.json: ") + c.path + (*c.path ? ": " : "");
  EXPECT_EQ(message.rfind(prefix, 0), 0u) << "message \"" << message << "\" does not start with \"" << prefix << "\"";
  EXPECT_TRUE(HasPart(message, c.detail));
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadConfigTest,
    ::testing::Values(
        BadConfig{R"({"default": {"wieght_bits": 8}})", "default.wieght_bits",
                  "unknown key; allowed: weight_bits, activation_bits, per_channel, weight_calibration, "
                  "activation_calibration, bias_correction, mode"},
        BadConfig{R"({"layers": [{"match": "conv1"}, {"match": "linear", "weight_bits": 9}]})", "layers[1].weight_bits",
                  "9 is out of range; allowed 2..8"},
        BadConfig{R"({"default": {"weight_bits": "8"}})", "default.weight_bits", "expected an integer, got \"8\""},
        BadConfig{R"({"default": {"activation_bits": 7.5}})", "default.activation_bits", "expected an integer, got 7.5"},
        BadConfig{R"({"default": {"activation_bits": 1}})", "default.activation_bits", "1 is out of range; allowed 2..8"},
        BadConfig{R"({"default": {"weight_bits": true}})", "default.weight_bits", "expected an integer, got true"},
        BadConfig{R"({"default": {"weight_bits": null}})", "default.weight_bits", "expected an integer, got null"},
        BadConfig{R"({"default": {"weight_bits": 1e10}})", "default.weight_bits", "out of range; allowed 2..8"},
        BadConfig{R"({"layers": [{"weight_bits": 4}]})", "layers[0].match", "missing"},
        BadConfig{R"({"layers": [{"match": "conv1"}, {"match": ""}]})", "layers[1].match", "empty pattern"},
        BadConfig{R"({"layers": [{"match": 5}]})", "layers[0].match", "expected a string, got 5"},
        BadConfig{R"({"layers": [{"match": "layer[12].*"}]})", "layers[0].match",
                  "\"layer[12].*\" has the character '['"},
        BadConfig{R"({"layers": {"match": "conv1"}})", "layers", "expected an array of rules"},
        BadConfig{R"({"layers": ["conv1"]})", "layers[0]", "expected an object {...}, got \"conv1\""},
        BadConfig{R"({"layers": [{"match": "conv1", "bits": 4}]})", "layers[0].bits", "unknown key; allowed: match, "},
        BadConfig{R"({"default": {"match": "*"}})", "default.match", "unknown key"},
        BadConfig{R"({"default": {"weight_calibration": {"method": "minmax"}}})", "default.weight_calibration.method",
                  "\"minmax\" is not a method; allowed max, percentile, mse, aciq"},
        BadConfig{R"({"default": {"weight_calibration": {"method": 3}}})", "default.weight_calibration.method",
                  "expected a string, got 3"},
        BadConfig{R"({"default": {"weight_calibration": "aciq"}})", "default.weight_calibration",
                  "expected an object {...}, got \"aciq\""},
        BadConfig{R"({"default": {"weight_calibration": {"method": "max", "prior": "laplace"}}})",
                  "default.weight_calibration.prior",
                  "only allowed with \"method\": \"aciq\" (the method here is \"max\")"},
        BadConfig{R"({"default": {"weight_calibration": {"prior": "normal"}}})", "default.weight_calibration.prior",
                  "\"normal\" is not a prior; allowed laplace, gauss"},
        BadConfig{R"({"default": {"activation_calibration": {"percentile": 99.9}}})",
                  "default.activation_calibration.percentile",
                  "only allowed with \"method\": \"percentile\" (the method here is \"aciq\", the default)"},
        BadConfig{R"({"layers": [{"match": "*", "activation_calibration": {"method": "percentile", "percentile": 0}}]})",
                  "layers[0].activation_calibration.percentile", "0 is out of range; allowed (0, 100]"},
        BadConfig{R"({"default": {"activation_calibration": {"method": "percentile", "percentile": 100.5}}})",
                  "default.activation_calibration.percentile", "100.5 is out of range; allowed (0, 100]"},
        BadConfig{R"({"default": {"activation_calibration": {"method": "percentile", "percentile": "99"}}})",
                  "default.activation_calibration.percentile", "expected a number, got \"99\""},
        BadConfig{R"({"default": {"weight_calibration": {"method": "mse", "candidates": 4}}})",
                  "default.weight_calibration.candidates", "4 is out of range; allowed 8..65536"},
        BadConfig{R"({"default": {"weight_calibration": {"method": "mse", "candidates": 100000}}})",
                  "default.weight_calibration.candidates", "100000 is out of range; allowed 8..65536"},
        BadConfig{R"({"default": {"weight_calibration": {"method": "mse", "candidates": 16.5}}})",
                  "default.weight_calibration.candidates", "expected an integer, got 16.5"},
        BadConfig{R"({"default": {"weight_calibration": {"candidates": 64}}})", "default.weight_calibration.candidates",
                  "only allowed with \"method\": \"mse\""},
        BadConfig{R"({"default": {"weight_calibration": {"method": "mse", "bins": 64}}})",
                  "default.weight_calibration.bins", "unknown key; allowed: method, prior, percentile, candidates"},
        BadConfig{R"({"default": {"mode": "hybrid"}})", "default.mode", "\"hybrid\" is not a mode; allowed auto, ptq, qat"},
        BadConfig{R"({"layers": [{"match": "*", "weight_grid": "narrow"}]})", "layers[0].weight_grid",
                  "\"narrow\" is not a weight grid; allowed symmetric, full"},
        BadConfig{R"({"default": {"weight_grid": true}})", "default.weight_grid", "expected a string, got true"},
        BadConfig{R"({"default": {"per_channel": 1}})", "default.per_channel", "expected true or false, got 1"},
        BadConfig{R"({"layers": [{"match": "*", "bias_correction": "yes"}]})", "layers[0].bias_correction",
                  "expected true or false, got \"yes\""},
        BadConfig{R"({"calibration": {"images": 0}})", "calibration.images", "0 is out of range; allowed >= 1"},
        BadConfig{R"({"calibration": {"images": 512}})", "calibration.images", "not a multiple of 10"},
        BadConfig{R"({"calibration": {"seed": -1}})", "calibration.seed", "-1 is out of range"},
        BadConfig{R"({"calibration": {"seed": 1.5}})", "calibration.seed", "expected an integer, got 1.5"},
        BadConfig{R"({"calibration": {"sample_capacity": 1.5}})", "calibration.sample_capacity",
                  "expected an integer, got 1.5"},
        BadConfig{R"({"calibration": {"class_balanced": "yes"}})", "calibration.class_balanced",
                  "expected true or false"},
        BadConfig{R"({"calibration": {"imgs": 512}})", "calibration.imgs",
                  "unknown key; allowed: images, seed, class_balanced, sample_capacity"},
        BadConfig{R"({"calibration": [512]})", "calibration", "expected an object {...}, got [512]"},
        BadConfig{R"({"layer": []})", "layer", "unknown key; allowed: default, layers, calibration"},
        BadConfig{R"({"default": 8})", "default", "expected an object {...}, got 8"},
        BadConfig{R"([{"match": "conv1"}])", "", "expected an object {...}, got [{\"match\":\"conv1\"}]"}));

TEST(QuantConfigJsonTest, LongValuesAreCutShortInMessages) {
  const std::string message = InputErrorOf([] { Parse(R"({"default": {"mode": ")" + std::string(200, 'x') + "\"}}"); });
  EXPECT_TRUE(HasPart(message, "...")) << message;
  EXPECT_LT(message.size(), 150u);
}

TEST(QuantConfigJsonTest, HybridRuleOnAParsedConfig) {
  const std::vector<std::string> names = ResNet20Names();
  // W3 under mode auto: QAT, not built → names the first layer of layer3 and the rule.
  const std::string message =
      InputErrorOf([&] { Parse(R"({"layers": [{"match": "layer3.*", "weight_bits": 3}]})").Resolve(names); });
  EXPECT_TRUE(HasPart(message, "layer3.0.conv1: W3A8 is below 4 bits (weight_bits from q.json: layers[0])"));
  EXPECT_TRUE(HasPart(message, "set \"mode\": \"ptq\""));

  // The same with "mode": "ptq" is fine.
  const std::vector<ResolvedLayer> forced =
      Parse(R"({"layers": [{"match": "layer3.*", "weight_bits": 3, "mode": "ptq"}]})").Resolve(names);
  EXPECT_EQ(Find(forced, "layer3.1.conv2").params.weight_bits, 3);
  EXPECT_EQ(Find(forced, "layer3.1.conv2").mode, QuantMode::kPtq);

  // W4A4 everywhere: post-training.
  for (const ResolvedLayer& l : Parse(R"({"default": {"weight_bits": 4, "activation_bits": 4}})").Resolve(names)) {
    EXPECT_EQ(l.mode, QuantMode::kPtq) << l.name;
  }

  // "mode": "qat" is refused whatever the bits.
  EXPECT_TRUE(HasPart(InputErrorOf([&] { Parse(R"({"layers": [{"match": "linear", "mode": "qat"}]})").Resolve(names); }),
                      "linear: \"mode\": \"qat\" (from q.json: layers[0])"));
}

TEST(QuantConfigJsonTest, ARuleMatchingNoLayerIsAnError) {
  const QuantPlan plan = Parse(R"({"layers": [{"match": "layer3.*", "weight_bits": 6},
                                              {"match": "layer4.*", "weight_bits": 6}]})");
  const std::string message = InputErrorOf([&] { plan.Resolve(ResNet20Names()); });
  EXPECT_TRUE(HasPart(message, "q.json: layers[1]: \"match\": \"layer4.*\" matches none of the model's 20 layers: "
                               "conv1, layer1.0.conv1, "));
  EXPECT_TRUE(HasPart(message, "layer3.2.conv2, linear"));
}

QuantPlan RichPlan() {
  QuantPlan plan;
  plan.source = "rich.json";
  plan.defaults.weight_bits = 6;
  plan.defaults.activation_bits = 5;
  plan.defaults.per_channel = false;
  plan.defaults.weight_range = RangeParams{RangeMethod::kMse, 99.99, AciqPrior::kLaplace, 32};
  plan.defaults.activation_range = RangeParams{RangeMethod::kPercentile, 99.875};
  plan.defaults.bias_correction = true;
  plan.defaults.mode = QuantMode::kPtq;
  LayerQuantOverride a;
  a.weight_bits = 8;
  a.weight_range = RangeParams{RangeMethod::kAciq, 99.99, AciqPrior::kGauss};
  LayerQuantOverride b;
  b.activation_bits = 3;
  b.per_channel = true;
  b.bias_correction = false;
  b.activation_range = RangeParams{RangeMethod::kMax};
  b.mode = QuantMode::kAuto;
  LayerQuantOverride c;
  c.mode = QuantMode::kPtq;
  plan.rules = {{"layer1.*", a, "rich.json: layers[0]"},
                {"layer1.0.conv?", b, "rich.json: layers[1]"},
                {"layer1.0.*", c, "rich.json: layers[2]"}};
  plan.calibration = CalibrationParams{2000, 0xDEADBEEFCAFEF00Dull, false, 12345};
  return plan;
}

TEST(QuantConfigJsonTest, RoundTripsThroughQuantPlanToJson) {
  const QuantPlan plan = RichPlan();
  const json j = QuantPlanToJson(plan);
  // Through text, as a file would.
  const QuantPlan back = ParseQuantConfig(json::parse(j.dump(2)), "rich.json");
  EXPECT_EQ(QuantPlanToJson(back), j);

  EXPECT_EQ(back.defaults.weight_bits, 6);
  EXPECT_EQ(back.defaults.activation_bits, 5);
  EXPECT_FALSE(back.defaults.per_channel);
  EXPECT_EQ(back.defaults.weight_range.method, RangeMethod::kMse);
  EXPECT_EQ(back.defaults.weight_range.mse_candidates, 32);
  EXPECT_EQ(back.defaults.activation_range.method, RangeMethod::kPercentile);
  EXPECT_EQ(back.defaults.activation_range.percentile, 99.875);
  EXPECT_TRUE(back.defaults.bias_correction);
  EXPECT_EQ(back.defaults.mode, QuantMode::kPtq);
  ASSERT_EQ(back.rules.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(back.rules[i].pattern, plan.rules[i].pattern);
    EXPECT_EQ(back.rules[i].where, plan.rules[i].where);
  }
  EXPECT_EQ(back.rules[0].set.weight_range->prior, AciqPrior::kGauss);
  EXPECT_FALSE(back.rules[0].set.activation_bits.has_value());
  EXPECT_EQ(back.rules[1].set.activation_bits, 3);
  EXPECT_EQ(back.rules[1].set.per_channel, true);
  EXPECT_EQ(back.rules[1].set.bias_correction, false);
  EXPECT_EQ(back.rules[1].set.activation_range->method, RangeMethod::kMax);
  EXPECT_EQ(back.rules[1].set.mode, QuantMode::kAuto);
  EXPECT_EQ(back.rules[2].set.mode, QuantMode::kPtq);
  EXPECT_EQ(back.calibration.images, 2000);
  EXPECT_EQ(back.calibration.seed, 0xDEADBEEFCAFEF00Dull);
  EXPECT_FALSE(back.calibration.class_balanced);
  EXPECT_EQ(back.calibration.sample_capacity, 12345);

  // Same resolution. layer1.0.conv1: W8 (a), A3 + auto (b), ptq again (c) → PTQ at 3 bits.
  const std::vector<ResolvedLayer> x = plan.Resolve(ResNet20Names()), y = back.Resolve(ResNet20Names());
  ASSERT_EQ(x.size(), y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(QuantPlanToJson(QuantPlan{x[i].params, {}, {}, ""})["default"],
              QuantPlanToJson(QuantPlan{y[i].params, {}, {}, ""})["default"])
        << x[i].name;
  }
  const ResolvedLayer& l = Find(y, "layer1.0.conv1");
  EXPECT_EQ(l.params.weight_bits, 8);
  EXPECT_EQ(l.params.activation_bits, 3);
  EXPECT_EQ(l.params.weight_range.prior, AciqPrior::kGauss);
  EXPECT_EQ(l.mode, QuantMode::kPtq);
}

// "weight_grid": written only where set (the defaults' only when full), read back the same; a config
// without it writes exactly what it wrote before the key existed.
TEST(QuantConfigJsonTest, WeightGridParsesAndRoundTrips) {
  const QuantPlan plan = Parse(R"({"default": {"weight_bits": 2, "activation_bits": 2, "weight_grid": "full"},
                                   "layers": [{"match": "conv1", "weight_bits": 8, "weight_grid": "symmetric"}]})");
  EXPECT_EQ(plan.defaults.weight_grid, WeightGrid::kFull);
  EXPECT_EQ(plan.rules[0].set.weight_grid, WeightGrid::kSymmetric);
  const json j = QuantPlanToJson(plan);
  EXPECT_EQ(j["default"]["weight_grid"], "full");
  EXPECT_EQ(j["layers"][0]["weight_grid"], "symmetric");
  EXPECT_EQ(QuantPlanToJson(ParseQuantConfig(json::parse(j.dump()), "back.json")), j);
  const json plain = QuantPlanToJson(Parse(R"({"default": {"weight_bits": 4}})"));
  EXPECT_FALSE(plain["default"].contains("weight_grid"));
  EXPECT_EQ(Parse(R"({"default": {"weight_bits": 4}})").defaults.weight_grid, WeightGrid::kSymmetric);
}

TEST(QuantConfigJsonTest, JsonWritesOnlyTheKeysEachMethodUses) {
  const json j = QuantPlanToJson(RichPlan());
  EXPECT_EQ(j["default"]["weight_calibration"], json::parse(R"({"method": "mse", "candidates": 32})"));
  EXPECT_EQ(j["default"]["activation_calibration"], json::parse(R"({"method": "percentile", "percentile": 99.875})"));
  EXPECT_EQ(j["layers"][0], json::parse(R"({"match": "layer1.*", "weight_bits": 8,
                                           "weight_calibration": {"method": "aciq", "prior": "gauss"}})"));
  EXPECT_EQ(j["layers"][2], json::parse(R"({"match": "layer1.0.*", "mode": "ptq"})"));
}

class LoadQuantConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = dir_.Path(name);
    std::ofstream(path) << text;
    return path;
  }
  ScopedTempDir dir_{"quant_config"};
};

TEST_F(LoadQuantConfigTest, LoadsAFileAndNamesItInMessages) {
  const std::string path = Write("q.json", kExample);
  const QuantPlan plan = LoadQuantConfig(path);
  EXPECT_EQ(plan.source, path);
  EXPECT_EQ(plan.rules.at(0).where, path + ": layers[0]");
  EXPECT_EQ(plan.rules.at(0).set.weight_bits, 6);

  const std::string bad = Write("bad.json", R"({"default": {"weight_bits": 12}})");
  EXPECT_EQ(InputErrorOf([&] { LoadQuantConfig(bad); }), bad + ": default.weight_bits: 12 is out of range; allowed 2..8");
}

TEST_F(LoadQuantConfigTest, MissingFileOrDirectory) {
  const std::string missing = dir_.Path("nope.json");
  EXPECT_EQ(InputErrorOf([&] { LoadQuantConfig(missing); }), missing + ": quantization config not found");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadQuantConfig(dir_.path().string()); }), "is a directory"));
}

TEST_F(LoadQuantConfigTest, InvalidJsonGivesLineAndColumn) {
  const std::string path = Write("q.json", "{\n  \"default\": {\n    \"weight_bits\": 8,\n  }\n}\n");
  const std::string message = InputErrorOf([&] { LoadQuantConfig(path); });
  EXPECT_TRUE(HasPart(message, path + ": not valid JSON: parse error at line 4, column 3"));
  EXPECT_FALSE(HasPart(message, "[json.exception"));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadQuantConfig(Write("empty.json", "")); }), "not valid JSON"));
}

TEST_F(LoadQuantConfigTest, DuplicateKeysAreRejectedWithTheirPath) {
  const std::string path = Write("q.json", R"({"layers": [{"match": "conv1"},
      {"match": "linear", "weight_bits": 4, "weight_bits": 8}]})");
  EXPECT_EQ(InputErrorOf([&] { LoadQuantConfig(path); }),
            path + ": layers[1].weight_bits: duplicate key; each key may appear once per object");
  const std::string top = Write("top.json", R"({"default": {}, "calibration": {"seed": 2}, "default": {}})");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadQuantConfig(top); }), top + ": default: duplicate key"));
  const std::string nested = Write("nested.json", R"({"layers": [{"match": "a", "weight_calibration":
      {"method": "max"}}, {"match": "b", "weight_calibration": {"method": "mse", "method": "max"}}]})");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadQuantConfig(nested); }),
                      nested + ": layers[1].weight_calibration.method: duplicate key"));
  // The same key in different objects is fine.
  EXPECT_NO_THROW(LoadQuantConfig(Write("ok.json", R"({"layers": [{"match": "a"}, {"match": "b"}]})")));
}

// The output-error keys (quant/adaround.h): rounding, adaround, output_clip_search,
// output_bias_correction, reconstruction_images.
INSTANTIATE_TEST_SUITE_P(
    OutputError, BadConfigTest,
    ::testing::Values(
        BadConfig{R"({"default": {"rounding": "stochastic"}})", "default.rounding",
                  "\"stochastic\" is not a rounding; allowed nearest, adaround"},
        BadConfig{R"({"layers": [{"match": "*", "rounding": 1}]})", "layers[0].rounding", "expected a string, got 1"},
        BadConfig{R"({"default": {"adaround": {"iterations": 0}}})", "default.adaround.iterations",
                  "0 is out of range; allowed 1..1000000"},
        BadConfig{R"({"default": {"adaround": {"iterations": 10.5}}})", "default.adaround.iterations",
                  "expected an integer, got 10.5"},
        BadConfig{R"({"default": {"adaround": {"learning_rate": 0}}})", "default.adaround.learning_rate",
                  "0 is out of range; allowed (0, 10]"},
        BadConfig{R"({"default": {"adaround": {"lambda": -1}}})", "default.adaround.lambda",
                  "-1 is out of range; allowed [0, 1e6]"},
        BadConfig{R"({"default": {"adaround": {"warmup": 1}}})", "default.adaround.warmup", "1 is out of range; allowed [0, 1)"},
        BadConfig{R"({"default": {"adaround": {"beta_start": 0.5}}})", "default.adaround.beta_start",
                  "0.5 is out of range; allowed [1, 100]"},
        BadConfig{R"({"default": {"adaround": {"beta_start": 4, "beta_end": 8}}})", "default.adaround.beta_end",
                  "8.0 is above beta_start (4.0)"},
        BadConfig{R"({"default": {"adaround": {"iters": 100}}})", "default.adaround.iters",
                  "unknown key; allowed: iterations, learning_rate, lambda, beta_start, beta_end, warmup"},
        BadConfig{R"({"default": {"adaround": 100}})", "default.adaround", "expected an object {...}, got 100"},
        BadConfig{R"({"default": {"output_clip_search": "yes"}})", "default.output_clip_search",
                  "expected true or false, got \"yes\""},
        BadConfig{R"({"layers": [{"match": "*", "output_bias_correction": 1}]})", "layers[0].output_bias_correction",
                  "expected true or false, got 1"},
        BadConfig{R"({"default": {"reconstruction_images": 0}})", "default.reconstruction_images",
                  "0 is out of range; allowed >= 1"}));

TEST(QuantConfigJsonTest, OutputErrorKeysParseResolveAndRoundTrip) {
  const QuantPlan plan = Parse(R"({"default": {"weight_bits": 4, "activation_bits": 4, "rounding": "adaround",
      "adaround": {"iterations": 300, "lambda": 2}, "output_clip_search": true, "reconstruction_images": 32},
      "layers": [{"match": "linear", "rounding": "nearest", "output_bias_correction": true,
                  "adaround": {"warmup": 0.1}, "reconstruction_images": 16}]})");
  const std::vector<ResolvedLayer> layers = plan.Resolve(ResNet20Names());
  const LayerQuantParams& conv = Find(layers, "layer2.1.conv2").params;
  EXPECT_EQ(conv.rounding, WeightRounding::kAdaRound);
  EXPECT_EQ(conv.adaround.iterations, 300);
  EXPECT_EQ(conv.adaround.lambda, 2);
  EXPECT_EQ(conv.adaround.learning_rate, AdaRoundParams{}.learning_rate);   // missing keys: built-in defaults
  EXPECT_TRUE(conv.output_clip_search);
  EXPECT_FALSE(conv.output_bias_correction);
  EXPECT_EQ(conv.reconstruction_images, 32);
  const LayerQuantParams& lin = Find(layers, "linear").params;
  EXPECT_EQ(lin.rounding, WeightRounding::kNearest);
  EXPECT_TRUE(lin.output_bias_correction);
  EXPECT_EQ(lin.adaround.iterations, AdaRoundParams{}.iterations);   // the object replaces the whole setting
  EXPECT_EQ(lin.adaround.warmup, 0.1);
  EXPECT_EQ(lin.reconstruction_images, 16);

  const QuantPlan back = ParseQuantConfig(json::parse(QuantPlanToJson(plan).dump(2)), "back.json");
  const std::vector<ResolvedLayer> again = back.Resolve(ResNet20Names());
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerQuantParams &a = layers[i].params, &b = again[i].params;
    EXPECT_EQ(a.rounding, b.rounding) << layers[i].name;
    EXPECT_EQ(a.output_clip_search, b.output_clip_search);
    EXPECT_EQ(a.output_bias_correction, b.output_bias_correction);
    EXPECT_EQ(a.reconstruction_images, b.reconstruction_images);
    EXPECT_EQ(a.adaround.iterations, b.adaround.iterations);
    EXPECT_EQ(a.adaround.learning_rate, b.adaround.learning_rate);
    EXPECT_EQ(a.adaround.lambda, b.adaround.lambda);
    EXPECT_EQ(a.adaround.beta_start, b.adaround.beta_start);
    EXPECT_EQ(a.adaround.beta_end, b.adaround.beta_end);
    EXPECT_EQ(a.adaround.warmup, b.adaround.warmup);
  }
}

TEST(QuantConfigJsonTest, ReconstructionImagesCannotExceedTheCalibrationImages) {
  const QuantPlan plan = Parse(R"({"layers": [{"match": "layer1.*", "rounding": "adaround", "reconstruction_images": 600}],
                                  "calibration": {"images": 500}})");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { plan.Resolve(ResNet20Names()); }),
                      "q.json: layer1.0.conv1.reconstruction_images: 600 is more than the calibration images (500); "
                      "allowed 1..500"));
  // Without a reconstruction feature the key is inert.
  EXPECT_NO_THROW(Parse(R"({"default": {"reconstruction_images": 600}, "calibration": {"images": 500}})")
                      .Resolve(ResNet20Names()));
}

// Real data: the pretrained ResNet-20 (CIMSIM_MODEL) at W4A4 (conv1 and linear 8-bit) on CIMSIM_DATA,
// a reduced recipe (100 calibration images, 16 reconstruction images, 300 AdaRound steps) against
// nearest rounding with the same ranges, on the first 400 lossless test images. Skipped, with the
// reason, when the model or the data is missing.
TEST(QuantConfigJsonRealData, AdaRoundRecipeBeatsNearestRoundingAtW4A4) {
  testing::RealDataPaths paths;
  std::string skip;
  if (!testing::PretrainedModelAndData(paths, skip)) GTEST_SKIP() << skip;
  const LoadedModel model = LoadModel(paths.model);
  const Cifar10Set train = LoadCifar10(paths.data_dir, Cifar10Split::kTrain);
  const Cifar10Set test = LoadCifar10(paths.lossless_test, Cifar10Split::kTest);
  const auto accuracy = [&](const std::string& extra) {
    const QuantPlan plan = Parse(R"({"default": {"weight_bits": 4, "activation_bits": 4,
        "weight_calibration": {"method": "mse", "candidates": 64}, "activation_calibration": {"method": "mse", "candidates": 64})" +
                                 extra + R"(},
        "layers": [{"match": "conv1", "weight_bits": 8, "activation_bits": 8},
                   {"match": "linear", "weight_bits": 8, "activation_bits": 8}],
        "calibration": {"images": 100, "seed": 1, "sample_capacity": 65536}})");
    const std::vector<int64_t> indices = CalibrationSubset(train, 100, 1, true);
    QuantizeOptions options;
    options.sample_capacity = plan.calibration.sample_capacity;
    IntegerNetwork net(QuantizeNetwork(model.net, model.spec, plan.Resolve(MvmLayerNames(model.net)), train, indices,
                                       options, nullptr));
    const int64_t n = std::min<int64_t>(400, test.size());
    std::vector<int32_t> logits(static_cast<size_t>(n * 10));
    ThreadPool pool(1);
    net.Forward(test.image(0), n, logits.data(), pool);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t* l = logits.data() + i * 10;
      correct += (std::max_element(l, l + 10) - l) == test.labels[static_cast<size_t>(i)];
    }
    return 100.0 * static_cast<double>(correct) / static_cast<double>(n);
  };
  const double nearest = accuracy("");
  const double recipe = accuracy(R"(, "rounding": "adaround", "adaround": {"iterations": 300},
      "output_clip_search": true, "output_bias_correction": true, "reconstruction_images": 16)");
  std::printf("W4A4 on 400 lossless test images: nearest %.2f %%, clip search + bias correction + AdaRound %.2f %%\n",
              nearest, recipe);
  EXPECT_GE(recipe, nearest);
  EXPECT_GE(recipe, 85.0);
}

}  // namespace
}  // namespace cimsim
