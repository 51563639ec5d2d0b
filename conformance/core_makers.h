// core_makers.h — the cores the conformance suite (core_conformance_test.cc) runs on, and what each
// promises.
//
// A CoreMaker builds one kind of MvmCore for any layer of the suite (Layers()): weights [N, K] int16 of
// weight_bits bits, inputs in a CodeRange, and a seed for whatever the core draws when it is built
// (a crossbar's programming noise). Open() starts one session per test (for an external chip: one
// server process, reused for every layer of the test) and returns the builder.
//
// Promises say which properties apply. Every maker runs every property on every layer; where a promise
// is absent the property checks what the core documents instead (a noiseless core ignores the stream, a
// core without Readout() returns null and reports no reads), except a split batch under Split::kNone,
// which the test skips with a message naming the maker.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "sim/input_codes.h"
#include "sim/mvm_core.h"

namespace cimsim::conformance {

// One layer shape of the suite.
struct Layer {
  std::string name;
  int64_t N = 0, K = 0;
  int weight_bits = 8;
  CodeRange range;
};

// Every layer of the suite: a few shapes, signed and unsigned input ranges, 8- and 4-bit weights.
std::vector<Layer> Layers();

// What batch splitting preserves: y of consecutive calls over parts of a batch (one stream) against
// one call over all of it.
enum class Split {
  kAny,           // any split gives the same y (the core ignores the stream, or draws per vector)
  kBlocksOf128,   // parts whose sizes are multiples of 128 (and a last part of any size) give the same y
  kNone,          // no promise: the core draws per call (documented), so only the same split repeats
};

struct Promises {
  bool exact = false;        // y bit-equal to IdealCore's for every batch
  bool noisy = false;        // draws from ctx.rng: another seed gives another y
  bool readout = false;      // Readout() is non-null
  bool needs_rng = false;    // a null ctx.rng throws std::invalid_argument (noisy cores, and see the table)
  Split split = Split::kAny;
  // The readout columns hold u = w + w_max (offset mapping); y = round(acc − w_max·Σ_k x[k, j]) subtracts
  // that term digitally after the corrections, so gain g on every column gives g·acc − w_max·Σx.
  bool offset_mapping = false;
};

// Builds the core of one layer: weights [N, K] row-major, seed for the build's draws.
using CoreBuilder = std::function<std::unique_ptr<MvmCore>(const Layer& layer, std::span<const int16_t> weights,
                                                           uint64_t seed)>;

struct CoreMaker {
  std::string name;          // a gtest name: letters, digits, underscores
  Promises promises;
  std::function<CoreBuilder()> open;   // one session per test
};

// The parameter table of the suite.
std::vector<CoreMaker> CoreMakers();

inline void PrintTo(const CoreMaker& maker, std::ostream* os) { *os << maker.name; }

}  // namespace cimsim::conformance
