// conformance_fixture.h — the fixture and helpers shared by the conformance suite's files
// (core_conformance_test.cc, readout_conformance_test.cc). Tests only.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/rng.h"
#include "conformance/core_makers.h"
#include "sim/ideal_core.h"
#include "sim/mvm_core.h"
#include "sim/trace_sink.h"

namespace cimsim::conformance {

// What y holds where a core must not write.
constexpr int32_t kSentinel = -777777;

inline std::vector<int16_t> RandomCodes(Rng& rng, int64_t count, int32_t lo, int32_t hi) {
  std::vector<int16_t> v(static_cast<size_t>(count));
  for (auto& c : v) c = static_cast<int16_t>(lo + static_cast<int32_t>(rng.Below(static_cast<uint64_t>(hi - lo + 1))));
  return v;
}

// n input vectors of the layer, vector-major [n][K], random codes with the range's extremes in vector 0.
inline std::vector<int16_t> Vectors(const Layer& l, int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int16_t> x = RandomCodes(rng, l.K * n, l.range.min, l.range.max);
  for (int64_t k = 0; k < l.K && n > 0; ++k) {
    x[static_cast<size_t>(k)] = static_cast<int16_t>(k % 2 ? l.range.max : l.range.min);
  }
  return x;
}

// y [N, ldy] (ldy = x.n unless given), prefilled with kSentinel, from one Multiply with a fresh stream
// Rng(*seed), or with a null ctx.rng when seed is empty.
inline std::vector<int32_t> Apply(const MvmCore& core, const InputCodes& x, std::optional<uint64_t> seed,
                                TraceSink* trace = nullptr, int64_t ldy = -1) {
  if (ldy < 0) ldy = x.n;
  std::vector<int32_t> y(static_cast<size_t>(core.Outputs() * ldy), kSentinel);
  std::optional<Rng> rng;
  if (seed) rng.emplace(*seed);
  MvmContext ctx{rng ? &*rng : nullptr, trace, -1};
  core.Multiply(x, y.data(), ldy, ctx);
  return y;
}

// IdealCore's y [N, x.n] for the layer.
inline std::vector<int32_t> Exact(const Layer& l, const std::vector<int16_t>& weights, const InputCodes& x) {
  const IdealCore ideal(weights, l.N, l.K, l.weight_bits, l.range.min, l.range.max);
  return Apply(ideal, x, std::nullopt);
}

// One layer of the suite, its weights and the maker's core for it.
struct LayerCore {
  Layer layer;
  std::vector<int16_t> weights;
  std::unique_ptr<MvmCore> core;
};

class CoreConformance : public ::testing::TestWithParam<CoreMaker> {
 protected:
  const Promises& promises() const { return GetParam().promises; }

  // The maker's core for every layer it runs on, built on one session (one server for an external chip).
  std::vector<LayerCore> Cores() const {
    const CoreBuilder build = GetParam().open();
    std::vector<LayerCore> cores;
    uint64_t seed = 100;
    for (const Layer& l : Layers()) {
      ++seed;
      Rng rng(seed);
      const int32_t w_max = (1 << (l.weight_bits - 1)) - 1;
      std::vector<int16_t> w = RandomCodes(rng, l.N * l.K, -w_max, w_max);
      for (int64_t k = 0; k < l.K; k += 3) w[static_cast<size_t>(k)] = static_cast<int16_t>(k % 2 ? w_max : -w_max);
      std::unique_ptr<MvmCore> core = build(l, w, seed);
      cores.push_back({l, std::move(w), std::move(core)});
    }
    return cores;
  }
};

}  // namespace cimsim::conformance
