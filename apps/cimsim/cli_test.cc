// End-to-end tests of the cimsim executable: exit codes and messages on bad input (each must be
// one clear line and exit code 2, never a crash), and a successful run with its JSON report.
// Real-data tests read CIMSIM_DATA (a directory holding the CIFAR-10 .bin files) and CIMSIM_MODEL
// (the pretrained float ResNet-20); without them they are reported as skipped, with the reason.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/test_support.h"
#include "common/h5_file.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/init.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

std::string Binary() {
  const char* dir = std::getenv("CIMSIM_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/apps/cimsim/cimsim";
}

// Runs `cimsim <args>` through the shell with the given environment prefix (e.g. "CIMSIM_DATA= ").
RunResult RunCimsim(const std::string& args, const std::string& env = "env -u CIMSIM_DATA ") {
  const std::string cmd = env + Binary() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out};
}

class CliTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return temp_.Path(name); }

  // A seeded random ResNet-8 checkpoint.
  std::string WriteModel() {
    const ModelSpec spec{"resnet", 8, 'A', 10, "", {{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}}};
    Network net = BuildNetwork(spec);
    InitializeKaiming(net, 1);
    SaveModel(Path("model.h5"), spec, net);
    return Path("model.h5");
  }

  // n records with label i % 10 and pseudo-random pixels; `bytes_off` shortens the file.
  std::string WriteData(const std::string& name, int n, int bad_label = -1, int bytes_off = 0) {
    std::string bytes;
    uint32_t state = 12345;
    for (int i = 0; i < n; ++i) {
      bytes.push_back(static_cast<char>(i == 1 && bad_label >= 0 ? bad_label : i % 10));
      for (int p = 0; p < 3072; ++p) {
        state = state * 1664525u + 1013904223u;
        bytes.push_back(static_cast<char>(state >> 24));
      }
    }
    bytes.resize(bytes.size() - static_cast<size_t>(bytes_off));
    std::ofstream(Path(name), std::ios::binary) << bytes;
    return Path(name);
  }

  void ExpectInputError(const RunResult& r, const std::vector<std::string>& fragments) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("cimsim: error: "), std::string::npos) << r.output;
    for (const std::string& f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in:\n" << r.output;
  }

  testing::ScopedTempDir temp_{"cli"};
};

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
