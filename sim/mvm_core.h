// mvm_core.h — the MVM-core boundary: one layer's weights, prepared once, multiplied many times.
// (docs/architecture.md, "The core boundary".)
//
// A core holds an N × K matrix of integer weight codes (N outputs, K = dot-product depth) and
// computes, for each input vector j of x (sim/input_codes.h, column-major [K, n]),
//     y[o, j] ≈ Σ_k w[o, k] · x[k, j]        (integer dot-product units, row-major, ldy >= n)
// exactly for IdealCore, through simulated analog crossbars (noise, ADC) for CrossbarCore, through a
// real or emulated chip in another process for ExternalCore. Whatever the core, y is in the same
// units, so the integer executor's requantization does not depend on it; placing a layer on CIM is
// the choice of its MvmCore and nothing more.
//
// Prepare / eval. Everything that can fail for a bad layer or configuration (codes out of range,
// geometry, a device range too narrow, overflow bounds) fails when the core is built; calibration
// produces a new, equally immutable core (ColumnReadout::WithReadout), never mutates one. Multiply
// then only checks the call's shape (O(1): x.K == Depth(), ldy >= x.n, a stream when the core draws
// noise) and trusts the codes to lie in InputRange().
//
// Capabilities. Beyond Multiply a core may offer small interfaces, reached through virtual accessors
// that return null when the core lacks them (never by casting to a concrete core):
//   Readout()  — column-level reads (ADC codes) that a calibration can observe through
//                MvmContext::trace and re-scale (sim/column_readout.h).
//
// Thread safety: a core is const once built. Several workers call Multiply at the same time, each
// with its own MvmContext (its own random stream), so results depend only on (weights, x, stream).
#pragma once

#include <cstdint>
#include <string_view>

#include "sim/input_codes.h"

namespace cimsim {

class Rng;
class TraceSink;      // sim/trace_sink.h
class ColumnReadout;  // sim/column_readout.h

// Per-call context: the caller's random stream. Noisy cores draw their read noise from it; exact
// cores ignore it (rng may then be null).
struct MvmContext {
  Rng* rng = nullptr;
  TraceSink* trace = nullptr;  // non-null: sees every column read of a core with a Readout() (slow)
  int64_t item = -1;           // the caller's item (IntegerNetwork: the image's index in its data set), or −1
};

class MvmCore {
 public:
  virtual ~MvmCore() = default;
  virtual std::string_view Name() const = 0;  // "ideal", "crossbar", "external", ...
  virtual int64_t Outputs() const = 0;        // N
  virtual int64_t Depth() const = 0;          // K
  virtual CodeRange InputRange() const = 0;   // the codes x may hold
  // y[o, j] (row-major, leading dimension ldy >= x.n) = the layer's dot product for input vector j,
  // in integer units; columns j >= x.n of y are not touched. Throws std::invalid_argument for a
  // call of the wrong shape (x.K != Depth(), ldy < x.n, a missing rng on a noisy core); a core that
  // talks to a device may also throw InputError (common/error.h) when the device fails.
  virtual void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const = 0;

  // Capabilities (see above); null when the core does not offer them.
  virtual const ColumnReadout* Readout() const { return nullptr; }
};

}  // namespace cimsim
