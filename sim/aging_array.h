// aging_array.h — the read-time capability of an MvmCore whose weights sit in drifting devices: the
// same programmed chip instance read at another time after programming.
//
// A device's conductance drifts after programming, g(t) = g·((t + t0)/t0)^(−ν) with ν drawn once per
// cell at programming (devices/device_model.h), and its read noise σ(g, t) depends on t. Nothing drawn
// at programming depends on the read time, so one programmed instance can be asked at several times:
// AtReadTime(t) returns a new, immutable core that shares the programmed cells (conductances as
// programmed and drift exponents: no new draws, no reprogramming), ages them to t seconds after
// programming and keeps everything else of this core — the analog periphery and the readout settings
// (ADC ranges and digital corrections of a calibration, sim/column_readout.h). Its outputs are exactly
// those of a core programmed from the same stream with read time t, then given the same readout
// settings (tested on every ADC code, fast path and reference).
//
// Like ColumnReadout::WithReadout, this never mutates a core: a lifetime experiment
// (experiments/lifetime_runner.h) keeps the programmed core and asks it for one twin per time.
#pragma once

#include <memory>
#include <string>

namespace cimsim {

class MvmCore;

class AgingArray {
 public:
  virtual ~AgingArray() = default;
  // Seconds after programming at which this core reads (drift and read noise are evaluated there).
  virtual double ReadTime() const = 0;
  // The same programmed instance with the same readout, read `read_time` seconds after programming
  // (see above). Throws std::invalid_argument (message prefixed by `where`) when read_time is negative
  // or not finite.
  virtual std::unique_ptr<MvmCore> AtReadTime(double read_time, const std::string& where) const = 0;
};

}  // namespace cimsim
