// Fuzzes the CIFAR-10 binary reader (docs/data.md) through a file of the input's bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/cifar10.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cimsim::fuzz::InputFile file("bin");
  return cimsim::fuzz::LoadFromBytes(file, data, size, [](const std::string& path) { cimsim::LoadCifar10Files({path}); });
}
