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
//   Aging()    — the same programmed instance read at another time after programming (drift and
//                read noise at that time; sim/aging_array.h).
//
// Thread safety: a core is const once built. Several workers call Multiply at the same time, each
// with its own MvmContext (its own random stream), so results depend only on (weights, x, stream).
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sim/input_codes.h"

namespace cimsim {

class Rng;
class TraceSink;      // sim/trace_sink.h
class ColumnReadout;  // sim/column_readout.h
class AgingArray;     // sim/aging_array.h

// Vectors [first, first + count) of a call that belong to one item (an image) with its own stream.
struct MvmSegment {
  int64_t first = 0, count = 0;
  Rng* rng = nullptr;
  int64_t item = -1;
};

// Per-call context: the caller's random stream. Noisy cores draw their read noise from it; exact
// cores ignore it (rng may then be null).
//
// Segments (layer-major execution): a call may carry the vectors of several items, each with its own
// stream. Then `segments` lists them in order, tiling [0, x.n) without gaps, and the call must give
// exactly what one call per segment would give, with context {segment.rng, trace, segment.item}
// (and rng, item ignored). A core that draws nothing and keeps no per-item state (IdealCore) may
// treat the call as one batch; the others use ForEachSegment.
struct MvmContext {
  Rng* rng = nullptr;
  TraceSink* trace = nullptr;  // non-null: sees every column read of a core with a Readout() (slow)
  int64_t item = -1;           // the caller's item (IntegerNetwork: the image's index in its data set), or −1
  std::span<const MvmSegment> segments = {};   // empty: the whole call is one item (rng, item)
};

// Calls fn(x_s, y_s, ctx_s) once per segment of ctx (x_s the segment's vectors, y_s = y + first with
// the same ldy, ctx_s = {segment.rng, ctx.trace, segment.item}), or once with (x, y, ctx) when ctx has
// no segments. Throws std::invalid_argument when the segments do not tile [0, x.n) in order.
template <typename Fn>
void ForEachSegment(const InputCodes& x, int32_t* y, const MvmContext& ctx, Fn&& fn) {
  if (ctx.segments.empty()) {
    MvmContext whole = ctx;
    fn(x, y, whole);
    return;
  }
  int64_t next = 0;
  for (const MvmSegment& s : ctx.segments) {
    if (s.first != next || s.count < 0 || s.first + s.count > x.n)
      throw std::invalid_argument("MvmContext::segments: segment [" + std::to_string(s.first) + ", " +
                                  std::to_string(s.first + s.count) + ") does not continue at " + std::to_string(next) +
                                  " within " + std::to_string(x.n) + " vectors");
    next = s.first + s.count;
  }
  if (next != x.n)
    throw std::invalid_argument("MvmContext::segments: they cover " + std::to_string(next) + " of " +
                                std::to_string(x.n) + " vectors");
  for (const MvmSegment& s : ctx.segments) {
    MvmContext one{s.rng, ctx.trace, s.item, {}};
    fn(x.Columns(s.first, s.count), y + s.first, one);
  }
}

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
  virtual const AgingArray* Aging() const { return nullptr; }
};

}  // namespace cimsim
