// Fuzzes the float model loader (HDF5, docs/model_format.md) through a file of the input's bytes.
#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "fuzz/fuzz_input_file.h"
#include "nets/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cimsim::fuzz::InputFile file("h5");
  try {
    cimsim::LoadModel(file.Write(data, size));
  } catch (const cimsim::InputError&) {
  }
  return 0;
}
