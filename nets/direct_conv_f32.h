// direct_conv_f32.h — float32 convolution as an implicit GEMM over zero-padded phase planes: no
// lowered (im2col) matrix, weights packed once per call, every output a single-accumulator chain
// of fused multiply-adds in the OIHW depth order (the same order as a GEMM of the lowered matrix).
//
// Input layout. x [C, H, W] is zero-padded by p to [PH, PW] and, at stride s, split by phase:
// plane (c, a, b) is [PH_s, PW_s] (ConvWindow::PhaseHeight/PhaseWidth) and holds padded pixel
// (s·y + a, s·x + b) at y·PW_s + x, at index ((c·s + a)·s + b)·FloatPlaneStride(g) of `planes`. Each
// plane is followed by a zero tail (FloatPlaneStride >= PH_s·PW_s + kDirectConvColumns) that the
// last column block may read past the grid.
//
// The grid. Output (oy, ox) of depth step (c, ky, kx) reads padded pixel (s·oy + ky, s·ox + kx) =
// plane (c, ky mod s, kx mod s) at (oy + ⌊ky/s⌋)·PW_s + ox + ⌊kx/s⌋. With outputs numbered on the
// plane's grid, j = oy·PW_s + ox, every depth step reads its plane at j + offset(c, ky, kx), a
// contiguous run:
//     grid[o, j] = Σ_{c, ky, kx} w[o, c, ky, kx] · planes[offset(c, ky, kx) + j]  (c, ky, kx in order)
//                = y[o, oy, ox]           for j = oy·PW_s + ox, ox < OW.
// The grid has (OH − 1)·PW_s + OW columns; columns with ox >= OW are wasted work (2 of 34 per row
// at 32×32, 2 of 18 at 16×16, 2 of 10 at 8×8) and are not stored.
//
// Kernel. Tiles of kDirectConvOutputs output channels × kDirectConvColumns grid columns, held in
// registers (AVX-512: 8 × 3 vectors of 16 floats; AVX2, 16 registers: one pass over the depth per
// block of 4 outputs × 16 columns, the same chains) over the whole depth K = C·k², then scattered
// into y [O, OH·OW] (plus the bias, after the sum, as y = W·x + b). Weights are read in place
// (OIHW): each step broadcasts one weight from each of the tile's 8 rows, which stay in L1 (8·K
// floats), so nothing is packed — the network runs one image at a time and a per-call packing
// of the weights cost more than the image. Each sum is fixed by the weights and one image, so the
// result does not depend on the batch or the thread count. Reference: Conv2dReference (float64).
#pragma once

#include <cstdint>

#include "nets/conv_window.h"

namespace cimsim {

inline constexpr int kDirectConvOutputs = 8;   // output channels per register tile
// How each chain rounds (this header's and direct_conv_weight_grad_f32.h's): true in builds with the
// AVX2 + FMA or AVX-512 paths, where every step is one fused multiply-add, rounded once; false in
// scalar builds (compiled with -ffp-contract=off), where each product is rounded before it is added.
// The kernels' tests hold them to that chain bit for bit, so the AVX2 and AVX-512 paths, which both
// fuse, give the same bits.
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
inline constexpr bool kDirectConvFusedChains = true;
#else
inline constexpr bool kDirectConvFusedChains = false;
#endif
inline constexpr int kDirectConvColumns = 48;  // grid columns per register tile

// Floats per phase plane (PH_s·PW_s plus the tail, rounded up to 16) and of all C·s² planes.
int64_t FloatPlaneStride(const ConvWindow& g);
int64_t FloatPlanesSize(const ConvWindow& g);
// Writes every element of planes[0, FloatPlanesSize(g)) from x [C, H, W] (borders and tails zero).
void PackFloatPlanes(const float* x, const ConvWindow& g, float* planes);

// y [O, OH·OW] = the convolution of one image's planes with w [O, C·k·k] (OIHW), plus bias [O] when
// non-null. g must be Consistent() (the caller's check). Allocation-free, reentrant.
void DirectConvF32(const float* planes, const float* w, int64_t outputs, const ConvWindow& g, const float* bias,
                   float* y);

}  // namespace cimsim
