// cli_test_support.h — running the cimsim executable from tests: exit code and output of a
// command line, and a fixture with a temporary directory, a random model and synthetic data files.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/test_support.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/init.h"

extern char** environ;

namespace cimsim {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

inline std::string Binary() {
  const char* dir = std::getenv("CIMSIM_BINARY_DIR");
  return std::string(dir ? dir : ".") + "/apps/cimsim/cimsim";
}

// Runs `cimsim <args>` through the shell with the given environment prefix (e.g. "CIMSIM_DATA= ").
inline RunResult RunCimsim(const std::string& args, const std::string& env = "env -u CIMSIM_DATA ") {
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

// Starts `cimsim <args>` in the background with stdout and stderr into `log`; returns its pid.
inline pid_t SpawnCimsim(const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {Binary()};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
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

  std::string Config(const std::string& name, const std::string& json) {
    std::ofstream(Path(name)) << json;
    return Path(name);
  }

  // quantize WriteModel() with `config_json` (default W8A8) on 20 class-balanced images of a synthetic
  // training file.
  std::string Quantize(const std::string& config_json = R"({"calibration": {"images": 20}})") {
    const RunResult r = RunCimsim("quantize --model " + WriteModel() + " --config " + Config("q.json", config_json) +
                                  " --data " + WriteData("train.bin", 60) + " --out " + Path("q.h5"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return Path("q.h5");
  }

  void ExpectInputError(const RunResult& r, const std::vector<std::string>& fragments) {
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("cimsim: error: "), std::string::npos) << r.output;
    for (const std::string& f : fragments) EXPECT_NE(r.output.find(f), std::string::npos) << "'" << f << "' not in:\n" << r.output;
  }

  testing::ScopedTempDir temp_{"cli"};
};

}  // namespace cimsim
