// rng.h — explicitly seeded, splittable random numbers.
//
// Rng is xoshiro256++ (Blackman & Vigna), state filled by SplitMix64. Streams are derived, never
// shared: Rng(seed).Derive(a).Derive(b) is a pure function of (seed, a, b), so a draw for image i of
// epoch e is the same whichever thread makes it and in whatever order. Nothing here reads the clock.
//
// Raw words. Every draw takes its words from one stream of NextU64() words, in call order:
//   NextU64(), Uniform(), Bernoulli(p): one word each, at the call.
//   Below(n): one word, plus one more per rejection (rare; none when n is a power of two).
//   Normal(), FillNormal(): normals come from a buffer of B = kNormalBlock = 32 values. Normal()
//     with an empty buffer first takes the next B words (at that moment, before any later draw)
//     and turns them into B normals with BoxMullerBlock (common/box_muller.h: words 2i, 2i+1 of
//     the block give normals 2i, 2i+1); with values left it takes no words. FillNormal(out, n)
//     returns exactly what n successive Normal() calls would and leaves the generator (state and
//     buffer) exactly as they would: with b values buffered it takes B·ceil((n − b)/B) words at
//     the call if n > b, none otherwise, and keeps the leftover of the last block buffered.
// So a Uniform() right after the first Normal() reads word B, and the next 31 Normal() calls take
// no words. Two generators that make the same sequence of calls get the same numbers, whatever the
// blocking of their FillNormal calls (FillNormal(4) + FillNormal(60) == FillNormal(64) == 64 ×
// Normal()). A fresh or derived generator starts with an empty buffer. Copies carry the buffer (a
// copy continues exactly as the original would); Derive() uses only the stream key, never the
// buffer or the state.
// Masked fill:
//   FillNormalRows(out, rows, L, needed): the words and the state of FillNormal(out, rows·L) (so
//     also of rows·L Normal() calls), but only the rows j with needed[j] != 0 are guaranteed to
//     hold FillNormal's values, bit for bit: out[j·L + i], i < L. Entries of other rows are
//     unspecified (left as they were or overwritten with normals), never outside out[0, rows·L).
//     Since every Box–Muller output is a pure function of its own two words (common/box_muller.h),
//     skipping the transform of pairs that no needed row touches changes no needed value and no
//     word taken: the stream is FillNormal's whatever the mask.
#pragma once

#include <cmath>  // kept: includers may rely on it
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
  // Standard normal N(0, 1): the next value of the normal buffer, refilled from kNormalBlock
  // words when empty (see the top of this file for when words are taken).
  double Normal() {
    if (normal_next_ == kNormalBlock) RefillNormals();
    return normals_[normal_next_++];
  }
  // out[0..n) = what n successive Normal() calls would return, with the same effect on *this;
  // whole blocks go straight into out. n >= 0 (std::invalid_argument otherwise).
  void FillNormal(double* out, int64_t n);
  // FillNormal(out, rows·row_length) whose values are guaranteed only in the rows j with
  // needed[j] != 0 (row j = out[j·row_length, (j + 1)·row_length)); the generator ends exactly as
  // after FillNormal (see the top of this file). Skips the Box–Muller transform of pairs outside the
  // needed rows. rows, row_length >= 0 (std::invalid_argument otherwise); needed[0, rows).
  void FillNormalRows(double* out, int64_t rows, int64_t row_length, const uint8_t* needed);
  bool Bernoulli(double p) { return Uniform() < p; }

  static constexpr int kNormalBlock = 32;  // normals per refill (16 Box–Muller pairs)

 private:
  Rng(uint64_t key, bool /*raw*/);
  void RefillNormals();  // kNormalBlock words -> normals_, normal_next_ = 0
  // FillNormal with an optional row mask (FillNormalRows; needed == nullptr: every value).
  void FillNormalMasked(double* out, int64_t n, int64_t row_length, const uint8_t* needed);

  uint64_t key_;    // identifies the stream; Derive() hashes it with the child id
  uint64_t s_[4];   // xoshiro256++ state
  int normal_next_ = kNormalBlock;      // index of the next buffered normal; kNormalBlock = empty
  double normals_[kNormalBlock] = {};   // the current block of normals
};

}  // namespace cimsim
