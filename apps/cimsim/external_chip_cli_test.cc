// `cimsim experiment` and `cimsim calibrate` on an external chip (the reference server,
// scripts/chip_server.py, through a chip config's "external" section): both run end to end with the
// noisy device, and a server that crashes, stalls, sends a short frame, a wrong protocol version or
// the wrong number of values makes the command exit 2 with one message naming the external chip, the
// layer and the problem, within the configured timeout (2 s) plus a little.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "apps/cimsim/cli_test_support.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using ExternalChipCliTest = CliTest;

std::string Server(const std::string& args) {
  return R"(["/usr/bin/python3", ")" + std::string(CIMSIM_SOURCE_DIR) + R"(/scripts/chip_server.py")" + args + "]";
}

std::string Experiment(const std::string& q, const std::string& data, const std::string& server, const std::string& rest) {
  return R"({"model": {"qmodel": ")" + q + R"("}, "data": {"test": ")" + data + R"(", "count": 6},
            "xbar": {"seed": 1, "external": {"command": )" + server + R"(, "timeout_s": 2}},
            "placement": {"cim": ["layer1.0.conv1", "layer2.0.conv2"]}, "threads": 2)" + rest + "}";
}

TEST_F(ExternalChipCliTest, CalibrateAndExperimentRunEndToEndOnTheNoisyServer) {
  const std::string q = Quantize(), data = WriteData("test.bin", 10);
  const std::string noisy = Server(R"(, "--device", "noisy")");
  const RunResult exp = RunCimsim("experiment --config " +
                                  Config("run.json", Experiment(q, data, noisy, R"(, "instances": 2,
      "calibration": {"auto": {"inputs": "random", "fit_vectors": 64, "holdout_vectors": 64}},
      "traces": {"layers": ["layer2.0.conv2"], "vectors": 2})")) +
                                  " --out " + Path("out"));
  ASSERT_EQ(exp.exit_code, 0) << exp.output;
  EXPECT_TRUE(fs::exists(Path("out/results.h5")));
  const RunResult cal = RunCimsim(
      "calibrate --config " +
      Config("cal.json", R"({"model": {"qmodel": ")" + q + R"("}, "xbar": {"seed": 1, "external": {"command": )" + noisy +
                             R"(}}, "layers": ["layer1.0.conv1"], "fit_vectors": 64, "holdout_vectors": 64})") +
      " --out " + Path("cal.h5"));
  ASSERT_EQ(cal.exit_code, 0) << cal.output;
  const RunResult traced = RunCimsim(
      "calibrate --config " +
      Config("cal_traces.json", R"({"model": {"qmodel": ")" + q + R"("}, "xbar": {"seed": 1, "external": {"command": )" +
                                    noisy + R"(}}, "inputs": "traces", "traces": {"file": ")" + Path("out/results.h5") +
                                    R"(", "point": 0, "instance": 1}})") +
      " --out " + Path("cal_traces.h5"));
  ASSERT_EQ(traced.exit_code, 0) << traced.output;
  EXPECT_NE(traced.output.find("layer2.0.conv2"), std::string::npos) << traced.output;
}

TEST_F(ExternalChipCliTest, AFailingServerIsOneClearErrorWithExitTwo) {
  const std::string q = Quantize(), data = WriteData("test.bin", 10);
  struct Fault {
    const char* kind;
    const char* problem;
  };
  const std::vector<Fault> faults = {{"crash", "the server exited with status 3"},
                                     {"stall", "no reply within the timeout of 2 s"},
                                     {"short", "frame"},
                                     {"version", "protocol version 99"},
                                     {"count", "values, expected"}};
  for (const Fault& f : faults) {
    SCOPED_TRACE(f.kind);
    const std::string server =
        Server(std::string(R"(, "--device", "ideal", "--fault", ")") + f.kind + R"(", "--fault-on", "multiply", "--fault-after", "2")");
    const std::string out = Path(std::string("out_") + f.kind);
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = RunCimsim("experiment --config " + Config(std::string(f.kind) + ".json", Experiment(q, data, server, "")) +
                                  " --out " + out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_LT(seconds, 10.0);
    EXPECT_NE(r.output.find("cimsim: error: external chip"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(": layer layer"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("MULTIPLY: "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(f.problem), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace cimsim
