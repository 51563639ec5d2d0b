// Fuzzes the archive reader of `cimsim data fetch` (data/tar_gz.h) through a file of the input's bytes,
// unpacking into a per-process directory that is emptied after every input.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "data/tar_gz.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cimsim::fuzz::InputFile file("tar.gz");
  static const std::string out = "/tmp/cimsim-fuzz-" + std::to_string(::getpid()) + ".out";
  std::filesystem::create_directories(out);
  cimsim::fuzz::LoadFromBytes(file, data, size, [](const std::string& path) { cimsim::ExtractTarGz(path, out); });
  std::filesystem::remove_all(out);
  return 0;
}
