// fuzz_input_file.h — the fuzzers' bytes as a file, for loaders that read a path.
//
// One file per process (/tmp/cimsim-fuzz-<pid>.<ext>), rewritten for every input, removed at exit.
// Only the regular-file path of a loader is fuzzed this way (what a user's file goes through).
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "common/h5_file.h"
#include "common/isolated_run.h"

namespace cimsim::fuzz {

class InputFile {
 public:
  explicit InputFile(const std::string& extension)
      : path_("/tmp/cimsim-fuzz-" + std::to_string(::getpid()) + "." + extension) {}
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  // Writes the bytes; returns the path.
  const std::string& Write(const uint8_t* data, size_t size) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) __builtin_trap();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
    std::fclose(f);
    return path_;
  }

 private:
  std::string path_;
};

// One fuzzer input through a loader: the bytes written to `file`, `load(path)` run. InputError (the
// loader refusing bad input) is the expected outcome; anything else reaches libFuzzer as a finding.
template <typename Load>
int LoadFromBytes(InputFile& file, const uint8_t* data, size_t size, Load load) {
  try {
    load(file.Write(data, size));
  } catch (const InputError&) {
  }
  return 0;
}

// LoadFromBytes for the HDF5 loaders. Every HDF5 loader reads a file first in a child process with a
// deadline of 10 s (H5File::OpenRead), because libhdf5 1.10.8 loops forever on some damaged files; a
// few percent of the fuzzers' mutations hit such a loop, so at that deadline the fuzzers spent most
// of their time waiting (3 inputs/s). So the same isolated read runs first with a 250 ms deadline (a seed
// of these sizes reads in a few milliseconds): an input that fails it is refused as the loader would
// refuse it (InputError), and the loader then runs on the rest. What is fuzzed is unchanged: the
// loader's own path, including its isolated read, for every input libhdf5 can read.
template <typename Load>
int LoadHdf5FromBytes(InputFile& file, const uint8_t* data, size_t size, Load load) {
  const std::string& path = file.Write(data, size);
  try {
    IsolationLimits limits;
    limits.deadline = std::chrono::milliseconds(250);
    RunIsolated(path, [&path] { H5File::OpenReadInProcess(path).ReadEveryObject(); }, limits);
  } catch (const InputError&) {
    return 0;
  }
  try {
    load(path);
  } catch (const InputError&) {
  }
  return 0;
}

}  // namespace cimsim::fuzz
