// test_support.h — helpers shared by the GoogleTest suites (tests only; not linked into libraries).
//
// ScopedTempDir: a fresh directory "<tmp>/cimsim_<prefix>_<pid>_<test name>", removed again when it
// leaves scope. InputErrorOf: the message of the InputError a call throws (a test failure if it
// throws none). HasPart: an assertion that a message contains a fragment, printing both if not.
// PretrainedModelAndData: the paths of the real-data tests (CIMSIM_MODEL, CIMSIM_DATA and its lossless
// test file), or why they are unavailable (the tests then skip, naming the reason).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>

#include "common/error.h"

namespace cimsim::testing {

class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix) {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("cimsim_" + prefix + "_" + std::to_string(::getpid()) + "_" + (info ? info->name() : "global"));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScopedTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The message of the exception of type E that fn throws; a test failure if it throws nothing.
template <typename E>
std::string MessageOf(const std::function<void()>& fn, const char* expected) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected " << expected;
  return "";
}

inline std::string InputErrorOf(const std::function<void()>& fn) { return MessageOf<InputError>(fn, "an InputError"); }
inline std::string InvalidArgumentOf(const std::function<void()>& fn) {
  return MessageOf<std::invalid_argument>(fn, "std::invalid_argument");
}

inline ::testing::AssertionResult HasPart(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "message \"" << text << "\" lacks \"" << part << "\"";
}

struct RealDataPaths {
  std::string model, data_dir, lossless_test;   // lossless_test = data_dir + "/test_batch_exact.bin"
};

// True and the paths when CIMSIM_MODEL and CIMSIM_DATA are set and the model and the lossless test
// file exist; false and the reason otherwise.
inline bool PretrainedModelAndData(RealDataPaths& paths, std::string& reason) {
  const char* model = std::getenv("CIMSIM_MODEL");
  const char* data = std::getenv("CIMSIM_DATA");
  if (model == nullptr || data == nullptr) {
    reason = "CIMSIM_MODEL or CIMSIM_DATA is not set";
    return false;
  }
  paths = {model, data, std::string(data) + "/test_batch_exact.bin"};
  for (const std::string& f : {paths.model, paths.lossless_test}) {
    if (!std::filesystem::exists(f)) {
      reason = f + " does not exist";
      return false;
    }
  }
  return true;
}

}  // namespace cimsim::testing
