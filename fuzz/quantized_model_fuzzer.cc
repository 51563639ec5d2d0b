// Fuzzes the quantized model loader (HDF5, docs/quantization.md) through a file of the input's bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_input_file.h"
#include "nets/quantized_checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cimsim::fuzz::InputFile file("h5");
  return cimsim::fuzz::LoadHdf5FromBytes(file, data, size, [](const std::string& path) { cimsim::LoadQuantizedModel(path); });
}
