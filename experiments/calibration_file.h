// calibration_file.h — a chip's calibration (HDF5), written by `cimsim calibrate`, read by
// `cimsim infer --calibration`. Layout (docs/crossbar.md):
//   / attributes: format = "cimsim-chip-calibration", format_version = 1, qmodel (path), xbar_config
//     (the chip: device, crossbar and seed as JSON — a calibration belongs to one chip instance),
//     calibration_config (JSON), layer_count
//   /layers/NNNN (NNNN = the node index in the quantized model): attributes name, tile_rows, slices,
//     outputs, fit_reads, rmse_before, rmse_after, relative_before, relative_after; datasets gain and
//     offset float64 [tile_rows, slices, outputs], adc_range float64 [tile_rows, slices, outputs] (only
//     for a calibrated ADC range).
#pragma once

#include "common/provenance.h"

#include <map>
#include <string>

#include "calib/chip_calibration.h"
#include "experiments/xbar_config.h"

namespace cimsim {

struct ChipCalibrationFile {
  std::string qmodel, xbar_config, calibration_config;
  std::map<int, LayerCalibration> layers;  // by node index
  std::map<int, std::array<int64_t, 3>> shapes;  // [tile_rows, slices, outputs] by node index
};

// Atomic write; InputError when the path cannot be written. With `provenance`, group /provenance
// records who wrote it (common/provenance.h).
void SaveChipCalibration(const std::string& path, const ChipCalibrationFile& file,
                         const Provenance* provenance = nullptr);
// Strict read: InputError naming the file and the object for anything missing or malformed.
ChipCalibrationFile LoadChipCalibration(const std::string& path);

// ChipCoreFactory(config) whose cores of calibrated layers get their corrections (and ADC ranges).
// InputError naming `where` when the calibration belongs to another chip (its xbar_config differs from
// `config`), a calibrated node is not a conv/linear node of `model` of the same name (checked here,
// before any work), or a layer's sizes differ. The factory is for the nodes of `model`.
MvmCoreFactory CalibratedChipCoreFactory(const XbarConfig& config, const ChipCalibrationFile& calibration,
                                         const QuantizedModel& model, const std::string& where);

}  // namespace cimsim
