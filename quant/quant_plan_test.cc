// QuantPlan: glob matching, resolution order (defaults, then rules in order, later wins), the hybrid
// PTQ/QAT rule, and the messages of every rejection. All cases hand-worked.
#include "quant/quant_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;

// A ResNet-8-like slice of PyTorch layer names, with an option-B shortcut.
const std::vector<std::string> kNames = {"conv1",          "layer1.0.conv1", "layer1.0.conv2",     "layer3.0.conv1",
                                         "layer3.0.conv2", "layer3.0.shortcut.0", "linear"};

LayerRule Rule(const std::string& pattern, LayerQuantOverride set, const std::string& where = "") {
  return LayerRule{pattern, set, where};
}

LayerQuantOverride Bits(std::optional<int> w, std::optional<int> a = std::nullopt) {
  LayerQuantOverride o;
  o.weight_bits = w;
  o.activation_bits = a;
  return o;
}

const ResolvedLayer& Find(const std::vector<ResolvedLayer>& layers, const std::string& name) {
  for (const ResolvedLayer& l : layers) {
    if (l.name == name) return l;
  }
  throw std::logic_error("no layer " + name);
}

struct GlobCase {
  const char* pattern;
  const char* name;
  bool match;
};

class GlobTest : public ::testing::TestWithParam<GlobCase> {};

TEST_P(GlobTest, MatchesWholeName) {
  const GlobCase c = GetParam();
  EXPECT_EQ(GlobMatch(c.pattern, c.name), c.match) << "pattern \"" << c.pattern << "\", name \"" << c.name << "\"";
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GlobTest,
    ::testing::Values(GlobCase{"conv1", "conv1", true}, GlobCase{"conv1", "conv10", false},
                      GlobCase{"conv1", "conv", false}, GlobCase{"layer3.*", "layer3.0.conv1", true},
                      GlobCase{"layer3.*", "layer3", false}, GlobCase{"layer3.*", "layer30.conv1", false},
                      GlobCase{"layer1*", "layer10.0.conv1", true}, GlobCase{"*", "linear", true},
                      GlobCase{"*", "", true}, GlobCase{"", "", true}, GlobCase{"", "a", false},
                      GlobCase{"layer?.0.conv1", "layer2.0.conv1", true},
                      GlobCase{"layer?.0.conv1", "layer12.0.conv1", false}, GlobCase{"*.conv2", "layer1.1.conv2", true},
                      GlobCase{"*.conv2", "conv2", false}, GlobCase{"*shortcut*", "layer2.0.shortcut.0", true},
                      GlobCase{"features.?", "features.10", false}, GlobCase{"features.*", "features.10", true},
                      GlobCase{"a*b*c", "aXbYbZc", true}, GlobCase{"a*b*c", "aXbYcZ", false},
                      GlobCase{"**", "x", true}, GlobCase{"?*", "", false}, GlobCase{"*?", "a", true},
                      GlobCase{"*ab", "aab", true}, GlobCase{"a*ab", "aab", true}, GlobCase{"*a*a", "aba", true},
                      GlobCase{"*a*a", "ab", false}, GlobCase{"Conv1", "conv1", false}));

TEST(LayerQuantParamsTest, ValidateAcceptsTheLimitsAndNamesTheField) {
  LayerQuantParams p;
  p.weight_bits = 2;
  p.activation_bits = 8;
  EXPECT_NO_THROW(p.Validate("default"));
  p.weight_bits = 9;
  EXPECT_EQ(InputErrorOf([&] { p.Validate("q.json: default"); }),
            "q.json: default.weight_bits: 9 is out of range; allowed 2..8");
  p.weight_bits = 8;
  p.activation_bits = 1;
  EXPECT_EQ(InputErrorOf([&] { p.Validate("conv1"); }), "conv1.activation_bits: 1 is out of range; allowed 2..8");
  p.activation_bits = 4;
  p.activation_range.method = RangeMethod::kPercentile;
  p.activation_range.percentile = 150.0;  // RangeParams' own check, reported under the config's key
  EXPECT_TRUE(HasPart(InputErrorOf([&] { p.Validate("conv1"); }), "conv1.activation_calibration: "));
}

TEST(LayerQuantOverrideTest, AppliesOnlyTheFieldsItSets) {
  LayerQuantParams p;
  p.per_channel = false;
  LayerQuantOverride none;
  none.ApplyTo(p);
  EXPECT_EQ(p.weight_bits, 8);
  EXPECT_FALSE(p.per_channel);

  LayerQuantOverride all;
  all.weight_bits = 5;
  all.activation_bits = 6;
  all.per_channel = true;
  all.bias_correction = true;
  all.weight_range = RangeParams{RangeMethod::kMax};
  all.activation_range = RangeParams{RangeMethod::kMse, 99.99, AciqPrior::kLaplace, 16};
  all.mode = QuantMode::kPtq;
  all.ApplyTo(p);
  EXPECT_EQ(p.weight_bits, 5);
  EXPECT_EQ(p.activation_bits, 6);
  EXPECT_TRUE(p.per_channel);
  EXPECT_TRUE(p.bias_correction);
  EXPECT_EQ(p.weight_range.method, RangeMethod::kMax);
  EXPECT_EQ(p.activation_range.method, RangeMethod::kMse);
  EXPECT_EQ(p.activation_range.mse_candidates, 16);
  EXPECT_EQ(p.mode, QuantMode::kPtq);
}

TEST(CalibrationParamsTest, Validate) {
  CalibrationParams c;
  EXPECT_NO_THROW(c.Validate("calibration"));
  c.images = 0;
  EXPECT_EQ(InputErrorOf([&] { c.Validate("q.json: calibration"); }),
            "q.json: calibration.images: 0 is out of range; allowed >= 1");
  c.images = 1;
  c.sample_capacity = -3;
  EXPECT_EQ(InputErrorOf([&] { c.Validate("calibration"); }),
            "calibration.sample_capacity: -3 is out of range; allowed >= 1");
}

TEST(QuantPlanTest, NoRulesGivesEveryLayerTheDefaultsInOrder) {
  QuantPlan plan;
  plan.defaults.per_channel = false;
  plan.defaults.weight_range.method = RangeMethod::kMax;
  const std::vector<ResolvedLayer> layers = plan.Resolve(kNames);
  ASSERT_EQ(layers.size(), kNames.size());
  for (size_t i = 0; i < kNames.size(); ++i) {
    EXPECT_EQ(layers[i].name, kNames[i]);
    EXPECT_EQ(layers[i].params.weight_bits, 8);
    EXPECT_EQ(layers[i].params.activation_bits, 8);
    EXPECT_FALSE(layers[i].params.per_channel);
    EXPECT_EQ(layers[i].params.weight_range.method, RangeMethod::kMax);
    EXPECT_EQ(layers[i].params.activation_range.method, RangeMethod::kAciq);
    EXPECT_EQ(layers[i].mode, QuantMode::kPtq);
  }
  EXPECT_TRUE(plan.Resolve({}).empty());
}

TEST(QuantPlanTest, RulesApplyInOrderAndLaterOnesWin) {
  QuantPlan plan;
  plan.defaults.activation_bits = 6;
  LayerQuantOverride percentile = Bits(5);
  percentile.activation_range = RangeParams{RangeMethod::kPercentile, 99.9};
  LayerQuantOverride bias;
  bias.bias_correction = true;
  plan.rules = {Rule("layer3.*", Bits(6)),          // r0
                Rule("layer3.0.conv?", percentile),  // r1: W5 and percentile for the two convs
                Rule("*", bias),                     // r2: everyone
                Rule("layer3.*", Bits({}, 7)),       // r3: A7, keeps the weight bits of r0/r1
                Rule("layer3.0.conv2", Bits(4))};    // r4: overrides r1's W5
  const std::vector<ResolvedLayer> layers = plan.Resolve(kNames);

  const auto expect = [&](const std::string& name, int w, int a, RangeMethod act_method) {
    const ResolvedLayer& l = Find(layers, name);
    EXPECT_EQ(l.params.weight_bits, w) << name;
    EXPECT_EQ(l.params.activation_bits, a) << name;
    EXPECT_EQ(l.params.activation_range.method, act_method) << name;
    EXPECT_TRUE(l.params.bias_correction) << name;
    EXPECT_EQ(l.mode, QuantMode::kPtq) << name;
  };
  expect("conv1", 8, 6, RangeMethod::kAciq);
  expect("layer1.0.conv2", 8, 6, RangeMethod::kAciq);
  expect("layer3.0.conv1", 5, 7, RangeMethod::kPercentile);
  expect("layer3.0.conv2", 4, 7, RangeMethod::kPercentile);
  expect("layer3.0.shortcut.0", 6, 7, RangeMethod::kAciq);
  expect("linear", 8, 6, RangeMethod::kAciq);
  EXPECT_DOUBLE_EQ(Find(layers, "layer3.0.conv1").params.activation_range.percentile, 99.9);
}

TEST(QuantPlanTest, ALaterBroadRuleOverridesAnEarlierSpecificOne) {
  QuantPlan plan;
  plan.rules = {Rule("layer3.0.conv1", Bits(5)), Rule("layer3.*", Bits(6))};
  EXPECT_EQ(Find(plan.Resolve(kNames), "layer3.0.conv1").params.weight_bits, 6);
  plan.rules = {Rule("layer3.*", Bits(6)), Rule("layer3.0.conv1", Bits(5))};
  EXPECT_EQ(Find(plan.Resolve(kNames), "layer3.0.conv1").params.weight_bits, 5);
}

TEST(QuantPlanTest, HybridRuleSendsBelowFourBitsToQatWhichIsAnErrorForPtqNamingLayerAndRule) {
  QuantPlan plan;
  plan.source = "q.json";
  plan.rules = {Rule("layer3.*", Bits(3), "q.json: layers[0]")};
  const std::string message = InputErrorOf([&] { plan.Resolve(kNames); });
  // The first offending layer in model order.
  EXPECT_EQ(message,
            "layer3.0.conv1: W3A8 is below 4 bits (weight_bits from q.json: layers[0]), which needs "
            "quantization-aware training (LSQ/DSQ: cimsim qat); set \"mode\": \"ptq\" for that layer to "
            "force post-training quantization, or train it with cimsim qat");
  // cimsim qat resolves the same plan: those layers become QAT, the rest PTQ.
  const std::vector<ResolvedLayer> qat = plan.Resolve(kNames, true);
  ASSERT_EQ(qat.size(), kNames.size());
  for (const ResolvedLayer& l : qat)
    EXPECT_EQ(l.mode, l.name.rfind("layer3.", 0) == 0 ? QuantMode::kQat : QuantMode::kPtq) << l.name;
}

// The full weight grid belongs to LSQ layers of cimsim qat: it resolves there, and is an error naming
// the layer, the key and the rule on a post-training layer, a DSQ layer, or at 8 bits.
TEST(QuantPlanTest, FullWeightGridIsForLsqLayersOfQatOnly) {
  QuantPlan plan;
  plan.source = "q.json";
  LayerQuantOverride full = Bits(2, 2);
  full.weight_grid = WeightGrid::kFull;
  plan.rules = {Rule("layer*", full, "q.json: layers[0]")};
  for (const ResolvedLayer& l : plan.Resolve(kNames, true))
    EXPECT_EQ(l.params.weight_grid, l.name.rfind("layer", 0) == 0 ? WeightGrid::kFull : WeightGrid::kSymmetric) << l.name;
  // cimsim quantize: the 2-bit layers need QAT whatever their grid, and the message says so.
  EXPECT_TRUE(HasPart(InputErrorOf([&] { plan.Resolve(kNames); }), "layer1.0.conv1: W2A2 is below 4 bits"));

  LayerQuantOverride ptq;
  ptq.mode = QuantMode::kPtq;
  plan.rules.push_back(Rule("layer3.0.shortcut.0", ptq, "q.json: layers[1]"));
  EXPECT_EQ(InputErrorOf([&] { plan.Resolve(kNames, true); }),
            "q.json: layer3.0.shortcut.0.weight_grid: \"full\" (from q.json: layers[0]) is for layers trained with LSQ by "
            "cimsim qat, but this layer is quantized post-training; allowed \"symmetric\" here");
  plan.rules.pop_back();

  LayerQuantOverride dsq;
  dsq.qat_method = QatAlgorithm::kDsq;
  plan.rules.push_back(Rule("layer1.0.conv2", dsq, "q.json: layers[1]"));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { plan.Resolve(kNames, true); }),
                      "layer1.0.conv2.weight_grid: \"full\" (from q.json: layers[0]) is for layers trained with LSQ by "
                      "cimsim qat, but this layer is trained with DSQ"));
  plan.rules.pop_back();

  LayerQuantOverride eight = Bits(8);
  eight.mode = QuantMode::kQat;
  plan.rules.push_back(Rule("linear", full, "q.json: layers[1]"));
  plan.rules.push_back(Rule("linear", eight, "q.json: layers[2]"));
  EXPECT_EQ(InputErrorOf([&] { plan.Resolve(kNames, true); }),
            "q.json: linear.weight_grid: \"full\" (from q.json: layers[1]) with weight_bits 8 (from q.json: layers[2]); the "
            "full grid allows 2..7 bits (its cores take the symmetric grid one bit wider)");
}

TEST(QuantPlanTest, HybridRuleNamesActivationBitsAndTheDefaultWhenTheyAreLow) {
  QuantPlan plan;
  plan.defaults.activation_bits = 2;
  const std::string message = InputErrorOf([&] { plan.Resolve(kNames); });
  EXPECT_TRUE(HasPart(message, "conv1: W8A2 is below 4 bits (activation_bits from default)"));
  plan.source = "q.json";
  plan.rules = {Rule("conv1", Bits(3))};  // no where: called rules[0]
  EXPECT_TRUE(HasPart(InputErrorOf([&] { plan.Resolve(kNames); }),
                      "conv1: W3A2 is below 4 bits (weight_bits from q.json: rules[0], activation_bits from "
                      "q.json: default)"));
}

TEST(QuantPlanTest, ModePtqForcesPostTrainingQuantizationBelowFourBits) {
  QuantPlan plan;
  LayerQuantOverride w3_ptq = Bits(3);
  w3_ptq.mode = QuantMode::kPtq;
  plan.rules = {Rule("layer3.*", w3_ptq)};
  const ResolvedLayer l = Find(plan.Resolve(kNames), "layer3.0.conv1");
  EXPECT_EQ(l.params.weight_bits, 3);
  EXPECT_EQ(l.params.mode, QuantMode::kPtq);
  EXPECT_EQ(l.mode, QuantMode::kPtq);

  // Bits from one rule, mode from a later one.
  LayerQuantOverride ptq;
  ptq.mode = QuantMode::kPtq;
  plan.rules = {Rule("layer3.*", Bits(2, 2)), Rule("layer3.*", ptq)};
  EXPECT_EQ(Find(plan.Resolve(kNames), "layer3.0.shortcut.0").mode, QuantMode::kPtq);
}

TEST(QuantPlanTest, FourBitsIsPostTraining) {
  QuantPlan plan;
  plan.defaults.weight_bits = 4;
  plan.defaults.activation_bits = 4;
  for (const ResolvedLayer& l : plan.Resolve(kNames)) {
    EXPECT_EQ(l.mode, QuantMode::kPtq) << l.name;
    EXPECT_EQ(l.params.mode, QuantMode::kAuto) << l.name;
  }
}

TEST(QuantPlanTest, ModeQatIsAnErrorForPtqEvenAtEightBits) {
  QuantPlan plan;
  LayerQuantOverride qat;
  qat.mode = QuantMode::kQat;
  plan.rules = {Rule("linear", qat, "q.json: layers[3]")};
  const std::string message = InputErrorOf([&] { plan.Resolve(kNames); });
  EXPECT_TRUE(HasPart(message, "linear: \"mode\": \"qat\" (from q.json: layers[3]) needs quantization-aware training"));
  EXPECT_TRUE(HasPart(message, "cimsim qat"));
  const std::vector<ResolvedLayer> resolved = plan.Resolve(kNames, true);
  EXPECT_EQ(resolved.back().name, "linear");
  EXPECT_EQ(resolved.back().mode, QuantMode::kQat);
}

TEST(QuantPlanTest, ARuleMatchingNoLayerIsAnErrorListingTheLayers) {
  QuantPlan plan;
  plan.rules = {Rule("layer3.*", Bits(6), "q.json: layers[0]"), Rule("layer4.*", Bits(6), "q.json: layers[1]")};
  const std::string message = InputErrorOf([&] { plan.Resolve(kNames); });
  EXPECT_TRUE(HasPart(message, "q.json: layers[1]: \"match\": \"layer4.*\" matches none of the model's 7 layers: "
                               "conv1, layer1.0.conv1, layer1.0.conv2, layer3.0.conv1, layer3.0.conv2, "
                               "layer3.0.shortcut.0, linear"));
}

TEST(QuantPlanTest, AnInvalidResolvedLayerNamesTheLayerAndTheRulesItTakes) {
  QuantPlan plan;
  plan.source = "q.json";
  plan.rules = {Rule("layer1.*", Bits(9), "q.json: layers[0]")};
  const std::string message = InputErrorOf([&] { plan.Resolve(kNames); });
  EXPECT_EQ(message,
            "q.json: layer1.0.conv1.weight_bits: 9 is out of range; allowed 2..8 (layer layer1.0.conv1 takes "
            "q.json: default, q.json: layers[0])");
}

TEST(QuantPlanTest, ResolveValidatesTheCalibration) {
  QuantPlan plan;
  plan.source = "q.json";
  plan.calibration.images = 0;
  EXPECT_EQ(InputErrorOf([&] { plan.Resolve(kNames); }), "q.json: calibration.images: 0 is out of range; allowed >= 1");
}

TEST(QuantPlanTest, ToStringNamesAreTheConfigWords) {
  EXPECT_EQ(ToString(RangeMethod::kMax), "max");
  EXPECT_EQ(ToString(RangeMethod::kPercentile), "percentile");
  EXPECT_EQ(ToString(RangeMethod::kMse), "mse");
  EXPECT_EQ(ToString(RangeMethod::kAciq), "aciq");
  EXPECT_EQ(ToString(QuantMode::kAuto), "auto");
  EXPECT_EQ(ToString(QuantMode::kPtq), "ptq");
  EXPECT_EQ(ToString(QuantMode::kQat), "qat");
}

}  // namespace
}  // namespace cimsim
