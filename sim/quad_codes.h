// quad_codes.h — a K×n matrix of unsigned 8-bit input codes in the layout the u8×s8 GEMM reads.
//
// Column j is one input vector x[·, j] of length K (the dot-product depth), n the number of vectors,
// as in PairedCodes (sim/paired_codes.h); the codes are unsigned and at most 8 bits: x in [0, 255]
// (activations after a ReLU, e.g. [0, 255] for A8, [0, 15] for A4). Signed image codes do not fit.
//
// Layout ("k-quad interleaved"): with Kq = ⌈K/4⌉ row quads and n_stride = n rounded up to a multiple
// of 64, the four codes x[4kq .. 4kq+3, j] share one uint32 "quad", code 4kq + b in byte b (bits
// 8b .. 8b+7, little-endian: byte b of the quad in memory), and quad (kq, j) lives at
//     kq·n_stride + j.
// Row quad kq is therefore n_stride contiguous uint32: one int32 lane of a `vpdpbusd` operand per
// vector j, 16 vectors per 512-bit register. Everything outside k < K, j < n (the missing codes of a
// last quad when K % 4 != 0, the columns n..n_stride−1) is zero, so kernels may read whole 64-column
// groups and whole quads. Storage is aligned like Eigen's dynamic matrices; a row quad is a multiple
// of 256 bytes long, so every row quad starts on that alignment too.
#pragma once

#include <cstdint>

#include "sim/input_codes.h"
#include "sim/interleaved_codes.h"

namespace cimsim {

// The storage (shape, padding, grow-only buffer) is InterleavedCodes' (sim/interleaved_codes.h) with
// row quads for groups: 4 rows per group, 1 uint32 slot per column, n_stride a multiple of 64.
class QuadCodes : public InterleavedCodes<uint32_t, 4, 1, 64> {
 public:
  QuadCodes() = default;
  QuadCodes(int64_t K, int64_t n) { Resize(K, n); }

  // Sets the shape and zero-fills every quad (padding included). Never shrinks the capacity, so a
  // buffer reused for same-or-smaller shapes does not allocate. K, n >= 0 (std::invalid_argument).
  void Resize(int64_t K, int64_t n);
  // Sets the shape and zero-fills only the columns n..n_stride−1 of every row quad, for a caller
  // that then writes every quad (kq, j < n) whole, with zero bytes past K (FillQuadCodes).
  void ReshapeForFill(int64_t K, int64_t n);

  int64_t quads() const { return groups(); }  // Kq, the number of row quads

  // Four codes as one quad: c0 in byte 0 … c3 in byte 3.
  static uint32_t PackQuad(uint8_t c0, uint8_t c1, uint8_t c2, uint8_t c3) {
    return uint32_t{c0} | (uint32_t{c1} << 8) | (uint32_t{c2} << 16) | (uint32_t{c3} << 24);
  }
  // Code (k, j), k < K, j < n; Set keeps the other three codes of its quad.
  void Set(int64_t k, int64_t j, uint8_t v) {
    uint32_t& q = Cell(CellOffset(k, j));
    const int shift = static_cast<int>(8 * (k % 4));
    q = (q & ~(uint32_t{0xff} << shift)) | (uint32_t{v} << shift);
  }
  uint8_t Get(int64_t k, int64_t j) const { return static_cast<uint8_t>(Cell(CellOffset(k, j)) >> (8 * (k % 4))); }

  // Row quad kq in [0, quads()): n_stride uint32.
  uint32_t* QuadRow(int64_t kq) { return GroupRow(kq); }
  const uint32_t* QuadRow(int64_t kq) const { return GroupRow(kq); }
};

// Resizes `out` to (x.K, x.n) and copies the view x (sim/input_codes.h) into it. The caller promises
// every code lies in [0, 255] (the core's CodeRange); each is stored as its low 8 bits. Row-major
// views (j_stride = 1, what im2col writes) take a loop that builds a quad from four rows at a time.
// Allocation-free once `out` has grown to the shape.
void FillQuadCodes(const InputCodes& x, QuadCodes& out);

}  // namespace cimsim
