// trace_sink.h — a probe that sees every analog column read of a crossbar core (calibration, traces).
//
// When MvmContext::trace is non-null, CrossbarCore::Multiply (fast path and reference alike) calls
// Record once per column read, in the order the reads are simulated (the read-noise draw order of
// sim/crossbar_core.h), on the calling thread. A sink shared by threads must lock itself; a sink per
// worker needs nothing. Tracing is slow (one virtual call per read) and meant for calibration and
// sampled traces, not for accuracy runs.
#pragma once

#include <cstdint>
#include <vector>

namespace cimsim {

// One column read: one ADC conversion of one output column's weight slice, for one input slice (or
// the DAC read) of one sign pass of one input vector. Values in integer units (sim/crossbar_params.h).
struct MvmRead {
  int64_t tile_row = 0, tile_col = 0;   // tile position: rows [tile_row·rows_max, ...), outputs of tile_col
  int weight_slice = 0;                 // s: digit s of the weight magnitude, weight 2^(s·slice_bits)
  int input_slice = 0;                  // t: input bits [t·input_slice_bits, ...); 0 for the DAC
  int sign_pass = 0;                    // 0: x⁺ (all of an unsigned input); 1: x⁻ of a signed input
  int64_t output = 0;                   // o, the layer's output column
  int64_t vector = 0;                   // j, the input vector of the batch
  int64_t ideal = 0;                    // Σ_k x_t[k]·d_s[k] over the tile's rows (d signed for differential)
  double analog = 0;                    // the column value before the ADC, read noise included
  int32_t code = 0;                     // the ADC code
  double lsb = 0;                       // the column's ADC step: code·lsb is the digitized value
  double corrected = 0;                 // gain·(code·lsb) + offset, what the periphery adds up
  bool operator==(const MvmRead&) const = default;
};

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void Record(const MvmRead& r) = 0;
};

// Keeps every read (tests, calibration of a small sample).
class TraceRecorder final : public TraceSink {
 public:
  void Record(const MvmRead& r) override { reads.push_back(r); }
  std::vector<MvmRead> reads;
};

}  // namespace cimsim
