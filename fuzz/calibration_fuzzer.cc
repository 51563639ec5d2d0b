// Fuzzes the chip calibration loader (HDF5, docs/crossbar.md) through a file of the input's bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "experiments/calibration_file.h"
#include "fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cimsim::fuzz::InputFile file("h5");
  return cimsim::fuzz::LoadHdf5FromBytes(file, data, size, [](const std::string& path) { cimsim::LoadChipCalibration(path); });
}
