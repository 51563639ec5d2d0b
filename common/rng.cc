#include "common/rng.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/box_muller.h"

namespace cimsim {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

__extension__ typedef unsigned __int128 U128;

uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) : Rng(seed ^ 0x6A09E667F3BCC908ULL, true) {}

Rng::Rng(uint64_t key, bool) : key_(key) {
  uint64_t x = key;
  for (uint64_t& s : s_) s = SplitMix64(x);
}

Rng Rng::Derive(uint64_t id) const {
  uint64_t x = key_ ^ Rotl(id * 0xD1B54A32D192ED03ULL, 17);
  uint64_t k = SplitMix64(x);
  k ^= SplitMix64(x);
  return Rng(k, true);
}

uint64_t Rng::NextU64() {
  const uint64_t result = Rotl(s_[0] + s_[3], 23) + s_[0];
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

double Rng::Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

uint64_t Rng::Below(uint64_t n) {
  U128 m = static_cast<U128>(NextU64()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<U128>(NextU64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

void Rng::RefillNormals() {
  uint64_t words[kNormalBlock];
  for (uint64_t& w : words) w = NextU64();
  BoxMullerBlock(words, normals_, kNormalBlock / 2);
  normal_next_ = 0;
}

void Rng::FillNormal(double* out, int64_t n) {
  if (n < 0) throw std::invalid_argument("Rng::FillNormal: n = " + std::to_string(n) + ", must be >= 0");
  FillNormalMasked(out, n, 1, nullptr);
}

void Rng::FillNormalRows(double* out, int64_t rows, int64_t row_length, const uint8_t* needed) {
  if (rows < 0 || row_length < 0) {
    throw std::invalid_argument("Rng::FillNormalRows: rows = " + std::to_string(rows) + ", row_length = " +
                                std::to_string(row_length) + ", both must be >= 0");
  }
  if (row_length == 0) return;
  FillNormalMasked(out, rows * row_length, row_length, needed);
}

void Rng::FillNormalMasked(double* out, int64_t n, int64_t row_length, const uint8_t* needed) {
  double* const first = out;
  // 1. What is left in the buffer.
  const int64_t buffered = std::min<int64_t>(n, kNormalBlock - normal_next_);
  std::copy_n(normals_ + normal_next_, buffered, out);
  normal_next_ += static_cast<int>(buffered);
  out += buffered;
  n -= buffered;
  // 2. Whole blocks straight into out, up to kChunkBlocks blocks per chunk of words (the words
  //    are taken in the order Normal() would take them and the transform is pairwise, so this is
  //    the same sequence). With a mask, only the pairs that touch a run of needed rows are
  //    transformed: pair p of the chunk covers out[2p, 2p + 2), and the chunk's length is even.
  constexpr int64_t kChunkBlocks = 32;
  uint64_t words[kChunkBlocks * kNormalBlock];
  while (n >= kNormalBlock) {
    const int64_t count = std::min(n / kNormalBlock, kChunkBlocks) * kNormalBlock;
    for (int64_t i = 0; i < count; ++i) words[i] = NextU64();
    if (needed == nullptr) {
      BoxMullerBlock(words, out, count / 2);
    } else {
      const int64_t pos = out - first;   // the chunk is [pos, pos + count) of the call's values
      const int64_t last_row = (pos + count - 1) / row_length;
      for (int64_t r = pos / row_length; r <= last_row;) {
        if (!needed[r]) {
          ++r;
          continue;
        }
        int64_t r_end = r + 1;   // a run of needed rows [r, r_end)
        while (r_end <= last_row && needed[r_end]) ++r_end;
        const int64_t lo = std::max(r * row_length, pos) - pos;
        const int64_t hi = std::min(r_end * row_length, pos + count) - pos;
        const int64_t p0 = lo / 2, p1 = (hi + 1) / 2;
        BoxMullerBlock(words + 2 * p0, out + 2 * p0, p1 - p0);
        r = r_end;
      }
    }
    out += count;
    n -= count;
  }
  // 3. The remainder from a fresh buffer, keeping its leftover.
  if (n > 0) {
    RefillNormals();
    std::copy_n(normals_, n, out);
    normal_next_ = static_cast<int>(n);
  }
}

}  // namespace cimsim
