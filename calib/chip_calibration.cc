#include "calib/chip_calibration.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "calib/chip_calibration_fields.h"
#include "common/error.h"
#include "common/rng.h"
#include "common/streams.h"
#include "calib/linear_fit.h"
#include "sim/trace_sink.h"

namespace cimsim {
namespace {

// n random input vectors over the core's input range.
LayerInputs RandomInputs(const MvmCore& core, int64_t n, Rng& rng) {
  LayerInputs in;
  in.K = core.Depth();
  in.n = n;
  in.plain.resize(static_cast<size_t>(in.K * n));
  const CodeRange range = core.InputRange();
  const uint64_t span = static_cast<uint64_t>(range.max - range.min) + 1;
  for (auto& v : in.plain) v = static_cast<int16_t>(range.min + static_cast<int32_t>(rng.Below(span)));
  return in;
}

InputCodes Checked(const LayerInputs& in, const MvmCore& core, const char* which) {
  if (in.K != core.Depth() || in.n < 1 || in.plain.size() != static_cast<size_t>(in.K * in.n))
    throw std::invalid_argument(std::string("CalibrateLayer: ") + which + " inputs have K = " + std::to_string(in.K) +
                                ", n = " + std::to_string(in.n) + ", " + std::to_string(in.plain.size()) +
                                " codes; the layer's depth is " + std::to_string(core.Depth()));
  for (int16_t v : in.plain)
    if (!core.InputRange().Contains(v))
      throw std::invalid_argument(std::string("CalibrateLayer: ") + which + " input code " + std::to_string(v) +
                                  " is outside the layer's input range");
  return InputCodes::VectorMajor(in.plain.data(), in.K, in.n);
}

// Exact Σ_k w·x for every output and vector, [N, n] row-major.
std::vector<double> ExactProducts(const QNode& node, const std::vector<int16_t>& plain, int64_t n) {
  const int64_t N = node.out_channels, K = node.Depth();
  std::vector<double> y(static_cast<size_t>(N * n));
  for (int64_t o = 0; o < N; ++o)
    for (int64_t j = 0; j < n; ++j) {
      int64_t s = 0;
      for (int64_t k = 0; k < K; ++k)
        s += int64_t{node.weights[static_cast<size_t>(o * K + k)]} * plain[static_cast<size_t>(j * K + k)];
      y[static_cast<size_t>(o * n + j)] = static_cast<double>(s);
    }
  return y;
}

struct Errors {
  double rmse = 0, relative = 0;
};

// `rng`: a fresh copy of the held-out read stream for each check.
Errors HeldOutErrors(const MvmCore& core, const InputCodes& x, const std::vector<double>& exact, Rng rng) {
  const int64_t n = x.n, N = core.Outputs();
  std::vector<int32_t> y(static_cast<size_t>(N * n));
  MvmContext ctx;
  ctx.rng = &rng;
  core.Multiply(x, y.data(), n, ctx);
  double err = 0, ref = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    err += (y[i] - exact[i]) * (y[i] - exact[i]);
    ref += exact[i] * exact[i];
  }
  const double count = static_cast<double>(y.size());
  return {std::sqrt(err / count), ref > 0 ? std::sqrt(err / ref) : 0.0};
}

// Runs the fit inputs through `core` with `sink` seeing every column read (single-threaded, the
// documented read order) and `rng` (a fresh copy of the fit read stream for each pass). Sinks fold
// the reads as they come: no read is stored.
void Drive(const MvmCore& core, const InputCodes& x, Rng rng, TraceSink& sink) {
  MvmContext ctx;
  ctx.rng = &rng;
  ctx.trace = &sink;
  std::vector<int32_t> y(static_cast<size_t>(core.Outputs() * x.n));
  core.Multiply(x, y.data(), x.n, ctx);
}

// |analog value| of every read, per readout column, for the ADC range percentiles.
struct MagnitudeSink final : TraceSink {
  MagnitudeSink(const ReadoutGeometry& g, size_t columns) : geometry(g), magnitudes(columns) {}
  void Record(const MvmRead& r) override {
    magnitudes[static_cast<size_t>(geometry.Index(r.tile_row, r.weight_slice, r.output))].push_back(std::abs(r.analog));
  }
  ReadoutGeometry geometry;
  std::vector<std::vector<double>> magnitudes;
};

// The least-squares sums of ideal ≈ gain·corrected + offset: per column (LinearFit) and, for the
// global mode, Σ ideal·m and Σ m² over all reads.
struct FitSink final : TraceSink {
  FitSink(const ReadoutGeometry& g, size_t columns) : geometry(g), fits(columns) {}
  void Record(const MvmRead& r) override {
    const double ideal = static_cast<double>(r.ideal);
    fits[static_cast<size_t>(geometry.Index(r.tile_row, r.weight_slice, r.output))].Add(r.corrected, ideal);
    im += ideal * r.corrected;
    mm += r.corrected * r.corrected;
    ++reads;
  }
  ReadoutGeometry geometry;
  std::vector<LinearFit> fits;
  double im = 0, mm = 0;
  int64_t reads = 0;
};

}  // namespace

const ColumnReadout& RequireReadout(const MvmCore& core, const std::string& layer) {
  const ColumnReadout* readout = core.Readout();
  if (readout == nullptr) {
    throw InputError("layer " + layer + ": its core (\"" + std::string(core.Name()) +
                     "\") has no column readout to calibrate; calibration needs a crossbar or an external chip "
                     "that returns column reads");
  }
  return *readout;
}

std::string_view ToString(CorrectionMode mode) { return mode == CorrectionMode::kColumn ? "column" : "global"; }

void ChipCalibrationParams::Validate(const std::string& where) const {
  ValidateFields(ChipCalibrationFields(), *this, FieldChecker(where));
}

CalibrationInputs RandomCalibrationInputs(const MvmCore& core, const ChipCalibrationParams& params) {
  params.Validate("calibration");
  Rng fit_rng = CalibrationFitInputStream(params.seed), holdout_rng = CalibrationHoldoutInputStream(params.seed);
  return {RandomInputs(core, params.fit_vectors, fit_rng), RandomInputs(core, params.holdout_vectors, holdout_rng)};
}

LayerCalibration CalibrateLayer(const QNode& node, const MvmCore& core, const ChipCalibrationParams& params) {
  return CalibrateLayer(node, core, RandomCalibrationInputs(core, params), params);
}

LayerCalibration CalibrateLayer(const QNode& node, const MvmCore& core, const CalibrationInputs& inputs,
                                const ChipCalibrationParams& params) {
  params.Validate("calibration");
  const ColumnReadout& readout = RequireReadout(core, node.name);
  const InputCodes fit_x = Checked(inputs.fit, core, "fit");
  const InputCodes holdout_x = Checked(inputs.holdout, core, "held-out");
  const std::vector<double> exact = ExactProducts(node, inputs.holdout.plain, inputs.holdout.n);
  const Rng fit_reads = CalibrationFitReadStream(params.seed);
  const Rng holdout_reads = CalibrationHoldoutReadStream(params.seed);

  LayerCalibration cal;
  cal.layer = node.name;
  const ReadoutGeometry geometry = readout.Geometry();
  const size_t columns = static_cast<size_t>(geometry.Columns());
  // Stage 0: identity corrections, the ADC as programmed.
  std::unique_ptr<MvmCore> stage = readout.WithReadout({std::vector<ColumnCorrection>(columns), {}}, node.name);
  const Errors before = HeldOutErrors(*stage, holdout_x, exact, holdout_reads);

  if (readout.AdcRangesSettable()) {
    MagnitudeSink sink(geometry, columns);
    Drive(*stage, fit_x, fit_reads, sink);
    cal.adc_ranges.resize(columns);
    for (size_t c = 0; c < columns; ++c) {
      std::vector<double>& m = sink.magnitudes[c];
      double range = 0;
      if (!m.empty()) {
        // Nearest-rank percentile: the ⌈p/100·n⌉-th smallest magnitude.
        const double rank = std::ceil(params.adc_percentile / 100.0 * static_cast<double>(m.size()));
        const size_t k = std::clamp<size_t>(static_cast<size_t>(rank), 1, m.size()) - 1;
        std::nth_element(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(k), m.end());
        range = m[k];
      }
      cal.adc_ranges[c] = range > 0 ? range : 1.0;  // a column that never conducts keeps a unit range
    }
    // Stage 1: the calibrated ADC ranges, identity corrections.
    stage = readout.WithReadout({std::vector<ColumnCorrection>(columns), cal.adc_ranges}, node.name);
  }

  FitSink fit(geometry, columns);
  Drive(*stage, fit_x, fit_reads, fit);
  cal.fit_reads = fit.reads;
  cal.corrections.assign(columns, ColumnCorrection{});
  if (params.mode == CorrectionMode::kColumn) {
    for (size_t c = 0; c < columns; ++c) {
      const LineFit f = fit.fits[c].Result();
      cal.corrections[c] = {f.gain, f.offset};
    }
  } else {
    const double gain = fit.mm > 0 ? fit.im / fit.mm : 1.0;
    for (ColumnCorrection& c : cal.corrections) c = {gain, 0.0};
  }
  // Stage 2: everything.
  stage = readout.WithReadout({cal.corrections, cal.adc_ranges}, node.name);
  const Errors after = HeldOutErrors(*stage, holdout_x, exact, holdout_reads);
  cal.rmse_before = before.rmse;
  cal.relative_before = before.relative;
  cal.rmse_after = after.rmse;
  cal.relative_after = after.relative;
  return cal;
}

std::unique_ptr<MvmCore> ApplyCalibration(const LayerCalibration& cal, const MvmCore& core, const std::string& where) {
  const ColumnReadout& readout = RequireReadout(core, cal.layer);
  const size_t columns = static_cast<size_t>(readout.Geometry().Columns());
  if (cal.corrections.size() != columns)
    throw InputError(where + ": layer " + cal.layer + " has " + std::to_string(cal.corrections.size()) +
                     " column corrections, the chip has " + std::to_string(columns) + " columns");
  for (size_t i = 0; i < columns; ++i) {
    if (!std::isfinite(cal.corrections[i].gain) || !std::isfinite(cal.corrections[i].offset))
      throw InputError(where + ": layer " + cal.layer + ": correction " + std::to_string(i) + " is not finite");
  }
  if (!cal.adc_ranges.empty()) {
    if (!readout.AdcRangesSettable())
      throw InputError(where + ": layer " + cal.layer + " has calibrated ADC ranges but " +
                       readout.AdcRangesFixedReason());
    if (cal.adc_ranges.size() != columns) throw InputError(where + ": layer " + cal.layer + ": wrong number of ADC ranges");
    for (size_t i = 0; i < columns; ++i) {
      if (!(cal.adc_ranges[i] > 0) || !std::isfinite(cal.adc_ranges[i]))
        throw InputError(where + ": layer " + cal.layer + ": ADC range " + std::to_string(i) + " = " +
                         std::to_string(cal.adc_ranges[i]) + "; must be finite and > 0");
    }
  }
  return readout.WithReadout({cal.corrections, cal.adc_ranges}, where + ": layer " + cal.layer);
}

}  // namespace cimsim
