// The experiment config (`cimsim experiment --config run.json`): every key parsed into the struct
// (hand-checked) and back through ExperimentConfigToJson; the sweep's cartesian product (last axis
// fastest), each point's params, chip and placement; and a table of rejections, each naming the
// config file, the exact key path and the problem.
#include "experiments/experiment_config.h"

#include <gtest/gtest.h>

#include <fstream>
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
using testing::ScopedTempDir;

constexpr const char* kSource = "run.json";

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Every "$NAME" in text replaced by value.
std::string Replace(std::string text, const std::string& name, const std::string& value) {
  for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + value.size()))
    text.replace(at, name.size(), value);
  return text;
}

// A temp directory with an (empty) model file and an (empty) calibration file: only their existence
// is checked at load. Texts name them "$MODEL", "$CAL" and the directory "$DIR".
class ExperimentConfigTest : public ::testing::Test {
 protected:
  ExperimentConfigTest() : dir_("experiment_config") {
    WriteFile(model_, "");
    WriteFile(cal_, "");
  }

  std::string Fill(const std::string& text) const {
    return Replace(Replace(Replace(text, "$MODEL", model_), "$CAL", cal_), "$DIR", dir_.path().string());
  }
  ExperimentConfig Parse(const std::string& text) const { return ParseExperimentConfig(json::parse(Fill(text)), kSource); }

  ScopedTempDir dir_;
  const std::string model_ = dir_.Path("model.h5");
  const std::string cal_ = dir_.Path("cal.h5");
};

// Field by field (the structs have no operator==).
void ExpectSameConfig(const ExperimentConfig& a, const ExperimentConfig& b) {
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.qmodel, b.qmodel);
  EXPECT_EQ(a.test_data, b.test_data);
  EXPECT_EQ(a.count, b.count);
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(a.xbar, b.xbar);
  EXPECT_EQ(a.calibration.kind, b.calibration.kind);
  EXPECT_EQ(a.calibration.file, b.calibration.file);
  EXPECT_EQ(a.calibration.params.fit_vectors, b.calibration.params.fit_vectors);
  EXPECT_EQ(a.calibration.params.holdout_vectors, b.calibration.params.holdout_vectors);
  EXPECT_EQ(a.calibration.params.seed, b.calibration.params.seed);
  EXPECT_EQ(a.calibration.params.adc_percentile, b.calibration.params.adc_percentile);
  EXPECT_EQ(a.calibration.params.mode, b.calibration.params.mode);
  EXPECT_EQ(a.calibration.inputs, b.calibration.inputs);
  EXPECT_EQ(a.calibration.data, b.calibration.data);
  EXPECT_EQ(a.calibration.images, b.calibration.images);
  EXPECT_EQ(a.placement.all, b.placement.all);
  EXPECT_EQ(a.placement.cim, b.placement.cim);
  EXPECT_EQ(a.placement.split, b.placement.split);
  EXPECT_EQ(a.instances, b.instances);
  ASSERT_EQ(a.sweep.size(), b.sweep.size());
  for (size_t i = 0; i < a.sweep.size(); ++i) {
    EXPECT_EQ(a.sweep[i].param, b.sweep[i].param) << i;
    EXPECT_EQ(a.sweep[i].values, b.sweep[i].values) << i;
  }
  EXPECT_EQ(a.traces.layers, b.traces.layers);
  EXPECT_EQ(a.traces.vectors, b.traces.vectors);
  EXPECT_EQ(a.threads, b.threads);
  EXPECT_EQ(a.noise_seed, b.noise_seed);
  ASSERT_EQ(a.output_statistics.has_value(), b.output_statistics.has_value());
  if (a.output_statistics) {
    EXPECT_EQ(a.output_statistics->images, b.output_statistics->images);
    EXPECT_EQ(a.output_statistics->seed, b.output_statistics->seed);
    EXPECT_EQ(a.output_statistics->data, b.output_statistics->data);
  }
  ASSERT_EQ(a.lifetime.has_value(), b.lifetime.has_value());
  if (a.lifetime) {
    EXPECT_EQ(a.lifetime->times, b.lifetime->times);
    EXPECT_EQ(a.lifetime->policies, b.lifetime->policies);
    EXPECT_EQ(a.lifetime->calibrate_at, b.lifetime->calibrate_at);
    ASSERT_EQ(a.lifetime->reprogram.has_value(), b.lifetime->reprogram.has_value());
    if (a.lifetime->reprogram) {
      EXPECT_EQ(a.lifetime->reprogram->metric, b.lifetime->reprogram->metric);
      EXPECT_EQ(a.lifetime->reprogram->threshold, b.lifetime->reprogram->threshold);
    }
  }
}

void ExpectRoundTrip(const ExperimentConfig& c) {
  const json j = ExperimentConfigToJson(c);
  SCOPED_TRACE(j.dump());
  ExpectSameConfig(ParseExperimentConfig(j, c.source), c);
}

TEST_F(ExperimentConfigTest, OnlyTheModelGivesTheDefaults) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}})");
  EXPECT_EQ(c.source, "run.json");
  EXPECT_EQ(c.qmodel, model_);
  EXPECT_EQ(c.test_data, "");
  EXPECT_EQ(c.count, 1000);
  EXPECT_EQ(c.first, 0);
  EXPECT_EQ(c.xbar, json::object());
  EXPECT_EQ(c.calibration.kind, CalibrationKind::kNone);
  EXPECT_TRUE(c.placement.all);
  EXPECT_TRUE(c.placement.cim.empty());
  EXPECT_EQ(c.placement.split, "");
  EXPECT_EQ(c.instances, 1);
  EXPECT_TRUE(c.sweep.empty());
  EXPECT_TRUE(c.traces.layers.empty());
  EXPECT_EQ(c.traces.vectors, 64);
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.noise_seed, 1u);
  EXPECT_FALSE(c.lifetime.has_value());
  EXPECT_FALSE(ExperimentConfigToJson(c).contains("lifetime"));   // results of runs without it stay as they were
  EXPECT_FALSE(c.output_statistics.has_value());
  EXPECT_FALSE(ExperimentConfigToJson(c).contains("output_statistics"));
  ExpectRoundTrip(c);
}

TEST_F(ExperimentConfigTest, OutputStatisticsParseWithDefaultsAndRoundTrip) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}, "output_statistics": {}})");
  ASSERT_TRUE(c.output_statistics.has_value());
  EXPECT_EQ(c.output_statistics->images, 200);
  EXPECT_EQ(c.output_statistics->seed, 1u);
  EXPECT_EQ(c.output_statistics->data, "");
  ExpectRoundTrip(c);
  const ExperimentConfig d = Parse(R"({"model": {"qmodel": "$MODEL"}, "calibration": "auto",
      "output_statistics": {"images": 500, "seed": 7, "data": "train.bin"},
      "lifetime": {"times": [3600], "policies": ["global"]}})");
  EXPECT_EQ(d.output_statistics->images, 500);
  EXPECT_EQ(d.output_statistics->seed, 7u);
  EXPECT_EQ(d.output_statistics->data, "train.bin");
  EXPECT_EQ(ExperimentConfigToJson(d)["output_statistics"],
            json::parse(R"({"images": 500, "seed": 7, "data": "train.bin"})"));
  ExpectRoundTrip(d);
}

TEST_F(ExperimentConfigTest, LifetimeParsesResolvesAndRoundTrips) {
  const std::string head = R"({"model": {"qmodel": "$MODEL"}, "calibration": "auto", )";
  const ExperimentConfig c = Parse(head + R"("lifetime": {"times": [1, 60, 3600.5, 315360000],
      "policies": ["per_column", "none", "reprogram"], "reprogram": {"metric": "alpha", "threshold": 0.25}},
      "sweep": [{"param": "crossbar.adc.bits", "values": [6, 8]}]})");
  ASSERT_TRUE(c.lifetime.has_value());
  EXPECT_EQ(c.lifetime->times, (std::vector<double>{1, 60, 3600.5, 315360000}));
  EXPECT_EQ(c.lifetime->policies, (std::vector<LifetimePolicy>{LifetimePolicy::kPerColumn, LifetimePolicy::kNone,
                                                                LifetimePolicy::kReprogram}));
  EXPECT_EQ(c.lifetime->calibrate_at, 1.0);   // default: the first time
  ASSERT_TRUE(c.lifetime->reprogram.has_value());
  EXPECT_EQ(c.lifetime->reprogram->metric, ReprogramMetric::kAlpha);
  EXPECT_EQ(c.lifetime->reprogram->threshold, 0.25);
  EXPECT_TRUE(c.lifetime->Has(LifetimePolicy::kNone));
  EXPECT_FALSE(c.lifetime->Has(LifetimePolicy::kGlobal));
  ExpectRoundTrip(c);
  EXPECT_EQ(ExperimentConfigToJson(c)["lifetime"], json::parse(R"({"times": [1, 60, 3600.5, 315360000],
      "policies": ["per_column", "none", "reprogram"], "calibrate_at": 1,
      "reprogram": {"metric": "alpha", "threshold": 0.25}})"));

  const ExperimentConfig d = Parse(head + R"("lifetime": {"times": [60, 3600], "policies": ["global"],
      "calibrate_at": 0}})");
  EXPECT_EQ(d.lifetime->calibrate_at, 0.0);
  EXPECT_FALSE(d.lifetime->reprogram.has_value());
  ExpectRoundTrip(d);
}

TEST_F(ExperimentConfigTest, EveryKeyParsesAndRoundTrips) {
  const ExperimentConfig c = Parse(R"({
      "model": {"qmodel": "$MODEL"},
      "data": {"test": "cifar/test_batch.bin", "count": 250, "first": 500},
      "xbar": {"seed": 7, "device": {"preset": "pcm"}, "crossbar": {"adc": {"bits": 6}}},
      "calibration": {"auto": {"fit_vectors": 128, "holdout_vectors": 64, "seed": 9, "adc_percentile": 99.5,
                               "mode": "global", "inputs": "activations", "data": "train_dir", "images": 40}},
      "placement": {"cim": ["conv1", "layer1.0.conv1"]},
      "instances": 3,
      "sweep": [{"param": "crossbar.read_time", "values": [0, 3600.5]}, {"param": "seed", "values": [1, 2, 3]}],
      "traces": {"layers": ["conv1", "fc"], "vectors": 16},
      "threads": 2,
      "noise_seed": 42})");
  EXPECT_EQ(c.source, "run.json");
  EXPECT_EQ(c.qmodel, model_);
  EXPECT_EQ(c.test_data, "cifar/test_batch.bin");
  EXPECT_EQ(c.count, 250);
  EXPECT_EQ(c.first, 500);
  EXPECT_EQ(c.xbar, json::parse(R"({"seed": 7, "device": {"preset": "pcm"}, "crossbar": {"adc": {"bits": 6}}})"));
  EXPECT_EQ(c.calibration.kind, CalibrationKind::kAuto);
  EXPECT_EQ(c.calibration.file, "");
  EXPECT_EQ(c.calibration.params.fit_vectors, 128);
  EXPECT_EQ(c.calibration.params.holdout_vectors, 64);
  EXPECT_EQ(c.calibration.params.seed, 9u);
  EXPECT_EQ(c.calibration.params.adc_percentile, 99.5);
  EXPECT_EQ(c.calibration.params.mode, CorrectionMode::kGlobal);
  EXPECT_EQ(c.calibration.inputs, CalibrationInputKind::kActivations);
  EXPECT_EQ(c.calibration.data, "train_dir");
  EXPECT_EQ(c.calibration.images, 40);
  EXPECT_FALSE(c.placement.all);
  EXPECT_EQ(c.placement.cim, (std::vector<std::string>{"conv1", "layer1.0.conv1"}));
  EXPECT_EQ(c.placement.split, "");
  EXPECT_EQ(c.instances, 3);
  ASSERT_EQ(c.sweep.size(), 2u);
  EXPECT_EQ(c.sweep[0].param, "crossbar.read_time");
  EXPECT_EQ(c.sweep[0].values, (std::vector<json>{0, 3600.5}));
  EXPECT_EQ(c.sweep[1].param, "seed");
  EXPECT_EQ(c.sweep[1].values, (std::vector<json>{1, 2, 3}));
  EXPECT_EQ(c.traces.layers, (std::vector<std::string>{"conv1", "fc"}));
  EXPECT_EQ(c.traces.vectors, 16);
  EXPECT_EQ(c.threads, 2);
  EXPECT_EQ(c.noise_seed, 42u);
  ExpectRoundTrip(c);

  // The JSON form itself, for the parts with a choice of spelling.
  const json j = ExperimentConfigToJson(c);
  EXPECT_EQ(j["placement"], json::parse(R"({"cim": ["conv1", "layer1.0.conv1"]})"));
  EXPECT_EQ(j["calibration"]["auto"]["mode"], "global");
  EXPECT_EQ(j["calibration"]["auto"]["inputs"], "activations");
  EXPECT_EQ(j["sweep"][1], json::parse(R"({"param": "seed", "values": [1, 2, 3]})"));
}

TEST_F(ExperimentConfigTest, EachCalibrationAndPlacementFormRoundTrips) {
  const ExperimentConfig none = Parse(R"({"model": {"qmodel": "$MODEL"}, "calibration": "none"})");
  EXPECT_EQ(none.calibration.kind, CalibrationKind::kNone);
  ExpectRoundTrip(none);

  // "auto" as a string: the calibrate defaults (activations, 100 images, 512 + 512 vectors).
  const ExperimentConfig automatic = Parse(R"({"model": {"qmodel": "$MODEL"}, "calibration": "auto"})");
  EXPECT_EQ(automatic.calibration.kind, CalibrationKind::kAuto);
  EXPECT_EQ(automatic.calibration.inputs, CalibrationInputKind::kActivations);
  EXPECT_EQ(automatic.calibration.images, 100);
  EXPECT_EQ(automatic.calibration.params.fit_vectors, 512);
  EXPECT_EQ(automatic.calibration.params.holdout_vectors, 512);
  EXPECT_EQ(automatic.calibration.params.mode, CorrectionMode::kColumn);
  EXPECT_TRUE(automatic.placement.all);
  ExpectRoundTrip(automatic);

  const ExperimentConfig random =
      Parse(R"({"model": {"qmodel": "$MODEL"}, "calibration": {"auto": {"inputs": "random"}}})");
  EXPECT_EQ(random.calibration.kind, CalibrationKind::kAuto);
  EXPECT_EQ(random.calibration.inputs, CalibrationInputKind::kRandom);
  EXPECT_FALSE(ExperimentConfigToJson(random)["calibration"]["auto"].contains("images"));
  ExpectRoundTrip(random);

  // A calibration file: allowed with a sweep of the split only (the chip stays the same).
  const ExperimentConfig file = Parse(R"({"model": {"qmodel": "$MODEL"}, "calibration": "$CAL",
      "placement": {"split": "layer1.0.conv2"}, "sweep": [{"param": "split", "values": ["conv1", "fc"]}]})");
  EXPECT_EQ(file.calibration.kind, CalibrationKind::kFile);
  EXPECT_EQ(file.calibration.file, cal_);
  EXPECT_FALSE(file.placement.all);
  EXPECT_EQ(file.placement.split, "layer1.0.conv2");
  EXPECT_TRUE(file.placement.cim.empty());
  ExpectRoundTrip(file);

  const ExperimentConfig all = Parse(R"({"model": {"qmodel": "$MODEL"}, "placement": {"cim": "all"}})");
  EXPECT_TRUE(all.placement.all);
  EXPECT_EQ(ExperimentConfigToJson(all)["placement"], json::parse(R"({"cim": "all"})"));
  ExpectRoundTrip(all);
}

TEST_F(ExperimentConfigTest, TwoAxesGiveTheirProductLastAxisFastest) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"},
      "xbar": {"seed": 5, "crossbar": {"rows_max": 64}},
      "placement": {"cim": ["conv1"]},
      "sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 8]},
                {"param": "device.preset", "values": ["ideal", "pcm"]}]})");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 6u);
  const int bits[6] = {4, 4, 6, 6, 8, 8};
  const char* presets[6] = {"ideal", "pcm", "ideal", "pcm", "ideal", "pcm"};
  for (size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(i);
    const ExperimentPoint& p = points[i];
    EXPECT_EQ(p.index, static_cast<int64_t>(i));
    EXPECT_EQ(p.params, (json{{"crossbar.adc.bits", bits[i]}, {"device.preset", presets[i]}}));
    EXPECT_EQ(p.xbar.crossbar.adc.bits, bits[i]);
    EXPECT_EQ(p.xbar.crossbar.rows_max, 64);             // from the base chip
    EXPECT_EQ(p.xbar.seed, 5u);
    EXPECT_EQ(p.xbar.device, DevicePreset(presets[i]));  // every parameter of the preset
    EXPECT_EQ(p.xbar.device.preset, presets[i]);
    EXPECT_TRUE(HasPart(p.xbar.source, "run.json: sweep point " + std::to_string(i)));
    EXPECT_FALSE(p.placement.all);                       // the placement is the config's
    EXPECT_EQ(p.placement.cim, std::vector<std::string>{"conv1"});
  }
  // The base chip itself is not changed by expanding.
  EXPECT_EQ(c.xbar, json::parse(R"({"seed": 5, "crossbar": {"rows_max": 64}})"));
}

TEST_F(ExperimentConfigTest, ASweptPresetKeepsTheBaseChipsOtherDeviceKeys) {
  // Inside "device" the preset applies first and the other keys override it, wherever the preset came from.
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}, "xbar": {"device": {"levels": 16}},
      "sweep": [{"param": "device.preset", "values": ["pcm", "rram"]}]})");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 2u);
  DeviceParams pcm = DevicePreset("pcm"), rram = DevicePreset("rram");
  pcm.levels = 16;
  rram.levels = 16;
  EXPECT_EQ(points[0].xbar.device, pcm);
  EXPECT_EQ(points[1].xbar.device, rram);
}

TEST_F(ExperimentConfigTest, ASplitAxisSetsThePlacementAndLeavesTheChip) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"},
      "xbar": {"seed": 3, "device": {"preset": "rram"}, "crossbar": {"adc": {"bits": 5}}},
      "placement": {"cim": "all"},
      "sweep": [{"param": "split", "values": ["conv1", "layer2.0.conv2", "fc"]}]})");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 3u);
  const XbarConfig base = ParseXbarConfig(c.xbar, "base");
  const char* splits[3] = {"conv1", "layer2.0.conv2", "fc"};
  for (size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(points[i].params, (json{{"split", splits[i]}}));
    EXPECT_FALSE(points[i].placement.all);
    EXPECT_TRUE(points[i].placement.cim.empty());
    EXPECT_EQ(points[i].placement.split, splits[i]);
    EXPECT_EQ(points[i].xbar.seed, base.seed);
    EXPECT_EQ(points[i].xbar.device, base.device);
    EXPECT_EQ(points[i].xbar.crossbar, base.crossbar);
    EXPECT_EQ(points[i].xbar.crossbar.adc.bits, 5);
  }
  // A swept split replaces the config's own split too.
  const ExperimentConfig over = Parse(R"({"model": {"qmodel": "$MODEL"}, "placement": {"split": "conv1"},
      "sweep": [{"param": "split", "values": ["fc"]}]})");
  const std::vector<ExperimentPoint> one = ExpandSweep(over);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].placement.split, "fc");
}

TEST_F(ExperimentConfigTest, ACimAxisSetsTheLayersOnCimPerPointAndLeavesTheChip) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}, "placement": {"split": "layer1.0.add"},
      "xbar": {"seed": 3, "crossbar": {"adc": {"bits": 5}}},
      "sweep": [{"param": "cim", "values": [["conv1"], ["layer1.0.conv1", "fc"], "all"]},
                {"param": "seed", "values": [3, 4]}]})");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 6u);
  const std::vector<std::vector<std::string>> lists = {{"conv1"}, {"layer1.0.conv1", "fc"}, {}};
  for (size_t i = 0; i < points.size(); ++i) {
    SCOPED_TRACE(i);
    const size_t v = i / 2;   // the last axis (seed) varies fastest
    EXPECT_EQ(points[i].params.at("cim"), c.sweep[0].values[v]);
    EXPECT_EQ(points[i].placement.all, v == 2);
    EXPECT_EQ(points[i].placement.cim, lists[v]);
    EXPECT_EQ(points[i].placement.split, "");   // the config's own split is replaced
    EXPECT_EQ(points[i].placement.path, "sweep[0].values[" + std::to_string(v) + "]");
    EXPECT_EQ(points[i].xbar.seed, 3u + i % 2);
    EXPECT_EQ(points[i].xbar.crossbar.adc.bits, 5);
  }
  // The stored config keeps the sweep as written and reads back to the same points.
  const ExperimentConfig back = ParseExperimentConfig(ExperimentConfigToJson(c), "stored");
  const std::vector<ExperimentPoint> again = ExpandSweep(back);
  ASSERT_EQ(again.size(), points.size());
  for (size_t i = 0; i < again.size(); ++i) {
    EXPECT_EQ(again[i].params, points[i].params);
    EXPECT_EQ(again[i].placement.cim, points[i].placement.cim);
    EXPECT_EQ(again[i].placement.all, points[i].placement.all);
  }
}

TEST_F(ExperimentConfigTest, WithoutASweepThereIsOnePointWithEmptyParams) {
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}, "xbar": {"seed": 11,
      "crossbar": {"adc": {"bits": 7}}}, "placement": {"split": "layer3.2.conv2"}})");
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].index, 0);
  EXPECT_EQ(points[0].params, json::object());
  EXPECT_EQ(points[0].xbar.seed, 11u);
  EXPECT_EQ(points[0].xbar.crossbar.adc.bits, 7);
  EXPECT_EQ(points[0].xbar.device, DevicePreset("ideal"));
  EXPECT_EQ(points[0].placement.split, "layer3.2.conv2");
  EXPECT_FALSE(points[0].placement.all);

  const std::vector<ExperimentPoint> plain = ExpandSweep(Parse(R"({"model": {"qmodel": "$MODEL"}})"));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].params, json::object());
  EXPECT_TRUE(plain[0].placement.all);
  EXPECT_EQ(plain[0].xbar.seed, 1u);
  EXPECT_EQ(plain[0].xbar.crossbar, CrossbarParams{});
}

TEST_F(ExperimentConfigTest, AChipGivenAsAFileIsReadFromIt) {
  const std::string xbar = dir_.Path("xbar.json");
  WriteFile(xbar, R"({"seed": 3, "device": {"preset": "pcm"}, "crossbar": {"rows_max": 64}})");
  const ExperimentConfig c = Parse(R"({"model": {"qmodel": "$MODEL"}, "xbar": "$DIR/xbar.json",
      "sweep": [{"param": "crossbar.adc.bits", "values": [4, 8]}]})");
  EXPECT_EQ(c.xbar, json::parse(R"({"seed": 3, "device": {"preset": "pcm"}, "crossbar": {"rows_max": 64}})"));
  const std::vector<ExperimentPoint> points = ExpandSweep(c);
  ASSERT_EQ(points.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(points[i].xbar.seed, 3u);
    EXPECT_EQ(points[i].xbar.device, DevicePreset("pcm"));
    EXPECT_EQ(points[i].xbar.crossbar.rows_max, 64);
    EXPECT_EQ(points[i].xbar.crossbar.adc.bits, i == 0 ? 4 : 8);
  }
  // The JSON form carries the chip itself, so it no longer depends on the file.
  EXPECT_EQ(ExperimentConfigToJson(c)["xbar"], c.xbar);
  ExpectRoundTrip(c);

  // A bad chip file names that file and the key; a missing one names the file.
  WriteFile(dir_.Path("bad_xbar.json"), R"({"crossbar": {"adc": {"bits": 40}}})");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { Parse(R"({"model": {"qmodel": "$MODEL"}, "xbar": "$DIR/bad_xbar.json"})"); }),
                      dir_.Path("bad_xbar.json") + ": crossbar.adc.bits: 40 is out of range; allowed 1..24"));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { Parse(R"({"model": {"qmodel": "$MODEL"}, "xbar": "$DIR/none.json"})"); }),
                      "run.json: xbar: crossbar config \"" + dir_.Path("none.json") + "\" not found"));
}

TEST_F(ExperimentConfigTest, LoadReadsAFileAndNamesItInErrors) {
  const std::string run = dir_.Path("run.json");
  WriteFile(run, Fill(R"({"model": {"qmodel": "$MODEL"}, "instances": 4})"));
  const ExperimentConfig c = LoadExperimentConfig(run);
  EXPECT_EQ(c.source, run);
  EXPECT_EQ(c.instances, 4);

  WriteFile(run, "{");
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadExperimentConfig(run); }), run + ": not valid JSON: "));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadExperimentConfig(dir_.Path("missing.json")); }),
                      dir_.Path("missing.json") + ": experiment config not found"));
  WriteFile(run, Fill(R"({"model": {"qmodel": "$MODEL"}, "sweep": [{"param": "crossbar.adc.bits", "values": [8, 40]}]})"));
  EXPECT_TRUE(HasPart(InputErrorOf([&] { LoadExperimentConfig(run); }),
                      run + ": sweep[0].values[1]: crossbar.adc.bits = 40: crossbar.adc.bits: 40 is out of range; "
                            "allowed 1..24"));
}

TEST_F(ExperimentConfigTest, EveryRejectionNamesTheFileThePathAndTheProblem) {
  struct Bad {
    std::string text, message;
  };
  const std::string m = R"({"model": {"qmodel": "$MODEL"}, )";   // a valid start; each case adds its keys
  const std::string top_keys = "allowed: model, data, xbar, calibration, placement, instances, sweep, traces, "
                               "threads, noise_seed, lifetime, output_statistics";
  const std::string a = R"({"model": {"qmodel": "$MODEL"}, "calibration": "auto", )";   // lifetime cases
  const std::string not_sweepable = " is not sweepable; allowed \"split\", \"cim\", \"seed\" or a path inside the "
                                    "chip config starting with \"device.\" or \"crossbar.\"";
  const std::vector<Bad> table = {
      // Structure and unknown keys.
      {R"([1])", "run.json: expected an object {...}, got [1]"},
      {m + R"("instance": 2})", "run.json: instance: unknown key; " + top_keys},
      {R"({"model": {"qmodel": "$MODEL", "path": "x"}})", "run.json: model.path: unknown key; allowed: qmodel"},
      {m + R"("data": {"test": "x", "size": 3}})", "run.json: data.size: unknown key; allowed: test, count, first"},
      {m + R"("calibration": {"file": "x"}})", "run.json: calibration.file: unknown key; allowed: auto"},
      {m + R"("calibration": {"auto": {"vectors": 5}}})",
       "run.json: calibration.auto.vectors: unknown key; allowed: fit_vectors, holdout_vectors, seed, adc_percentile, "
       "mode, inputs, data, images"},
      {m + R"("placement": {"cim": "all", "cloud": 1}})",
       "run.json: placement.cloud: unknown key; allowed: cim, split"},
      {m + R"("sweep": [{"param": "seed", "values": [1]}, {"param": "crossbar.adc.bits", "values": [4], "step": 1}]})",
       "run.json: sweep[1].step: unknown key; allowed: param, values"},
      {m + R"("traces": {"layer": ["conv1"]}})", "run.json: traces.layer: unknown key; allowed: layers, vectors"},
      {m + R"("xbar": {"crossbar": {"adc": {"bitz": 8}}}})",
       "run.json: xbar: crossbar.adc.bitz: unknown key; allowed: bits, range, fixed_range"},
      {m + R"("xbar": 5})", "run.json: xbar: expected an object {...}, got 5"},
      {m + R"("sweep": [3]})", "run.json: sweep[0]: expected an object {...}, got 3"},
      {m + R"("sweep": [{"values": [1]}]})", "run.json: sweep[0].param: required (e.g. \"crossbar.adc.bits\")"},
      {m + R"("sweep": [{"param": "seed"}]})", "run.json: sweep[0].values: required, a non-empty array"},
      {m + R"("output_statistics": {"image": 100}})",
       "run.json: output_statistics.image: unknown key; allowed: images, seed, data"},
      {m + R"("output_statistics": true})", "run.json: output_statistics: expected an object {...}, got true"},
      {m + R"("output_statistics": {"images": 5}})",
       "run.json: output_statistics.images: 5 is out of range; allowed 10..50000"},
      {m + R"("output_statistics": {"images": 25}})",
       "run.json: output_statistics.images: 25 is not a multiple of 10 (a class-balanced subset)"},
      {m + R"("output_statistics": {"seed": -2}})",
       "run.json: output_statistics.seed: -2 is out of range; allowed 0..18446744073709551615"},
      // Wrong types.
      {m + R"("data": {"count": "100"}})", "run.json: data.count: expected an integer, got \"100\""},
      {m + R"("instances": 1.5})", "run.json: instances: expected an integer, got 1.5"},
      {m + R"("sweep": {"param": "seed", "values": [1]}})",
       "run.json: sweep: expected an array of {\"param\": ..., \"values\": [...]}, got {\"param\":\"seed\",\"values\":[1]}"},
      {m + R"("sweep": [{"param": "seed", "values": 4}]})", "run.json: sweep[0].values: expected a non-empty array, got 4"},
      {m + R"("sweep": [{"param": 7, "values": [1]}]})", "run.json: sweep[0].param: expected a string, got 7"},
      {m + R"("traces": {"layers": "conv1"}})",
       "run.json: traces.layers: expected an array of layer names, got \"conv1\""},
      {m + R"("traces": {"layers": ["conv1", 2]}})", "run.json: traces.layers[1]: expected a string, got 2"},
      {m + R"("threads": -1})", "run.json: threads: -1 is out of range; allowed 0..1024"},
      {m + R"("noise_seed": -1})", "run.json: noise_seed: -1 is out of range; allowed 0..18446744073709551615"},
      {R"({"model": "$MODEL"})", "run.json: model: expected an object {...}, got \""},
      // Out of range.
      {m + R"("data": {"count": 0}})", "run.json: data.count: 0 is out of range; allowed 1..10000000"},
      {m + R"("data": {"first": -1}})", "run.json: data.first: -1 is out of range; allowed 0..10000000"},
      {m + R"("instances": 0})", "run.json: instances: 0 is out of range; allowed 1..1000"},
      {m + R"("instances": 1001})", "run.json: instances: 1001 is out of range; allowed 1..1000"},
      {m + R"("traces": {"vectors": 0}})", "run.json: traces.vectors: 0 is out of range; allowed 1..100000"},
      {m + R"("calibration": {"auto": {"images": 15}}})",
       "run.json: calibration.auto.images: 15 is not a multiple of 10 (a class-balanced subset)"},
      {m + R"("calibration": {"auto": {"images": 5}}})",
       "run.json: calibration.auto.images: 5 is out of range; allowed 10..50000"},
      {m + R"("calibration": {"auto": {"adc_percentile": 0}}})",
       "run.json: calibration.auto.adc_percentile: 0 is out of range; allowed (0, 100]"},
      {m + R"("calibration": {"auto": {"fit_vectors": 0}}})",
       "run.json: calibration.auto.fit_vectors: 0 is out of range; allowed 1..1000000"},
      // The model.
      {R"({"instances": 1})", "run.json: model: required, {\"qmodel\": \"Q.h5\"}"},
      {R"({"model": {}})", "run.json: model.qmodel: required, the quantized model file (cimsim quantize)"},
      {R"({"model": {"qmodel": ""}})", "run.json: model.qmodel: required, the quantized model file (cimsim quantize)"},
      {R"({"model": {"qmodel": "$DIR/none.h5"}})", "run.json: model.qmodel: \"$DIR/none.h5\" not found"},
      // Sweeps.
      {m + R"("sweep": [{"param": "seed", "values": []}]})", "run.json: sweep[0].values: expected a non-empty array, got []"},
      {m + R"("sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 4]}]})",
       "run.json: sweep[0].values[2]: 4 appears twice"},
      {m + R"("sweep": [{"param": "split", "values": ["conv1", "fc", "conv1"]}]})",
       "run.json: sweep[0].values[2]: \"conv1\" appears twice"},
      {m + R"("sweep": [{"param": "crossbar.adc.bits", "values": [4]}, {"param": "crossbar.adc.bits", "values": [6]}]})",
       "run.json: sweep[1].param: \"crossbar.adc.bits\" is swept twice"},
      {m + R"("sweep": [{"param": "model.qmodel", "values": ["a.h5"]}]})",
       "run.json: sweep[0].param: \"model.qmodel\"" + not_sweepable},
      {m + R"("sweep": [{"param": "threads", "values": [1, 2]}]})", "run.json: sweep[0].param: \"threads\"" + not_sweepable},
      {m + R"("sweep": [{"param": "device", "values": [{}]}]})", "run.json: sweep[0].param: \"device\"" + not_sweepable},
      {m + R"("sweep": [{"param": "crossbar.adc.bits", "values": [8, 40]}]})",
       "run.json: sweep[0].values[1]: crossbar.adc.bits = 40: crossbar.adc.bits: 40 is out of range; allowed 1..24"},
      {m + R"("sweep": [{"param": "crossbar.adc.bits", "values": ["8"]}]})",
       "run.json: sweep[0].values[0]: crossbar.adc.bits = \"8\": crossbar.adc.bits: expected an integer, got \"8\""},
      {m + R"("sweep": [{"param": "crossbar.adc.gain", "values": [1]}]})",
       "run.json: sweep[0].values[0]: crossbar.adc.gain = 1: crossbar.adc.gain: unknown key; allowed: bits, range, "
       "fixed_range"},
      {m + R"("sweep": [{"param": "seed", "values": [1]}, {"param": "device.preset", "values": ["pcm", "sram"]}]})",
       "run.json: sweep[1].values[1]: device.preset = \"sram\": device.preset: \"sram\" is not a device preset; "
       "allowed ideal, pcm, rram"},
      {m + R"("sweep": [{"param": "device.g_min", "values": [0, 30]}]})",
       "run.json: sweep[0].values[1]: device.g_min = 30: device.g_min: 30 must be < device.g_max (25)"},
      {m + R"("xbar": {"device": {"g_min": 30}}})", "run.json: xbar: device.g_min: 30 must be < device.g_max (25)"},
      // Each value alone is a good chip; one combination is not.
      {m + R"("xbar": {"device": {"g_max": 40}},
              "sweep": [{"param": "device.g_min", "values": [0, 30]}, {"param": "device.g_max", "values": [40, 20]}]})",
       "run.json: sweep point 3 {\"device.g_max\":20,\"device.g_min\":30}: device.g_min: 30 must be < device.g_max (20)"},
      {m + R"("sweep": [{"param": "split", "values": ["conv1", 1]}]})",
       "run.json: sweep[0].values[1]: expected a node name, got 1"},
      {m + R"("sweep": [{"param": "split", "values": [""]}]})", "run.json: sweep[0].values[0]: expected a node name, got \"\""},
      {m + R"("placement": {"cim": ["conv1"]}, "sweep": [{"param": "split", "values": ["conv1"]}]})",
       "run.json: sweep: sweeping \"split\" needs \"placement\" {\"cim\": \"all\"} or {\"split\": ...}"},
      {m + R"("sweep": [{"param": "cim", "values": [["conv1"], []]}]})",
       "run.json: sweep[0].values[1]: [] is neither \"all\" nor a non-empty array of layer names"},
      {m + R"("sweep": [{"param": "cim", "values": ["conv1"]}]})",
       "run.json: sweep[0].values[0]: \"conv1\" is neither \"all\" nor a non-empty array of layer names"},
      {m + R"("sweep": [{"param": "cim", "values": [["conv1", "fc", "conv1"]]}]})",
       "run.json: sweep[0].values[0][2]: 'conv1' appears twice"},
      {m + R"("sweep": [{"param": "cim", "values": [["fc"], ["fc"]]}]})", "run.json: sweep[0].values[1]: [\"fc\"] appears twice"},
      {m + R"("sweep": [{"param": "cim", "values": [["fc"]]}, {"param": "split", "values": ["conv1"]}]})",
       "run.json: sweep: \"split\" and \"cim\" are both swept; each sets the whole placement of a point, sweep one of them"},
      // Placement.
      {m + R"("placement": {"cim": "all", "split": "conv1"}})",
       "run.json: placement: expected exactly one of \"cim\" and \"split\""},
      {m + R"("placement": {}})", "run.json: placement: expected exactly one of \"cim\" and \"split\""},
      {m + R"("placement": {"cim": []}})",
       "run.json: placement.cim: [] is neither \"all\" nor a non-empty array of layer names"},
      {m + R"("placement": {"cim": "some"}})",
       "run.json: placement.cim: \"some\" is neither \"all\" nor a non-empty array of layer names"},
      {m + R"("placement": {"cim": ["conv1", 3]}})", "run.json: placement.cim[1]: expected a string, got 3"},
      {m + R"("placement": {"split": ""}})", "run.json: placement.split: expected a node name"},
      // Calibration.
      {m + R"("calibration": "none.h5"})",
       "run.json: calibration: \"none.h5\" is neither \"none\", \"auto\" nor an existing calibration file"},
      {m + R"("calibration": {}})", "run.json: calibration: expected \"none\", \"auto\", a file name or {\"auto\": {...}}"},
      {m + R"("calibration": "$CAL", "instances": 2})",
       "run.json: calibration: a calibration file fits one chip; with \"instances\" > 1 use \"auto\""},
      {m + R"("calibration": "$CAL", "sweep": [{"param": "crossbar.adc.bits", "values": [4, 8]}]})",
       "run.json: calibration: a calibration file fits one chip; sweeping \"crossbar.adc.bits\" needs \"auto\""},
      {m + R"("calibration": "$CAL", "sweep": [{"param": "seed", "values": [1, 2]}]})",
       "run.json: calibration: a calibration file fits one chip; sweeping \"seed\" needs \"auto\""},
      {m + R"("calibration": {"auto": {"inputs": "random", "data": "train"}}})",
       "run.json: calibration.auto.data: only allowed with \"inputs\": \"activations\""},
      {m + R"("calibration": {"auto": {"inputs": "random", "images": 20}}})",
       "run.json: calibration.auto.images: only allowed with \"inputs\": \"activations\""},
      {m + R"("calibration": {"auto": {"mode": "rows"}}})",
       "run.json: calibration.auto.mode: \"rows\" is not a correction mode; allowed column, global"},
      {m + R"("calibration": {"auto": {"inputs": "noise"}}})",
       "run.json: calibration.auto.inputs: \"noise\" is not an input kind; allowed random, activations, traces"},
      {m + R"("calibration": {"auto": {"inputs": "traces"}}})",
       "run.json: calibration.auto.inputs: \"traces\" is only for cimsim calibrate"},
      // Lifetime.
      {a + R"("lifetime": [1]})", "run.json: lifetime: expected an object {...}, got [1]"},
      {a + R"("lifetime": {"policies": ["none"]}})",
       "run.json: lifetime.times: required, e.g. [1, 60, 3600, 86400] (seconds after programming)"},
      {a + R"("lifetime": {"times": [], "policies": ["none"]}})",
       "run.json: lifetime.times: expected an array of 1..64 times in seconds, got []"},
      {a + R"("lifetime": {"times": [-5], "policies": ["none"]}})",
       "run.json: lifetime.times[0]: -5 is out of range; allowed finite numbers > 0 (seconds after programming)"},
      {a + R"("lifetime": {"times": [1, 0], "policies": ["none"]}})",
       "run.json: lifetime.times[1]: 0 is out of range; allowed finite numbers > 0 (seconds after programming)"},
      {a + R"("lifetime": {"times": [1, "60"], "policies": ["none"]}})",
       "run.json: lifetime.times[1]: expected a number, got \"60\""},
      {a + R"("lifetime": {"times": [3600, 60], "policies": ["none"]}})",
       "run.json: lifetime.times[1]: 60 must be > lifetime.times[0] (3600); the times are strictly increasing"},
      {a + R"("lifetime": {"times": [1]}})",
       "run.json: lifetime.policies: required, a non-empty array of none, global, per_column, reprogram"},
      {a + R"("lifetime": {"times": [1], "policies": "none"}})",
       "run.json: lifetime.policies: expected a non-empty array of none, global, per_column, reprogram, got \"none\""},
      {a + R"("lifetime": {"times": [1], "policies": ["none", "columns"]}})",
       "run.json: lifetime.policies[1]: \"columns\" is not a lifetime policy; allowed none, global, per_column, "
       "reprogram"},
      {a + R"("lifetime": {"times": [1], "policies": ["global", "global"]}})",
       "run.json: lifetime.policies[1]: \"global\" appears twice"},
      {a + R"("lifetime": {"times": [10], "policies": ["none"], "calibrate_at": 20}})",
       "run.json: lifetime.calibrate_at: 20 is after lifetime.times[0] (10); allowed 0..10 (a chip is calibrated "
       "before it is used)"},
      {a + R"("lifetime": {"times": [10], "policies": ["none"], "calibrate_at": -1}})",
       "run.json: lifetime.calibrate_at: -1 is out of range; allowed finite numbers >= 0 (seconds after programming)"},
      {a + R"("lifetime": {"times": [10], "policies": ["reprogram"]}})",
       "run.json: lifetime.reprogram: required with the policy \"reprogram\", e.g. {\"metric\": \"error\", "
       "\"threshold\": 0.2}"},
      {a + R"("lifetime": {"times": [10], "policies": ["none"], "reprogram": {"threshold": 1}}})",
       "run.json: lifetime.reprogram: only allowed with \"reprogram\" in lifetime.policies"},
      {a + R"("lifetime": {"times": [10], "policies": ["reprogram"], "reprogram": {"metric": "error"}}})",
       "run.json: lifetime.reprogram.threshold: required, a number > 0 (a layer whose metric exceeds it is "
       "reprogrammed)"},
      {a + R"("lifetime": {"times": [10], "policies": ["reprogram"], "reprogram": {"threshold": 0}}})",
       "run.json: lifetime.reprogram.threshold: 0 is out of range; allowed finite numbers > 0"},
      {a + R"("lifetime": {"times": [10], "policies": ["reprogram"], "reprogram": {"threshold": 1, "every": 2}}})",
       "run.json: lifetime.reprogram.every: unknown key; allowed: metric, threshold"},
      {m + R"("lifetime": {"times": [10], "policies": ["none"]}})",
       "run.json: lifetime: needs \"calibration\": \"auto\" or {\"auto\": {...}} (the policies calibrate and read "
       "calibration inputs at every time); here it is \"none\""},
      {m + R"("calibration": "$CAL", "lifetime": {"times": [10], "policies": ["none"]}})",
       "run.json: lifetime: needs \"calibration\": \"auto\" or {\"auto\": {...}} (the policies calibrate and read "
       "calibration inputs at every time); here it is a calibration file"},
      {a + R"("xbar": {"crossbar": {"read_time": 3600}}, "lifetime": {"times": [10], "policies": ["none"]}})",
       "run.json: xbar.crossbar.read_time: 3600: not allowed with \"lifetime\", which reads the chip at "
       "lifetime.times (calibrated at lifetime.calibrate_at); remove one of the two"},
      {a + R"("sweep": [{"param": "seed", "values": [1, 2]}, {"param": "crossbar.read_time", "values": [1, 60]}],
              "lifetime": {"times": [10], "policies": ["none"]}})",
       "run.json: sweep[1].param: \"crossbar.read_time\" cannot be swept with \"lifetime\": the lifetime times are "
       "the read times (ambiguous); remove the sweep or the \"lifetime\" key"},
      {a + R"("xbar": {"crossbar": {"mapping": "offset"}}, "lifetime": {"times": [10], "policies": ["none", "global"]}})",
       "run.json: lifetime.policies: \"global\" needs \"mapping\": \"differential\": one factor per layer rescales "
       "the analog column outputs"},
      {a + R"("sweep": [{"param": "crossbar.mapping", "values": ["differential", "offset"]}],
              "lifetime": {"times": [10], "policies": ["reprogram"], "reprogram": {"threshold": 1}}})",
       "run.json: lifetime.policies: \"reprogram\" needs \"mapping\": \"differential\" (sweep point 1 "
       "{\"crossbar.mapping\":\"offset\"})"},
  };
  EXPECT_GE(table.size(), 30u);
  for (const Bad& bad : table) {
    const std::string text = Fill(bad.text);
    const std::string message = InputErrorOf([&] { ParseExperimentConfig(json::parse(text), kSource); });
    EXPECT_TRUE(HasPart(message, Fill(bad.message))) << text;
  }
}

}  // namespace
}  // namespace cimsim
