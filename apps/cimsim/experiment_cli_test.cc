// End-to-end tests of `cimsim experiment`: a small sweep whose ideal chip reproduces the integer
// engine and whose results the figure scripts draw; an interrupted (SIGTERM) and resumed run that
// writes the same results.h5 as an uninterrupted one; bad configs that exit 2 and write nothing.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"


namespace cimsim {
namespace {

namespace fs = std::filesystem;
using ExperimentCliTest = CliTest;

// A 64 × 64-tile PCM chip with automatic calibration: the experiment keys the tests below share.
std::string PcmChip() {
  return R"(
      "xbar": {"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64}},
      "calibration": {"auto": {"inputs": "random", "fit_vectors": 32, "holdout_vectors": 32}},)";
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// An experiment on a quantized random ResNet-8 and a synthetic test file.
std::string Experiment(const std::string& q, const std::string& data, int count, const std::string& rest) {
  return R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data + R"(", "count": )" +
         std::to_string(count) + "}" + (rest.empty() ? "" : ", " + rest) + "}";
}

TEST_F(ExperimentCliTest, SweepWritesResultsIdealChipEqualsIntegerEngineAndFiguresDraw) {
  const std::string q = Quantize(), data = WriteData("test.bin", 30);
  const RunResult integer = RunCimsim("infer --qmodel " + q + " --data " + data + " --json " + Path("int.json"));
  ASSERT_EQ(integer.exit_code, 0) << integer.output;
  const nlohmann::json int_json = nlohmann::json::parse(Read(Path("int.json")));
  // Ideal devices, 1-bit input slices, 64-row tiles, 4-bit cells: full scale 64·15 < 2^11 − 1, so a
  // 12-bit ADC is exact; a 3-bit one is not. PCM with read noise, two instances.
  const std::string run = Config("run.json", Experiment(q, data, 30, R"(
      "xbar": {"device": {"preset": "ideal"}, "crossbar": {"rows_max": 64, "cols_max": 64, "slice_bits": 4,
               "adc": {"bits": 12}}},
      "instances": 2,
      "sweep": [{"param": "device.preset", "values": ["ideal", "pcm"]}, {"param": "crossbar.adc.bits", "values": [12, 3]}],
      "traces": {"layers": ["conv1", "linear"], "vectors": 5})"));
  const RunResult r = RunCimsim("experiment --config " + run + " --out " + Path("out"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("accuracy %"), std::string::npos) << r.output;
  const nlohmann::json summary = nlohmann::json::parse(Read(Path("out/summary.json")));
  ASSERT_EQ(summary["points"].size(), 4u);
  const nlohmann::json& ideal12 = summary["points"][0];
  EXPECT_EQ(ideal12["params"], nlohmann::json::parse(R"({"device.preset": "ideal", "crossbar.adc.bits": 12})"));
  const double int_accuracy = static_cast<double>(int_json["correct"].get<int64_t>()) / 30;
  for (double a : ideal12["accuracy"].get<std::vector<double>>()) EXPECT_EQ(a, int_accuracy);
  for (double rel : ideal12["dot_relative"].get<std::vector<double>>()) EXPECT_EQ(rel, 0.0);
  // The 3-bit ADC and PCM do make errors.
  for (int p : {1, 2, 3}) {
    const auto rel = summary["points"][p]["dot_relative"].get<std::vector<double>>();
    EXPECT_GT(*std::max_element(rel.begin(), rel.end()), 0.0) << p;
  }
  const std::string py = "/usr/bin/python3 " + std::string(CIMSIM_SOURCE_DIR) + "/scripts/";
  for (const std::string script : {"plot_dot_products.py", "plot_error_hist.py", "plot_accuracy_sweep.py"}) {
    const std::string png = Path(script + ".png");
    const int rc = std::system((py + script + " " + Path("out/results.h5") + " --out " + png + " > /dev/null").c_str());
    EXPECT_EQ(rc, 0) << script;
    EXPECT_GT(fs::exists(png) ? fs::file_size(png) : 0, 5000u) << script;
  }
  // The flat table: a row per (point, instance); and the h5py, pandas and xarray snippets of
  // docs/results_format.md run on this run.
  std::ifstream csv(Path("out/table.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header.rfind("point,instance,device.preset,crossbar.adc.bits,split,transmitted_bytes,accuracy,dot_relative/conv1", 0), 0u) << header;
  int rows = 0;
  for (std::string line; std::getline(csv, line);) ++rows;
  EXPECT_EQ(rows, 4 * 2);
  const std::string doc = Read(std::string(CIMSIM_SOURCE_DIR) + "/docs/results_format.md");
  int snippets = 0;
  for (size_t at = doc.find("```python\n"); at != std::string::npos; at = doc.find("```python\n", at + 1)) {
    const size_t begin = at + 10, end = doc.find("\n```", begin);
    std::string code = doc.substr(begin, end - begin);
    const std::string placeholder = "DIR = \"out/experiment\"";
    ASSERT_NE(code.find(placeholder), std::string::npos) << code;
    code.replace(code.find(placeholder), placeholder.size(), "DIR = \"" + Path("out") + "\"");
    const std::string file = Path("snippet" + std::to_string(snippets++) + ".py");
    std::ofstream(file) << code;
    const int rc = std::system(("/usr/bin/python3 " + file + " > " + file + ".log 2>&1").c_str());
    EXPECT_EQ(rc, 0) << code << "\n" << Read(file + ".log");
  }
  EXPECT_EQ(snippets, 3);

  // Calibrating from the traces of point 2 (PCM, 12-bit ADC), instance 1 (the chip of seed 1 + 1).
  const std::string chip = R"({"seed": 2, "device": {"preset": "pcm"},
      "crossbar": {"rows_max": 64, "cols_max": 64, "slice_bits": 4, "adc": {"bits": 12}}})";
  const auto trace_cal = [&](const std::string& name, const std::string& xbar, const std::string& extra) {
    return RunCimsim("calibrate --config " +
                     Config(name, R"({"qmodel": ")" + q + R"(", "xbar": )" + xbar + R"(, "inputs": "traces",
                         "traces": {"file": ")" + Path("out/results.h5") + R"(", "point": 2, "instance": 1})" + extra + "}") +
                     " --out " + Path(name + ".h5"));
  };
  const RunResult cal = trace_cal("trace_cal.json", chip, "");
  ASSERT_EQ(cal.exit_code, 0) << cal.output;
  EXPECT_NE(cal.output.find("conv1"), std::string::npos) << cal.output;
  EXPECT_NE(cal.output.find("linear"), std::string::npos) << cal.output;
  EXPECT_NE(cal.output.find("2 layers calibrated"), std::string::npos) << cal.output;
  const std::string xbar_file = Config("chip.json", chip);
  const RunResult calibrated = RunCimsim("infer --qmodel " + q + " --data " + data + " --crossbar " + xbar_file +
                                         " --calibration " + Path("trace_cal.json.h5"));
  EXPECT_EQ(calibrated.exit_code, 0) << calibrated.output;
  ExpectInputError(trace_cal("untraced.json", chip, R"(, "layers": ["layer1.0.conv1"])"), {"'layer1.0.conv1' has no traces"});
  ExpectInputError(trace_cal("other_adc.json", R"({"seed": 2, "device": {"preset": "pcm"},
      "crossbar": {"rows_max": 64, "cols_max": 64, "slice_bits": 4, "adc": {"bits": 6}}})", ""), {"another ADC setting"});
  EXPECT_FALSE(fs::exists(Path("untraced.json.h5")));

  // A split sweep: accuracy and bytes per split.
  const std::string split = Config("split.json", Experiment(q, data, 10, R"(
      "xbar": {"device": {"preset": "pcm"}}, "placement": {"split": "conv1"},
      "sweep": [{"param": "split", "values": ["conv1", "layer2.0.conv1", "layer2.0.conv2", "layer2.0.add", "linear"]}])"));
  const RunResult s = RunCimsim("experiment --config " + split + " --out " + Path("split"));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  const nlohmann::json ss = nlohmann::json::parse(Read(Path("split/summary.json")));
  ASSERT_EQ(ss["points"].size(), 5u);
  // By hand, 8-bit activation codes: after conv1 its output 16×32×32; inside block layer2.0 the
  // conv output 32×16×16 and the block input 16×32×32 that the residual branch still needs; after
  // conv2 its pre-add sum, 32 bits wide ([−2^30, 2^30] needs 32 bits), and the block input again;
  // after the block's add only its 8-bit output.
  EXPECT_EQ(ss["points"][0]["transmitted_bytes"].get<int64_t>(), 16 * 32 * 32);
  EXPECT_EQ(ss["points"][1]["transmitted_bytes"].get<int64_t>(), 32 * 16 * 16 + 16 * 32 * 32);
  EXPECT_EQ(ss["points"][2]["transmitted_bytes"].get<int64_t>(), 4 * 32 * 16 * 16 + 16 * 32 * 32);
  EXPECT_EQ(ss["points"][3]["transmitted_bytes"].get<int64_t>(), 32 * 16 * 16);
  EXPECT_EQ(ss["points"][4]["transmitted_bytes"].get<int64_t>(), 0);   // everything on the device
  const std::string png = Path("split.png");
  EXPECT_EQ(std::system((py + "plot_split.py " + Path("split/results.h5") + " --out " + png + " > /dev/null").c_str()), 0);
  EXPECT_GT(fs::exists(png) ? fs::file_size(png) : 0, 5000u);
}

// A sweep of which layers run on CIM ("cim"): each point runs as a config with that placement would
// (the chip of an instance is programmed from its seed alone; read noise, off here, is drawn from a stream
// of the point's index, so with it the points would differ from the standalone runs by their noise draws),
// its digital layers have no error, and the results record the layers on CIM.
TEST_F(ExperimentCliTest, ACimSweepRunsEachPlacementAsItsOwnConfigWould) {
  const std::string q = Quantize(), data = WriteData("test.bin", 12);
  const std::string chip = R"(
      "xbar": {"device": {"preset": "pcm"}, "crossbar": {"rows_max": 64, "cols_max": 64, "read_noise": false}},
      "calibration": {"auto": {"inputs": "random", "fit_vectors": 32, "holdout_vectors": 32}}, "instances": 2)";
  const std::string sweep = Config("cim.json", Experiment(q, data, 12, chip + R"(,
      "sweep": [{"param": "cim", "values": [["conv1"], ["layer2.0.conv1", "linear"], "all"]}])"));
  const RunResult r = RunCimsim("experiment --config " + sweep + " --out " + Path("cim"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json points = nlohmann::json::parse(Read(Path("cim/summary.json")))["points"];
  ASSERT_EQ(points.size(), 3u);
  const std::vector<std::string> layers = points[0]["layers"].get<std::vector<std::string>>();
  const size_t L = layers.size();
  const std::vector<std::vector<std::string>> on_cim = {{"conv1"}, {"layer2.0.conv1", "linear"}, layers};
  for (size_t p = 0; p < 3; ++p) {
    SCOPED_TRACE(p);
    const nlohmann::json value = p == 2 ? nlohmann::json("all") : nlohmann::json(on_cim[p]);
    EXPECT_EQ(points[p]["params"], (nlohmann::json{{"cim", value}}));
    const std::string alone = Config("alone" + std::to_string(p) + ".json",
                                     Experiment(q, data, 12, chip + R"(, "placement": {"cim": )" + value.dump() + "}"));
    const RunResult a = RunCimsim("experiment --config " + alone + " --out " + Path("alone" + std::to_string(p)));
    ASSERT_EQ(a.exit_code, 0) << a.output;
    const nlohmann::json own = nlohmann::json::parse(Read(Path("alone" + std::to_string(p) + "/summary.json")))["points"][0];
    EXPECT_EQ(points[p]["accuracy"], own["accuracy"]);
    EXPECT_EQ(points[p]["dot_relative"], own["dot_relative"]);
    const auto rel = points[p]["dot_relative"].get<std::vector<double>>();
    ASSERT_EQ(rel.size(), 2 * L);
    for (size_t k = 0; k < 2; ++k)
      for (size_t l = 0; l < L; ++l) {
        const bool cim = std::find(on_cim[p].begin(), on_cim[p].end(), layers[l]) != on_cim[p].end();
        if (cim) EXPECT_GT(rel[k * L + l], 0.0) << layers[l];
        else EXPECT_EQ(rel[k * L + l], 0.0) << layers[l];
      }
    const H5File f = H5File::OpenRead(Path("cim/results.h5"));
    EXPECT_EQ(nlohmann::json::parse(f.ReadStringAttribute("/points/000" + std::to_string(p), "cim_layers")),
              nlohmann::json(on_cim[p]));
  }
}

// Point files carry a content checksum: on --resume a point file whose value was changed after it was
// written, or a truncated one, is named, moved to DIR/damaged/ and computed again — the results are those
// of the intact run.
TEST_F(ExperimentCliTest, DamagedPointFilesAreSetAsideAndComputedAgainOnResume) {
  const std::string q = Quantize(), data = WriteData("test.bin", 30);
  const std::string run = Config("run.json", Experiment(q, data, 30, PcmChip() + R"(
      "sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 8]}])"));
  ASSERT_EQ(RunCimsim("experiment --config " + run + " --out " + Path("a")).exit_code, 0);
  fs::copy_file(Path("a/results.h5"), Path("intact.h5"));
  // An edited value: element 0 of the first numeric dataset of point 1, plus one.
  const std::string edited = Path("a/points/0001.h5");
  const std::string dataset = H5File::OpenRead(edited).ListDatasets("/").front();
  {
    const hid_t f = H5Fopen(edited.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t ds = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
    const hid_t space = H5Dget_space(ds);
    std::vector<double> v(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
    ASSERT_GE(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    v[0] += 1;
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(f);
  }
  // A truncated file: point 2 cut in half.
  fs::resize_file(Path("a/points/0002.h5"), fs::file_size(Path("a/points/0002.h5")) / 2);
  const RunResult resumed = RunCimsim("experiment --config " + run + " --out " + Path("a") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("0001.h5: content checksum"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("moved to " + Path("a/damaged/0001.h5")), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("moved to " + Path("a/damaged/0002.h5")), std::string::npos) << resumed.output;
  EXPECT_TRUE(fs::exists(Path("a/damaged/0001.h5")));
  EXPECT_EQ(std::system(("h5diff --exclude-path /provenance " + Path("intact.h5") + " " + Path("a/results.h5")).c_str()), 0);
  // Resumed again: every file intact, nothing moved.
  const RunResult again = RunCimsim("experiment --config " + run + " --out " + Path("a") + " --resume");
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(again.output.find("moved to"), std::string::npos) << again.output;
}

TEST_F(ExperimentCliTest, SigtermThenResumeWritesTheSameResultsAsAnUninterruptedRun) {
  const std::string q = Quantize(), data = WriteData("test.bin", 60);
  const std::string run = Config("run.json", Experiment(q, data, 60, PcmChip() + R"(
      "threads": 1,
      "sweep": [{"param": "crossbar.adc.bits", "values": [4, 6, 8]}],
      "traces": {"layers": ["layer1.0.conv2"], "vectors": 3})"));
  const RunResult whole = RunCimsim("experiment --config " + run + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  const pid_t pid = SpawnCimsim({"experiment", "--config", run, "--out", Path("cut")}, Path("cut.log"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(Path("cut/points/0000.h5")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(Path("cut/points/0000.h5")));
  kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << Read(Path("cut.log"));
  EXPECT_EQ(WEXITSTATUS(status), 143) << Read(Path("cut.log"));   // stopped, not finished
  EXPECT_NE(Read(Path("cut.log")).find("--resume"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("cut/points/0002.h5")));
  // The finished points are readable right away.
  const int partial = std::system(("h5ls " + Path("cut/results.h5") + "/points > /dev/null").c_str());
  EXPECT_EQ(partial, 0);

  // Without --resume the directory is refused; with it the run completes.
  ExpectInputError(RunCimsim("experiment --config " + run + " --out " + Path("cut")), {"--resume"});
  const RunResult resumed = RunCimsim("experiment --config " + run + " --out " + Path("cut") + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const int diff = std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("cut/results.h5")).c_str());
  EXPECT_EQ(diff, 0) << "results.h5 differs after interrupt + resume";
}

// SIGKILL — no handler, no clean-up — at seeded random moments of a sweep, each followed by --resume
// (itself killed in turn), then one --resume to the end: results.h5 is h5diff-identical to an
// uninterrupted run's. Kills: 4 by default; CIMSIM_KILL_RESUME_KILLS=20 is the long version
// (docs/hardening.md). Each moment is uniform in [0, 2T/kills) after the (re)start, T the uninterrupted
// run's time, so that the kills are spread over the whole sweep and most land before it ends.
TEST_F(ExperimentCliTest, SigkillAtRandomMomentsThenResumeWritesTheSameResults) {
  const std::string q = Quantize(), data = WriteData("test.bin", 40);
  const std::string run = Config("run.json", Experiment(q, data, 40, PcmChip() + R"(
      "instances": 2,
      "sweep": [{"param": "crossbar.adc.bits", "values": [4, 5, 6, 7, 8]}],
      "traces": {"layers": ["layer1.0.conv2"], "vectors": 3})"));
  const auto start = std::chrono::steady_clock::now();
  const RunResult whole = RunCimsim("experiment --config " + run + " --out " + Path("whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const auto whole_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();

  const char* env = std::getenv("CIMSIM_KILL_RESUME_KILLS");
  const int kills = env != nullptr ? std::atoi(env) : 4;
  std::mt19937 rng(20261201);
  std::uniform_int_distribution<long long> moment(0, std::max<long long>(1, 2 * whole_ms / std::max(1, kills)));
  int killed = 0;
  for (int k = 0; k < kills; ++k) {
    std::vector<std::string> args = {"experiment", "--config", run, "--out", Path("cut")};
    if (fs::exists(Path("cut"))) args.push_back("--resume");
    const pid_t pid = SpawnCimsim(args, Path("cut" + std::to_string(k) + ".log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(moment(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
      ++killed;
    } else {  // finished before the kill (or refused): a clean exit, never a crash
      ASSERT_TRUE(WIFEXITED(status));
      EXPECT_EQ(WEXITSTATUS(status), 0) << Read(Path("cut" + std::to_string(k) + ".log"));
    }
  }
  EXPECT_GE(killed, (kills + 1) / 2);
  const RunResult resumed = RunCimsim("experiment --config " + run + " --out " + Path("cut") +
                                      (fs::exists(Path("cut")) ? " --resume" : ""));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const int diff = std::system(("h5diff --exclude-path /provenance " + Path("whole/results.h5") + " " + Path("cut/results.h5")).c_str());
  EXPECT_EQ(diff, 0) << "results.h5 differs after " << killed << " SIGKILLs and resumes";
  std::cout << killed << " of " << kills << " runs killed (the others finished first); whole run " << whole_ms << " ms\n";
}

TEST_F(ExperimentCliTest, BadConfigsExitTwoAndWriteNothing) {
  const std::string q = Quantize(), data = WriteData("test.bin", 20);
  auto run = [&](const std::string& name, const std::string& json) {
    return RunCimsim("experiment --config " + Config(name, json) + " --out " + Path("out_" + name));
  };
  struct Bad {
    std::string json;
    std::vector<std::string> fragments;
  };
  const std::vector<Bad> table = {
      {"{", {"not valid JSON"}},
      {Experiment(q, data, 10, R"("bogus": 1)"), {"bogus: unknown key"}},
      {R"({"model": {"qmodel": "absent.h5"}})", {"model.qmodel: \"absent.h5\" not found"}},
      {Experiment(q, data, 10, R"("sweep": [{"param": "crossbar.adc.bits", "values": []}])"),
       {"sweep[0].values: expected a non-empty array"}},
      {Experiment(q, data, 10, R"("sweep": [{"param": "crossbar.adc.bits", "values": [8, 40]}])"),
       {"sweep[0].values[1]", "40 is out of range"}},
      {Experiment(q, data, 10, R"("traces": {"layers": ["layer9.conv"]})"), {"traces.layers: 'layer9.conv'"}},
      {Experiment(q, data, 10, R"("placement": {"split": "nope"})"), {"placement.split: 'nope' is not a node of the model"}},
      {Experiment(q, data, 10, R"("sweep": [{"param": "cim", "values": [["conv1"], ["conv1", "nope"]]}])"),
       {"sweep[0].values[1]: 'nope' is not a conv/linear layer of the model; layers: conv1, "}},
      {Experiment(q, data, 10, R"("sweep": [{"param": "split", "values": ["conv1", "nope"]}])"),
       {"sweep[0].values[1]: 'nope' is not a node of the model; nodes: conv1, "}},
      {Experiment(q, data, 21, ""), {"data: images [0, 21) do not exist"}},
      {Experiment(q, data, 10, R"("xbar": {"crossbar": {"slice_bits": 8}})"), {"slice_bits: 8 is larger than"}},
      {Experiment(q, data, 10, R"("instances": 0)"), {"instances: 0 is out of range"}},
  };
  for (size_t i = 0; i < table.size(); ++i) {
    SCOPED_TRACE(table[i].json);
    const std::string name = "bad" + std::to_string(i) + ".json";
    ExpectInputError(run(name, table[i].json), table[i].fragments);
    EXPECT_FALSE(fs::exists(Path("out_" + name + "/results.h5")));
  }
}

}  // namespace
}  // namespace cimsim
