// End-to-end tests of the cimsim executable: exit codes and messages on bad input (each must be
// one clear line and exit code 2, never a crash), and a successful run with its JSON report.
// Real-data tests read CIMSIM_DATA (a directory holding the CIFAR-10 .bin files) and CIMSIM_MODEL
// (the pretrained float ResNet-20); without them they are reported as skipped, with the reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <sys/wait.h>

#include "apps/cimsim/cli_test_support.h"
#include "common/h5_file.h"

namespace cimsim {
namespace {

TEST_F(CliTest, UsageErrors) {
  EXPECT_EQ(RunCimsim("").exit_code, 2);
  ExpectInputError(RunCimsim("frobnicate"), {"unknown command 'frobnicate'"});
  ExpectInputError(RunCimsim("eval --model m.h5 --bogus 1"), {"--bogus"});
  ExpectInputError(RunCimsim("eval --data x"), {"--model"});
  ExpectInputError(RunCimsim("eval --model m.h5 --limit=-1"), {"--limit -1"});
  ExpectInputError(RunCimsim("eval --model m.h5 --limit -5"), {"-5"});
  ExpectInputError(RunCimsim("eval --model m.h5 --limit ten"), {"limit"});
  ExpectInputError(RunCimsim("eval --model m.h5 --batch 0"), {"--batch 0"});
  ExpectInputError(RunCimsim("eval --model m.h5 --threads 0"), {"--threads 0"});
  ExpectInputError(RunCimsim("data fetch --url http://127.0.0.1:1/x --sha256 abc --out " + Path("o")), {"--sha256"});
  EXPECT_EQ(RunCimsim("eval --help").exit_code, 0);
  EXPECT_EQ(RunCimsim("--help").exit_code, 0);
}

TEST_F(CliTest, BadModelFiles) {
  const std::string data = WriteData("d.bin", 4);
  ExpectInputError(RunCimsim("eval --model " + Path("absent.h5") + " --data " + data), {"absent.h5", "file not found"});
  std::ofstream(Path("text.h5")) << "not hdf5";
  ExpectInputError(RunCimsim("eval --model " + Path("text.h5") + " --data " + data), {"text.h5", "not an HDF5 file"});
  {
    // A ResNet-8 file without layer1.0.conv2.weight.
    const ModelSpec spec{"resnet", 8, 'A', 10, "", {{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}}};
    Network net = BuildNetwork(spec);
    H5File f = H5File::CreateAtomic(Path("partial.h5"));
    f.WriteStringAttribute("/", "arch", "resnet");
    f.WriteIntAttribute("/", "depth", 8);
    f.WriteStringAttribute("/", "shortcut", "A");
    f.WriteIntAttribute("/", "num_classes", 10);
    f.WriteDoubleArrayAttribute("/", "input_mean", {0.5, 0.5, 0.5});
    f.WriteDoubleArrayAttribute("/", "input_std", {0.25, 0.25, 0.25});
    for (const NamedTensor& t : net.StateDict()) {
      if (t.name != "layer1.0.conv2.weight") f.WriteFloatArray("/params/" + t.name, t.tensor->shape(), t.tensor->data());
    }
    f.Commit();
  }
  ExpectInputError(RunCimsim("eval --model " + Path("partial.h5") + " --data " + data), {"missing tensor 'layer1.0.conv2.weight'"});
}

TEST_F(CliTest, BadDataFiles) {
  const std::string model = WriteModel();
  ExpectInputError(RunCimsim("eval --model " + model + " --data " + Path("none.bin")), {"none.bin", "cifar-10-binary.tar.gz"});
  ExpectInputError(RunCimsim("eval --model " + model), {"CIMSIM_DATA"});
  ExpectInputError(RunCimsim("eval --model " + model + " --data " + WriteData("short.bin", 3, -1, 100)), {"short.bin", "3073"});
  ExpectInputError(RunCimsim("eval --model " + model + " --data " + WriteData("label.bin", 3, 10)), {"label.bin", "10"});
  fs::create_directories(Path("emptydir"));
  ExpectInputError(RunCimsim("eval --model " + model + " --data " + Path("emptydir")), {"test_batch.bin"});
}

TEST_F(CliTest, EvalWritesJsonAndFailedRunKeepsOldJson) {
  const std::string model = WriteModel();
  const std::string data = WriteData("d.bin", 25);
  const RunResult ok = RunCimsim("eval --model " + model + " --data " + data + " --batch 10 --json " + Path("r.json"));
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("top-1"), std::string::npos);
  nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("r.json")));
  EXPECT_EQ(j["total"], 25);
  EXPECT_GE(j["correct"].get<int>(), 0);
  EXPECT_NEAR(j["top1"].get<double>(), 100.0 * j["correct"].get<int>() / 25.0, 1e-9);
  EXPECT_GT(j["seconds"].get<double>(), 0.0);
  // The same run through the float64 reference predicts the same.
  const RunResult ref = RunCimsim("eval --model " + model + " --data " + data + " --reference --json " + Path("ref.json"));
  ASSERT_EQ(ref.exit_code, 0) << ref.output;
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(Path("ref.json")))["correct"], j["correct"]);
  // A run that fails on bad data leaves the earlier report untouched.
  const std::string before = (std::stringstream() << std::ifstream(Path("r.json")).rdbuf()).str();
  EXPECT_EQ(RunCimsim("eval --model " + model + " --data " + WriteData("bad.bin", 2, 42) + " --json " + Path("r.json")).exit_code, 2);
  const std::string after = (std::stringstream() << std::ifstream(Path("r.json")).rdbuf()).str();
  EXPECT_EQ(before, after);
  ExpectInputError(RunCimsim("eval --model " + model + " --data " + data + " --json " + Path("no/such/dir/r.json")), {"does not exist"});
}

// Standard output alone (stderr discarded) of a cimsim run, and its exit code.
RunResult RunCimsimStdout(const std::string& args, const std::string& prefix = "") {
  FILE* pipe = popen((prefix + "env -u CIMSIM_DATA " + Binary() + " " + args + " 2>/dev/null").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

TEST_F(CliTest, JsonDashWritesTheReportToStdoutAndTheSummaryToStderr) {
  const std::string model = WriteModel();
  const std::string data = WriteData("d.bin", 12);
  const RunResult r = RunCimsimStdout("eval --model " + model + " --data " + data + " --json -");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(r.output);   // stdout is the JSON and nothing else
  EXPECT_EQ(j["total"], 12);
  EXPECT_FALSE(fs::exists("-"));
  EXPECT_NE(RunCimsim("eval --model " + model + " --data " + data + " --json -").output.find("top-1"), std::string::npos);
}

// --version names the version, the commit and the build; every output file records who wrote it.
TEST_F(CliTest, VersionAndProvenanceOfEveryOutput) {
  const RunResult v = RunCimsim("--version");
  ASSERT_EQ(v.exit_code, 0) << v.output;
  EXPECT_EQ(v.output.rfind("cimsim ", 0), 0u) << v.output;
  EXPECT_NE(v.output.find("\ncommit "), std::string::npos) << v.output;
  EXPECT_NE(v.output.find("\nbuild "), std::string::npos) << v.output;
  const std::string commit = v.output.substr(v.output.find("\ncommit ") + 8, v.output.find("\nbuild ") - v.output.find("\ncommit ") - 8);

  const auto expect_h5 = [&](const std::string& file, const std::string& command) {
    const H5File f = H5File::OpenRead(file);
    ASSERT_TRUE(f.Exists("/provenance")) << file;
    EXPECT_EQ(f.ReadStringAttribute("/provenance", "commit"), commit) << file;
    EXPECT_EQ(f.ReadStringAttribute("/provenance", "command").rfind("cimsim " + command, 0), 0u) << file;
    EXPECT_FALSE(f.ReadStringAttribute("/provenance", "host").empty()) << file;
    const std::string time = f.ReadStringAttribute("/provenance", "time");
    EXPECT_EQ(time.size(), 20u) << time;   // 2026-11-30T21:05:00Z
    EXPECT_EQ(time.back(), 'Z') << time;
  };
  const std::string q = Quantize();
  expect_h5(q, "quantize --model");
  const std::string data = WriteData("d.bin", 8);
  const RunResult e = RunCimsimStdout("infer --qmodel " + q + " --data " + data + " --json -");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  const nlohmann::json j = nlohmann::json::parse(e.output);
  EXPECT_EQ(j["provenance"]["commit"], commit);
  EXPECT_EQ(j["provenance"]["command"].get<std::string>().rfind("cimsim infer --qmodel", 0), 0u);
  const RunResult x = RunCimsim("experiment --out " + Path("x") + " --config " +
                                Config("x.json", R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data +
                                                     R"(", "count": 4}, "xbar": {"device": {"preset": "ideal"}}})"));
  ASSERT_EQ(x.exit_code, 0) << x.output;
  expect_h5(Path("x/results.h5"), "experiment --out");
  expect_h5(Path("x/points/0000.h5"), "experiment --out");
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(Path("x/summary.json")))["provenance"]["commit"], commit);
}

// The default thread count follows the CPUs the process may use: under `taskset -c 0`, one.
TEST_F(CliTest, TasksetOneCpuMeansOneThread) {
  const std::string model = WriteModel();
  const std::string data = WriteData("d.bin", 6);
  const RunResult r = RunCimsimStdout("eval --model " + model + " --data " + data + " --json -", "taskset -c 0 ");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["threads"], 1);
}

// Every command's --help exits 0, and every doc it cites exists.
TEST_F(CliTest, EveryHelpWorksAndCitesExistingDocs) {
  for (const std::string command : {"", "eval", "train", "qat", "quantize", "infer", "calibrate", "experiment",
                                    "experiment merge", "data", "data fetch"}) {
    const RunResult r = RunCimsim(command + " --help");
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    EXPECT_NE(r.output.find("usage"), std::string::npos) << command << ": " << r.output;
    for (size_t at = r.output.find("docs/"); at != std::string::npos; at = r.output.find("docs/", at + 1)) {
      const size_t end = r.output.find(".md", at);
      ASSERT_NE(end, std::string::npos) << r.output.substr(at, 40);
      const std::string doc = r.output.substr(at, end + 3 - at);
      EXPECT_TRUE(fs::exists(std::string(CIMSIM_SOURCE_DIR) + "/" + doc)) << command << " --help cites " << doc;
    }
  }
}

// The acceptance figure: the pretrained ResNet-20 on the 1,228 lossless test images.
TEST_F(CliTest, PretrainedResnet20OnLosslessTestImages) {
  const char* data = std::getenv("CIMSIM_DATA");
  const char* model = std::getenv("CIMSIM_MODEL");
  if (data == nullptr || model == nullptr || !fs::exists(model)) {
    GTEST_SKIP() << "needs CIMSIM_DATA and CIMSIM_MODEL (the pretrained resnet20_cifar10.h5); CIMSIM_MODEL="
                 << (model ? model : "(unset)") << (model && !fs::exists(model) ? " does not exist" : "");
  }
  const std::string file = std::string(data) + "/test_batch_exact.bin";
  const RunResult r = RunCimsim("eval --model " + std::string(model) + " --data " + file + " --json " + Path("e.json"), "");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(std::ifstream(Path("e.json")));
  EXPECT_EQ(j["total"], 1228);
  EXPECT_EQ(j["correct"], 1121);
}

}  // namespace
}  // namespace cimsim
