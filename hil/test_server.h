// test_server.h — how the hil tests start the reference chip server (tests only).
//
// ServerCommand(args): /usr/bin/python3 <source>/scripts/chip_server.py args... . CheckPython(): a
// gtest failure (never a skip) with a clear message when /usr/bin/python3 cannot import numpy.
// ProcessGone(pid): true when pid is neither running nor a zombie of ours (reaped).
#pragma once

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

extern char** environ;

namespace cimsim::hil::test_server {

inline const char* kPython = "/usr/bin/python3";

inline std::vector<std::string> ServerCommand(const std::vector<std::string>& args = {}) {
  std::vector<std::string> argv = {kPython, std::string(CIMSIM_SOURCE_DIR) + "/scripts/chip_server.py"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Runs argv to completion (no shell); its exit status, or −1 when it could not run.
inline int RunToExit(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline void CheckPython() {
  static const int status = RunToExit({kPython, "-c", "import numpy"});
  ASSERT_EQ(status, 0) << "these tests need " << kPython
                       << " with numpy (Debian: apt-get install python3-numpy, or scripts/install_deps.sh)";
}

inline bool ProcessGone(pid_t pid) {
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  return r < 0 && errno == ECHILD && kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace cimsim::hil::test_server
