// aligned_scratch.h — 64-byte-aligned slots in scratch buffers for GEMM destinations.
//
// Eigen peels unaligned leading elements of a product into scalar code, and the rest runs in vector
// registers with fused multiply-adds; which elements are peeled depends on the destination's address.
// Backward passes that sum per-chunk partial products (conv, linear) therefore put every partial in
// an aligned slot, so that results cannot depend on which worker's buffer was used.
#pragma once

#include <cstdint>

namespace cimsim {

inline constexpr int64_t kAlignFloats = 16;  // 64 bytes

inline int64_t RoundUpToAlignment(int64_t floats) { return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// The first 64-byte boundary at or after p (p must have kAlignFloats floats of room to spare).
inline float* AlignUp(float* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  const std::uintptr_t bytes = kAlignFloats * sizeof(float);
  return p + ((bytes - address % bytes) % bytes) / sizeof(float);
}

}  // namespace cimsim
