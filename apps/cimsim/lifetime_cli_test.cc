// End-to-end tests of lifetime runs (`cimsim experiment` with "lifetime", docs/lifetime.md) on a quantized
// random ResNet-8, PCM tiles and synthetic images: the (time, policy) points in results.h5 and
// summary.json; none equals per_column at calibrate_at; drift makes errors grow and global compensation
// shrink them again; reprogramming counted (0 with a threshold no layer reaches, > 0 with a tiny one);
// results do not depend on the thread count or on which other policies run; a resumed run equals an
// uninterrupted one; the figure scripts draw; bad lifetime settings exit 2 naming file, key and value;
// output-statistics recalibration at every time, independent of the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using LifetimeCliTest = CliTest;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

constexpr const char* kRandomCalibration = R"({"auto": {"inputs": "random", "fit_vectors": 64, "holdout_vectors": 64}})";

// A lifetime run on 6 synthetic images: 64 × 64 PCM tiles, 4-bit cells, an 8-bit calibrated ADC, two
// instances, calibration on random codes; `lifetime`, `extra` (more top-level keys) and the calibration
// as given.
std::string LifetimeConfig(const std::string& q, const std::string& data, const std::string& lifetime,
                           const std::string& extra = "", const std::string& calibration = kRandomCalibration) {
  return R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data + R"(", "count": 6},
      "xbar": {"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64, "slice_bits": 4,
               "adc": {"bits": 8, "range": "calibrated"}}},
      "calibration": )" + calibration + R"(,
      "instances": 2, "traces": {"layers": ["conv1"], "vectors": 3},
      "lifetime": )" + lifetime + extra + "}";
}

const char* kTimes = R"("times": [1, 3600, 31536000])";

struct PointRead {
  json params;
  std::vector<double> accuracy, dot_rmse, reference_relative, drift_alpha;
  std::vector<double> reprograms;
  std::string xbar;
};

PointRead ReadPoint(const std::string& file, int index, int layers, int instances = 2) {
  const H5File f = H5File::OpenRead(file);
  char name[32];
  std::snprintf(name, sizeof name, "/points/%04d", index);
  const std::string g = name;
  PointRead p;
  p.params = json::parse(f.ReadStringAttribute(g, "params"));
  p.xbar = f.ReadStringAttribute(g, "xbar");
  p.accuracy = f.ReadFiniteArray(g + "/accuracy", {instances});
  p.dot_rmse = f.ReadFiniteArray(g + "/dot_rmse", {instances, layers});
  p.reference_relative = f.ReadFiniteArray(g + "/reference_relative", {instances, layers});
  p.drift_alpha = f.ReadFiniteArray(g + "/drift_alpha", {instances, layers});
  p.reprograms = f.ReadFiniteArray(g + "/reprograms", {instances});
  return p;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

TEST_F(LifetimeCliTest, PointsPerTimeAndPolicyNoneEqualsPerColumnAtCalibrationAndFiguresDraw) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", LifetimeConfig(q, data, std::string("{") + kTimes + R"(,
      "policies": ["none", "global", "per_column", "reprogram"], "reprogram": {"threshold": 1e300}})"));
  const RunResult r = RunCimsim("experiment --config " + run + " --out " + Path("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string results = Path("out/results.h5");
  const H5File f = H5File::OpenRead(results);
  EXPECT_EQ(f.ReadIntAttribute("/", "points_total"), 12);
  EXPECT_EQ(f.ReadIntAttribute("/", "points_finished"), 12);
  EXPECT_EQ(json::parse(f.ReadStringAttribute("/", "swept")), json::parse(R"(["lifetime.time", "lifetime.policy"])"));
  EXPECT_EQ(json::parse(f.ReadStringAttribute("/", "lifetime"))["calibrate_at"], 1);
  const int layers = static_cast<int>(json::parse(f.ReadStringAttribute("/points/0000", "layers")).size());
  ASSERT_GT(layers, 5);

  // Point (time i, policy p) = 4·i + p.
  std::vector<PointRead> pts;
  for (int i = 0; i < 12; ++i) pts.push_back(ReadPoint(results, i, layers));
  const std::vector<std::string> policies = {"none", "global", "per_column", "reprogram"};
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(pts[i].params["lifetime.policy"], policies[i % 4]) << i;
    EXPECT_EQ(pts[i].params["lifetime.time"], json::parse("[1, 3600, 31536000]")[i / 4]) << i;
    EXPECT_NE(pts[i].xbar.find("\"read_time\":" + pts[i].params["lifetime.time"].dump()), std::string::npos)
        << pts[i].xbar;
  }
  // At calibrate_at = times[0] none and per_column are the same chip, calibration and read noise.
  EXPECT_EQ(pts[0].accuracy, pts[2].accuracy);
  EXPECT_EQ(pts[0].dot_rmse, pts[2].dot_rmse);
  EXPECT_EQ(pts[0].reference_relative, pts[2].reference_relative);
  // A threshold no layer reaches: reprogram is global, with no events.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(pts[4 * i + 3].accuracy, pts[4 * i + 1].accuracy) << i;
    EXPECT_EQ(pts[4 * i + 3].drift_alpha, pts[4 * i + 1].drift_alpha) << i;
    EXPECT_EQ(pts[4 * i + 3].reprograms, std::vector<double>(2, 0.0)) << i;
  }
  // A year of drift: without compensation the layers' errors grow a lot; global α > 1 brings them down.
  const double none_1s = Mean(pts[0].reference_relative), none_1y = Mean(pts[8].reference_relative);
  const double global_1y = Mean(pts[9].reference_relative), per_column_1y = Mean(pts[10].reference_relative);
  EXPECT_GT(none_1y, 2 * none_1s);
  EXPECT_LT(global_1y, none_1y / 2);
  EXPECT_LT(per_column_1y, none_1y / 2);
  for (double a : pts[9].drift_alpha) EXPECT_TRUE(a == 0.0 || a > 1.1) << a;   // 0: digital layers
  for (double a : pts[8].drift_alpha) EXPECT_TRUE(a == 0.0 || a == 1.0) << a;

  const json summary = json::parse(Read(Path("out/summary.json")));
  ASSERT_EQ(summary["points"].size(), 12u);
  EXPECT_EQ(summary["points"][3]["reprograms"], json::parse("[0, 0]"));
  EXPECT_EQ(summary["points"][3]["params"]["lifetime.policy"], "reprogram");
  EXPECT_NE(r.output.find("lifetime.time"), std::string::npos) << r.output;

  const std::string py = "/usr/bin/python3 " + std::string(CIMSIM_SOURCE_DIR) + "/scripts/";
  for (const std::string script : {"plot_lifetime.py --reprograms", "plot_lifetime_layers.py",
                                   "plot_lifetime_layers.py --metric reference_relative"}) {
    const std::string png = Path("fig" + std::to_string(script.size()) + ".png");
    const int rc = std::system((py + script + " " + results + " --out " + png + " > /dev/null").c_str());
    EXPECT_EQ(rc, 0) << script;
    EXPECT_GT(fs::exists(png) ? fs::file_size(png) : 0, 5000u) << script;
  }
}

TEST_F(LifetimeCliTest, ReprogramsWithATinyThresholdAndResultsDependOnNeitherThreadsNorOtherPolicies) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string lifetime = std::string("{") + kTimes + R"(, "policies": ["global", "reprogram"],
      "reprogram": {"metric": "error", "threshold": 1e-6}})";
  const RunResult one = RunCimsim("experiment --config " + Config("t1.json", LifetimeConfig(q, data, lifetime, R"(, "threads": 1)")) +
                                  " --out " + Path("t1"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const RunResult two = RunCimsim("experiment --config " + Config("t2.json", LifetimeConfig(q, data, lifetime, R"(, "threads": 2)")) +
                                  " --out " + Path("t2"));
  ASSERT_EQ(two.exit_code, 0) << two.output;
  // threads is not part of the results' config key, but the config attribute records it: compare the points.
  EXPECT_EQ(std::system(("h5diff " + Path("t1/results.h5") + " " + Path("t2/results.h5") + " /points /points").c_str()), 0);

  const std::string results = Path("t1/results.h5");
  const H5File f = H5File::OpenRead(results);
  const int layers = static_cast<int>(json::parse(f.ReadStringAttribute("/points/0000", "layers")).size());
  // Every CIM layer exceeds a 1e-6 error at every time: reprogrammed each time, counted cumulatively.
  const std::vector<double> first = ReadPoint(results, 1, layers).reprograms;
  const std::vector<double> last = ReadPoint(results, 5, layers).reprograms;
  EXPECT_GT(first[0], 0);
  EXPECT_EQ(last[0], 3 * first[0]);
  EXPECT_EQ(last[1], 3 * first[1]);
  const json summary = json::parse(Read(Path("t1/summary.json")));
  EXPECT_EQ(summary["points"][5]["reprograms"][0].get<double>(), last[0]);
  EXPECT_EQ(summary["points"][4]["reprograms"], json::parse("[0, 0]"));   // global

  // global alone gives the same global points: the streams do not depend on the other policies.
  const RunResult alone = RunCimsim("experiment --config " +
                                    Config("g.json", LifetimeConfig(q, data, std::string("{") + kTimes + R"(, "policies": ["global"]})")) +
                                    " --out " + Path("g"));
  ASSERT_EQ(alone.exit_code, 0) << alone.output;
  for (int i = 0; i < 3; ++i) {
    const PointRead a = ReadPoint(Path("g/results.h5"), i, layers), b = ReadPoint(results, 2 * i, layers);
    EXPECT_EQ(a.params, b.params);
    EXPECT_EQ(a.accuracy, b.accuracy);
    EXPECT_EQ(a.dot_rmse, b.dot_rmse);
    EXPECT_EQ(a.drift_alpha, b.drift_alpha);
  }
}

// "output_statistics" (docs/output_statistics.md) in a lifetime run and in a plain run: both run, give the
// same points for 1 and 2 threads, and at a year without compensation (conductances drifted far below
// what the calibration saw) the recalibrated layers' dot-product errors are smaller than without it.
TEST_F(LifetimeCliTest, OutputStatisticsAreRefittedAtEveryTimeAndDoNotDependOnThreads) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6), train = WriteData("train.bin", 60);
  const std::string lifetime = std::string("{") + kTimes + R"(, "policies": ["none"]})";
  const std::string stats = R"(, "output_statistics": {"images": 20, "data": ")" + train + R"("})";
  const RunResult plain = RunCimsim("experiment --config " + Config("p.json", LifetimeConfig(q, data, lifetime)) +
                                    " --out " + Path("p"));
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  for (const char* threads : {"1", "2"}) {
    const std::string name = std::string("s") + threads;
    const RunResult r = RunCimsim("experiment --config " +
                                  Config(name + ".json", LifetimeConfig(q, data, lifetime, stats + R"(, "threads": )" + threads)) +
                                  " --out " + Path(name));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(std::system(("h5diff " + Path("s1/results.h5") + " " + Path("s2/results.h5") + " /points /points").c_str()), 0);
  const H5File f = H5File::OpenRead(Path("p/results.h5"));
  const int layers = static_cast<int>(json::parse(f.ReadStringAttribute("/points/0000", "layers")).size());
  const PointRead year = ReadPoint(Path("p/results.h5"), 2, layers), fitted = ReadPoint(Path("s1/results.h5"), 2, layers);
  EXPECT_EQ(fitted.params, year.params);
  EXPECT_LT(Mean(fitted.dot_rmse), 0.5 * Mean(year.dot_rmse));
  EXPECT_TRUE(json::parse(Read(Path("s1/summary.json")))["config"].contains("output_statistics"));

  // Without "lifetime": the plain run path fits too, whatever the thread count.
  for (const char* threads : {"1", "2"}) {
    json config = json::parse(LifetimeConfig(q, data, "{}", stats + R"(, "threads": )" + threads));
    config.erase("lifetime");
    config["xbar"]["crossbar"]["read_time"] = 3600;
    std::ofstream(Path(std::string("n") + threads + ".json")) << config.dump();
    const RunResult r = RunCimsim("experiment --config " + Path(std::string("n") + threads + ".json") + " --out " +
                                  Path(std::string("n") + threads));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(std::system(("h5diff " + Path("n1/results.h5") + " " + Path("n2/results.h5") + " /points /points").c_str()), 0);
}

TEST_F(LifetimeCliTest, AResumedRunEqualsAnUninterruptedOne) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  const std::string run = Config("run.json", LifetimeConfig(q, data, std::string("{") + kTimes + R"(,
      "policies": ["none", "reprogram"], "reprogram": {"metric": "alpha", "threshold": 0.3}})"));
  ASSERT_EQ(RunCimsim("experiment --config " + run + " --out " + Path("whole")).exit_code, 0);
  ASSERT_EQ(RunCimsim("experiment --config " + run + " --out " + Path("cut")).exit_code, 0);
  // As if stopped after the first time and the none point of the second: the rest is run again, the
  // reprogram decisions of the finished points replayed.
  for (const char* p : {"0003", "0004", "0005"}) fs::remove(Path(std::string("cut/points/") + p + ".h5"));
  const RunResult resumed = RunCimsim("experiment --config " + run + " --out " + Path("cut") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("cut/results.h5")).c_str()), 0);
  const json summary = json::parse(Read(Path("cut/summary.json")));
  EXPECT_EQ(summary["points"][2]["resumed"], true);
  EXPECT_EQ(summary["points"][3]["resumed"], false);
}

TEST_F(LifetimeCliTest, BadLifetimeSettingsExitTwoNamingFileKeyAndValue) {
  const std::string q = Quantize(), data = WriteData("test.bin", 6);
  struct Bad {
    std::string json;
    std::vector<std::string> fragments;
  };
  const std::string ok = R"("policies": ["none"])";
  const std::vector<Bad> table = {
      {LifetimeConfig(q, data, R"({"times": [-1, 60], "policies": ["none"]})"),
       {"lifetime.times[0]: -1 is out of range; allowed finite numbers > 0 (seconds after programming)"}},
      {LifetimeConfig(q, data, R"({"times": [0], "policies": ["none"]})"), {"lifetime.times[0]: 0 is out of range"}},
      {LifetimeConfig(q, data, R"({"times": [1, 3600, 60], "policies": ["none"]})"),
       {"lifetime.times[2]: 60 must be > lifetime.times[1] (3600); the times are strictly increasing"}},
      {LifetimeConfig(q, data, R"({"times": [1, 1], "policies": ["none"]})"), {"lifetime.times[1]: 1 must be > lifetime.times[0] (1)"}},
      {LifetimeConfig(q, data, R"({"times": [1], "policies": ["none", "drift"]})"),
       {"lifetime.policies[1]: \"drift\" is not a lifetime policy; allowed none, global, per_column, reprogram"}},
      {LifetimeConfig(q, data, R"({"times": [1], "policies": ["none", "global", "none"]})"),
       {"lifetime.policies[2]: \"none\" appears twice"}},
      {LifetimeConfig(q, data, R"({"times": [1], "policies": []})"), {"lifetime.policies: expected a non-empty array"}},
      {LifetimeConfig(q, data, R"({"times": [60], "calibrate_at": 120, )" + ok + "}"),
       {"lifetime.calibrate_at: 120 is after lifetime.times[0] (60); allowed 0..60"}},
      {LifetimeConfig(q, data, R"({"times": [60], "policies": ["reprogram"]})"), {"lifetime.reprogram: required with the policy"}},
      {LifetimeConfig(q, data, R"({"times": [60], "policies": ["reprogram"], "reprogram": {"threshold": -2}})"),
       {"lifetime.reprogram.threshold: -2 is out of range; allowed finite numbers > 0"}},
      {LifetimeConfig(q, data, R"({"times": [60], "policies": ["reprogram"], "reprogram": {"metric": "rms", "threshold": 1}})"),
       {"lifetime.reprogram.metric: \"rms\" is not a reprogram metric; allowed error, alpha"}},
      {LifetimeConfig(q, data, R"({"times": [60], "speed": 2, )" + ok + "}"),
       {"lifetime.speed: unknown key; allowed: times, policies, calibrate_at, reprogram"}},
      {LifetimeConfig(q, data, R"({"times": [1, 60], )" + ok + "}", R"(, "sweep": [{"param": "crossbar.read_time", "values": [1, 60]}])"),
       {"sweep[0].param: \"crossbar.read_time\" cannot be swept with \"lifetime\""}},
      {LifetimeConfig(q, data, R"({"times": [60], )" + ok + "}", "", R"("none")"),
       {"lifetime: needs \"calibration\": \"auto\""}},
  };
  for (size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].json);
    const std::string name = "bad" + std::to_string(i) + ".json";
    std::vector<std::string> fragments = table[i].fragments;
    fragments.push_back(Path(name) + ": ");   // the file is named
    ExpectInputError(RunCimsim("experiment --config " + Config(name, table[i].json) + " --out " + Path("out_" + name)),
                     fragments);
    EXPECT_FALSE(fs::exists(Path("out_" + name + "/results.h5")));
  }
}

}  // namespace
}  // namespace cimsim
