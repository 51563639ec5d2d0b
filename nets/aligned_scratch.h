// aligned_scratch.h — 64-byte-aligned slots in scratch buffers for GEMM destinations.
//
// Eigen peels unaligned leading elements of a product into scalar code, and the rest runs in vector
// registers with fused multiply-adds; which elements are peeled depends on the destination's address.
// Backward passes that sum per-chunk partial products (conv, linear) therefore put every partial in
// an aligned slot, so that results cannot depend on which worker's buffer was used.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/parallel.h"

namespace cimsim {

inline constexpr int64_t kAlignFloats = 16;  // 64 bytes

inline int64_t RoundUpToAlignment(int64_t floats) { return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// The first 64-byte boundary at or after p (p must have kAlignFloats floats of room to spare).
inline float* AlignUp(float* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t bytes = kAlignFloats * sizeof(float);
  return p + ((bytes - address % bytes) % bytes) / sizeof(float);
}

// dst[e] = Σ_{c = 0..chunks−1} slots[c·slot + offset + e] for e in [0, count), summed in chunk order
// (the same value for any thread count); blocks of 1024 elements are spread over the pool.
inline void SumChunkPartials(ThreadPool& pool, const float* slots, int64_t chunks, int64_t slot, int64_t offset,
                             int64_t count, float* dst) {
  constexpr int64_t kBlock = 1024;
  pool.ParallelFor((count + kBlock - 1) / kBlock, [&](std::ptrdiff_t begin, std::ptrdiff_t end, int) {
    const int64_t e0 = begin * kBlock, e1 = std::min<int64_t>(end * kBlock, count);
    std::copy(slots + offset + e0, slots + offset + e1, dst + e0);
    for (int64_t c = 1; c < chunks; ++c) {
      const float* part = slots + c * slot + offset;
      for (int64_t e = e0; e < e1; ++e) dst[e] += part[e];
    }
  });
}

}  // namespace cimsim
