// mvm_core.h — the matrix-vector multiply core: one layer's weights, programmed once, multiplied many
// times (ARCHITECTURE.md §3).
//
// A core holds an N × K matrix of integer weight codes (N outputs, K = dot-product depth) and
// computes, for each input vector j of a PairedCodes batch x (K × n),
//     y[o, j] ≈ Σ_k w[o, k] · x[k, j]        (integer dot-product units, row-major, ldy >= n)
// exactly for IdealCore, through simulated analog crossbars (noise, ADC) for the crossbar core.
// Whatever the core, y is in the same units, so the integer executor's requantization does not
// depend on it; placement of a layer on CIM is the choice of its MvmCore and nothing more.
//
// Thread safety: a core is const once built. Several workers call Multiply at the same time, each
// with its own MvmContext (its own random stream), so results depend only on (weights, x, stream).
#pragma once

#include <cstdint>
#include <string_view>

#include "sim/paired_codes.h"

namespace cimsim {

class Rng;
class TraceSink;  // sim/trace_sink.h

// Per-call context: the caller's random stream. Crossbar cores draw their read noise from it; exact
// cores ignore it (rng may then be null).
struct MvmContext {
  Rng* rng = nullptr;
  TraceSink* trace = nullptr;  // non-null: sees every analog column read of a crossbar core (slow)
  int64_t item = -1;           // the caller's item (IntegerNetwork: the image's index in its data set), or −1
};

class MvmCore {
 public:
  virtual ~MvmCore() = default;
  virtual std::string_view Name() const = 0;
  virtual int64_t Outputs() const = 0;  // N
  virtual int64_t Depth() const = 0;    // K
  // y[o, j] (row-major, leading dimension ldy >= x.n()) = the layer's dot product for input vector j,
  // in integer units; columns j >= x.n() of y are not touched. Requires x.K() == Depth().
  virtual void Multiply(const PairedCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const = 0;
};

}  // namespace cimsim
