// direct_conv_u8.h — a convolution of uint8 codes as an implicit GEMM: the u8×s8 kernel
// (sim/int8_gemm.h, Int8GemmWindows) reads shifted windows of one padded input, with no lowered
// (im2col) matrix at all.
//
// Input layout, "channel-quad phase planes": the codes x [C, H, W] (each in [0, 255]), zero-padded by
// p to [PH, PW] = [H + 2p, W + 2p], with the four channels 4q .. 4q+3 of one pixel in one uint32
// (channel 4q + b in byte b; channels >= C are 0). At stride s the padded pixels are split by phase
// (a, c) = (row mod s, column mod s): plane (q, a, c) is [PH_s, PW_s] uint32 (PH_s = ⌈PH/s⌉,
// PW_s = ⌈PW/s⌉) holding padded pixel (s·y + a, s·x + c) at y·PW_s + x (zero past the padded image),
// at index (q·s² + a·s + c)·PlaneStride(); PlaneStride() >= PH_s·PW_s + 16 leaves a zeroed tail for the
// kernel's whole-vector loads. At s = 1 there is one phase: the padded image itself.
//
// The padded-grid trick. Output (oy, ox) of k-step (q, ky, kx) reads padded pixel
// (s·oy + ky, s·ox + kx) = plane (q, ky mod s, kx mod s) at (oy + ky/s)·PW_s + ox + kx/s. Number the
// outputs on the plane's grid, j = oy·PW_s + ox with ox < PW_s: then every k-step reads its plane at
// j + offset(q, ky, kx), offset = plane index·PlaneStride() + (ky/s)·PW_s + kx/s — a contiguous run,
// the GEMM's x operand without a copy:
//     grid[o, j] = Σ_{q, ky, kx} Σ_{b<4} w[o, 4q + b, ky, kx] · byte_b(x0[offset(q, ky, kx) + j])
//                = y[o, oy, ox]        for j = oy·PW_s + ox, ox < OW.
// The grid has GridColumns() = (OH − 1)·PW_s + OW columns; the PW_s − OW columns ox >= OW of each
// grid row are wasted work (6 % of the multiply-adds at 32×32 or 16×16 outputs from 34-wide padded
// rows, 25 % at 8×8 stride 1) that the caller skips when it reads the result (RequantizeRows with
// pitch PW_s, quant/fixed_point.h). For a valid output every read stays inside its plane's
// PH_s·PW_s pixels (s·(oy + ky/s) + ky mod s <= PH − 1).
//
// Weights are reordered once: k-step g = (q·k + ky)·k + kx holds w[o, 4q .. 4q+3, ky, kx], zero for
// channels >= C. A permutation of the OIHW depth plus zero weights: the sums are the same integers, and
// exact under sim/int8_gemm.h's bound K·max|w|·max|x| < 2^31 with K = 4·Q·k² (the caller — IdealCore's
// constructor — has proved it for the layer's K = C·k², and zero weights add nothing).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "nets/conv_window.h"
#include "sim/int8_gemm.h"

namespace cimsim {

// Packs x [C, H, W] (int32 codes, each in [0, 255]: the caller's range check) into the channel-quad
// phase planes of window g (its channels, height, width, padding and stride); `planes` is resized
// (grow-only) to ChannelQuadPlanesSize(g) and every element written (borders, missing channels and
// tails zero). With a table `lut` (256 codes), each pixel's code v is stored as lut[v] instead: a
// requantization of x folded into the packing (the borders, being the padding of the mapped input,
// stay 0). With AVX-512 VBMI the lookup is two byte permutes per 16 pixels × 4 channels.
int64_t ChannelQuadPlaneStride(const ConvWindow& g);
int64_t ChannelQuadPlanesSize(const ConvWindow& g);
void PackChannelQuadPlanes(const int32_t* x, const ConvWindow& g, std::vector<uint32_t>& planes,
                           const uint8_t* lut = nullptr);

class DirectConvU8 {
 public:
  // Whether g is a convolution this class computes: OH = ⌊(PH − k)/s⌋ + 1, OW likewise, both >= 1.
  static bool Applies(const ConvWindow& g);

  // w: weight codes [N, C·k·k] (OIHW), each in [−128, 127]. std::invalid_argument when !Applies(g),
  // N < 1, w.size() != N·C·k·k or a code is out of range.
  DirectConvU8(std::span<const int16_t> w, int64_t N, const ConvWindow& g);

  int64_t Outputs() const { return weights_.N(); }
  int64_t GridPitch() const;    // PW_s: grid row oy starts at column oy·PW_s
  int64_t GridColumns() const { return (g_.out_height - 1) * GridPitch() + g_.out_width; }

  // planes: PackChannelQuadPlanes' output for this window; grid: int32 [N, GridColumns()] with row
  // stride ldg >= GridColumns() (std::invalid_argument otherwise, or when planes is too small).
  // Allocation-free, reentrant.
  void Run(const std::vector<uint32_t>& planes, int32_t* grid, int64_t ldg) const;

 private:
  ConvWindow g_;
  PackedWeights8 weights_;         // [N, 4·Q·k²] in k-step order (above)
  std::vector<int64_t> offsets_;   // k-step g → its offset into the planes
};

}  // namespace cimsim
