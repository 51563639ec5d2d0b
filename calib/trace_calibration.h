// trace_calibration.h — calibrating a chip from recorded column reads instead of driving it.
// ("Calibration" here: chip calibration, docs/glossary.md.)
//
// A measured chip cannot be re-run at will, but its column reads can be logged: for each read the
// column (tile row, weight slice, output), the ADC code, the ADC step (lsb) and the exact
// Σ_k x_t[k]·d[k] the column should have produced (known from the inputs and the weights). The traces
// of `cimsim experiment` (results.h5, docs/results_format.md) carry exactly these, so a simulated chip
// calibrates the same way: `cimsim calibrate` with "inputs": "traces" (experiments/calibrate_config.h).
//
// For one layer's reads R (those of one chip instance), with column c = ReadoutGeometry::Index(tile_row,
// weight_slice, output) (sim/column_readout.h) and m = code·lsb the digitized value:
//   split:   reads of even trace rows (vectors) fit, reads of odd rows are held out;
//   ADC:     with settable ADC ranges (crossbar.adc.range "calibrated"), column c's range = lsb_c·2^(B−1) (B = adc.bits), so
//            that the chip reproduces the recorded steps; with "max" or "fixed" the recorded lsb must
//            equal the chip's (the traces came from another ADC otherwise): InputError. Every read of a
//            column must carry the same lsb.
//   fit:     mode "column": ideal ≈ gain_c·m + offset_c by least squares (calib/linear_fit.h) over the
//            column's fit reads; mode "global": one gain Σ ideal·m / Σ m² over all fit reads, offset 0.
//            A column without fit reads keeps gain 1, offset 0.
//   check:   read-level held-out errors: RMSE of ideal − m (before) and of ideal − (gain·m + offset)
//            (after), relative = RMSE / RMS(ideal), over the held-out reads (0 when there are none).
// Unlike CalibrateLayer (calib/chip_calibration.h), whose check is at the layer output, these
// RMSEs are per column read, in units of Σ x_t·d.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "calib/chip_calibration.h"
#include "sim/mvm_core.h"

namespace cimsim {

// The reads of one traced layer, one entry per read (all the same length), and the layer's geometry.
struct TraceReads {
  std::string layer;
  int64_t K = 0, N = 0, tile_rows = 0, weight_slices = 0;
  std::vector<int64_t> row;                          // trace row (vector) of the read
  std::vector<int64_t> tile_row, weight_slice, output;
  std::vector<double> ideal, lsb;
  std::vector<int64_t> code;
};

// The reads of chip instance `instance` in /points/NNNN/traces/<layer> of a results.h5 (or any file
// with that layout). InputError naming the file and object for a missing group or dataset, wrong
// shapes or types of values, or an instance without traced vectors.
TraceReads ReadTraceReads(const std::string& file, int64_t point, int64_t instance, const std::string& layer);

// The layers traced at a point, sorted by name (empty when none).
std::vector<std::string> TracedLayers(const std::string& file, int64_t point);

// Calibrates `core` (programmed for the traced layer; any core with a ColumnReadout) from `reads`; the
// core is not changed (ApplyCalibration makes the calibrated one). InputError naming `where` when the
// traces do not fit the core (or it has no readout): K, N, tile rows or
// weight slices differ, a read's indices are out of range, lsb is not finite and > 0, a column's
// reads disagree on lsb, or (max/fixed ADC range) lsb differs from the core's.
LayerCalibration CalibrateFromReads(const TraceReads& reads, const MvmCore& core, const ChipCalibrationParams& params,
                                    const std::string& where);

}  // namespace cimsim
