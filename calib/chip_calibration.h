// chip_calibration.h — calibrating a simulated chip like a real one (`cimsim calibrate`).
// ("Calibration" here: chip calibration — ADC ranges and column corrections, not quantization
// calibration; "calibrated" below is also the ADC range mode; docs/glossary.md.)
//
// For one layer programmed on a chip instance (any MvmCore with a ColumnReadout, sim/column_readout.h:
// a simulated crossbar or an external chip that returns column reads):
//  1. ADC ranges (only when crossbar.adc.range is "calibrated"): drive the arrays with the fit inputs,
//     record every column read (TraceSink) and set each (tile row, weight slice, output) column's full
//     scale to the `adc_percentile` percentile of |analog value| over its reads.
//  2. Corrections: with identity corrections, record the reads again and fit, per column (mode
//     "column": tile row × weight slice × output), ideal ≈ gain·(code·lsb) + offset by least squares
//     (calib/linear_fit.h), or one gain for the whole layer (mode "global": a drift-compensation factor
//     for the chip's read time, through the origin: gain = Σ ideal·m / Σ m²).
//  The core is never modified: each stage runs on a calibrated twin (ColumnReadout::WithReadout), and
//  ApplyCalibration makes the final one.
//  3. Held-out check: new inputs, never used for fitting, through the core before and after the
//     corrections, against the exact integer dot product: RMSE and relative error (RMSE / RMS of the
//     exact values), in integer dot-product units.
// Inputs (CalibrationInputs): uniform random codes over the layer's input range from seeded streams
// (RandomCalibrationInputs; fit and held-out streams differ), or real activations of the layer sampled
// from images through the integer engine (calib/activation_inputs.h; fit and held-out vectors
// from disjoint images). Reads are recorded single-threaded in a fixed order, so a calibration is a
// pure function of (layer, chip, inputs, params).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nets/quantized_model.h"
#include <memory>

#include "sim/column_readout.h"
#include "sim/mvm_core.h"

namespace cimsim {

enum class CorrectionMode { kColumn, kGlobal };
// "column", "global" (as in configs)
std::string_view ToString(CorrectionMode mode);

struct ChipCalibrationParams {
  int64_t fit_vectors = 512;      // input vectors for the fits
  int64_t holdout_vectors = 512;  // input vectors for the before/after check
  uint64_t seed = 1;              // input streams
  double adc_percentile = 99.99;  // (0, 100], calibrated ADC ranges
  CorrectionMode mode = CorrectionMode::kColumn;
  void Validate(const std::string& where) const;  // InputError naming "<where>.<field>"
};

// n input vectors of one layer, vector-major: plain[j·K + k] is code k of vector j.
struct LayerInputs {
  int64_t K = 0, n = 0;
  std::vector<int16_t> plain;
};

struct CalibrationInputs {
  LayerInputs fit, holdout;
};

// params.fit_vectors and params.holdout_vectors uniform random codes over core.InputRange(),
// from CalibrationFitInputStream(params.seed) and CalibrationHoldoutInputStream(params.seed)
// (common/streams.h).
CalibrationInputs RandomCalibrationInputs(const MvmCore& core, const ChipCalibrationParams& params);

struct LayerCalibration {
  std::string layer;
  std::vector<ColumnCorrection> corrections;  // ReadoutGeometry::Index order
  std::vector<double> adc_ranges;             // empty unless the ADC range is calibrated
  double rmse_before = 0, rmse_after = 0;     // held-out, integer units
  double relative_before = 0, relative_after = 0;
  int64_t fit_reads = 0;
};

// The core's ColumnReadout, or InputError naming `layer` when the core has none (an ideal core, an
// external chip that returns only dot products).
const ColumnReadout& RequireReadout(const MvmCore& core, const std::string& layer);

// Calibrates `core` (programmed for `node`) on `inputs` (K must be the layer's depth, n >= 1 each,
// codes within the core's input range; std::invalid_argument otherwise). params.fit_vectors /
// holdout_vectors are not used here (the inputs carry their own counts); params.seed roots the
// read-noise streams (CalibrationFitReadStream, CalibrationHoldoutReadStream). The core is not
// changed: ApplyCalibration makes the calibrated one.
LayerCalibration CalibrateLayer(const QNode& node, const MvmCore& core, const CalibrationInputs& inputs,
                                const ChipCalibrationParams& params);
// The same on RandomCalibrationInputs(core, params).
LayerCalibration CalibrateLayer(const QNode& node, const MvmCore& core, const ChipCalibrationParams& params);
// The calibrated twin of a freshly programmed core of the same chip: sizes and values are checked
// (InputError naming `where` and the layer otherwise).
std::unique_ptr<MvmCore> ApplyCalibration(const LayerCalibration& calibration, const MvmCore& core,
                                          const std::string& where);

}  // namespace cimsim
