// fuzz_input_file.h — the fuzzers' bytes as a file, for loaders that read a path.
//
// One file per process (/tmp/cimsim-fuzz-<pid>.<ext>), rewritten for every input, removed at exit.
// Only the regular-file path of a loader is fuzzed this way (what a user's file goes through).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/error.h"

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

}  // namespace cimsim::fuzz
