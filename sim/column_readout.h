// column_readout.h — the calibration capability of an MvmCore whose outputs are assembled from
// digitised column reads (a simulated crossbar, a real chip behind ExternalCore).
//
// Such a core computes y by reading columns: for tile row r, weight slice s and output o (one
// "readout column", index ReadoutGeometry::Index(r, s, o)) and each sign pass p and input slice t,
// an ADC turns an analog column value v into a code; the digital periphery then adds
//     corrected = gain·(code·lsb) + offset          (ColumnCorrection, per readout column)
//     y[o, j]  += (p ? −1 : 1)·2^(s·c + t·b)·corrected
// (c = bits per weight slice, b = bits per input slice; the full maths of the simulated crossbar is
// in sim/crossbar_core.h and the headers it lists). A calibration observes the reads
// (MvmContext::trace receives one MvmRead per read, sim/trace_sink.h), fits per-column ADC ranges and
// corrections, and asks the core for a calibrated twin: WithReadout returns a new immutable core that
// shares the programmed weights (nothing is programmed again, no new device draws) and uses the new
// readout settings.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace cimsim {

class MvmCore;

// The digital correction of one readout column: corrected = gain·value + offset.
struct ColumnCorrection {
  double gain = 1, offset = 0;
  bool operator==(const ColumnCorrection&) const = default;
};

// How a layer's readout columns are organised.
struct ReadoutGeometry {
  int64_t tile_rows = 0;    // groups of rows of the dot product read separately (⌈K / rows per tile⌉)
  int weight_slices = 0;    // S, digits per weight
  int64_t outputs = 0;      // N
  int input_slices = 0;     // T, reads per sign pass (1 for a DAC)
  int sign_passes = 0;      // 1 (unsigned inputs) or 2 (x⁺ then x⁻)
  int64_t Columns() const { return tile_rows * weight_slices * outputs; }
  // The readout column of (tile row, weight slice, output).
  int64_t Index(int64_t tile_row, int slice, int64_t output) const {
    return (tile_row * weight_slices + slice) * outputs + output;
  }
  bool operator==(const ReadoutGeometry&) const = default;
};

// What a calibration sets, per readout column (ReadoutGeometry::Index order).
struct ReadoutSettings {
  std::vector<ColumnCorrection> corrections;   // Columns() entries, finite
  std::vector<double> adc_ranges;              // empty: keep the ADC as it is; else Columns() entries,
                                               // each finite and > 0 (needs AdcRangesSettable())
};

class ColumnReadout {
 public:
  virtual ~ColumnReadout() = default;
  virtual ReadoutGeometry Geometry() const = 0;
  virtual int AdcBits() const = 0;
  // True when calibration may set per-column ADC full-scale ranges (lsb = range / 2^(bits−1)).
  virtual bool AdcRangesSettable() const = 0;
  // Why not, for error messages (e.g. "the ADC range is \"max\""); empty when settable.
  virtual std::string AdcRangesFixedReason() const = 0;
  virtual std::span<const double> AdcRanges() const = 0;    // full scale per column, integer units
  virtual std::span<const double> AdcLsb() const = 0;       // per column
  virtual std::span<const ColumnCorrection> Corrections() const = 0;
  // The calibrated twin (see above). Throws std::invalid_argument (message prefixed by `where`) when a
  // size is wrong or a value not finite (or a range not > 0), std::logic_error when ADC ranges are
  // given to a core whose ranges are fixed. Callers holding user data (a calibration file) check it
  // first and report InputError naming the file.
  virtual std::unique_ptr<MvmCore> WithReadout(const ReadoutSettings& settings, const std::string& where) const = 0;
};

}  // namespace cimsim
