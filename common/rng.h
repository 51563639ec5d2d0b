// rng.h — explicitly seeded, splittable random numbers.
//
// Rng is xoshiro256++ (Blackman & Vigna), state filled by SplitMix64. Streams are derived, never
// shared: Rng(seed).Derive(a).Derive(b) is a pure function of (seed, a, b), so a draw for image i of
// epoch e is the same whichever thread makes it and in whatever order. Nothing here reads the clock.
#pragma once

#include <cmath>
#include <cstdint>

namespace cimsim {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // A new independent generator identified by (this generator's key, id); does not advance *this.
  Rng Derive(uint64_t id) const;

  uint64_t NextU64();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform integer in [0, n), n >= 1, unbiased (Lemire's multiply-and-reject).
  uint64_t Below(uint64_t n);
  // Standard normal N(0, 1) (Box–Muller; no cached second value, so the stream stays a pure function).
  double Normal();
  bool Bernoulli(double p) { return Uniform() < p; }

 private:
  Rng(uint64_t key, bool /*raw*/);
  uint64_t key_;    // identifies the stream; Derive() hashes it with the child id
  uint64_t s_[4];   // xoshiro256++ state
};

}  // namespace cimsim
