// direct_conv_weight_grad_f32.h — the weight gradient of a float32 convolution over the forward's
// zero-padded phase planes (nets/direct_conv_f32.h): no lowered (im2col) matrix.
//
// For one image with input planes (PackFloatPlanes of x_n [C, H, W]) and output gradient
// g_n [O, OH, OW], on the planes' output grid j = oy·PW_s + ox (direct_conv_f32.h), j < J =
// (OH − 1)·PW_s + OW:
//     dW[o, c, ky, kx] = Σ_{oy, ox} g_n[o, oy, ox] · x_n[c, s·oy + ky − p, s·ox + kx − p]
//                      = Σ_j grid[j, o] · planes[offset(c, ky, kx) + j]
// where grid [J, O_pad] (O_pad = O rounded up to 16) holds g_n[o, oy, ox] at row j = oy·PW_s + ox
// and zeros in the rows no output maps to (ox >= OW) and in the columns o >= O, so those add exact
// zeros (the planes there are finite: padding, tails or other pixels), and
// offset(c, ky, kx) = ((c·s + ky mod s)·s + kx mod s)·FloatPlaneStride + ⌊ky/s⌋·PW_s + ⌊kx/s⌋.
//
// Kernel: an outer-product GEMM of depth J with the result transposed, dWᵀ [K, O_pad] (K = C·k²):
// register tiles of V vectors of 16 output channels × S depth steps, each step broadcasting one
// plane value per grid row — the forward kernel's scheme with the roles of weights and image
// swapped, and no reduction across lanes. 3×3 kernels at stride 1 or 2 (every ResNet conv but the
// 1×1 shortcuts) take tiles of whole channels, 3 channels × 9 steps × 1 vector or 1 × 9 × 2, with one
// plane pointer per kernel row (and column phase) and the column as a constant displacement;
// other windows take V·S = 24 (V = 4, 2 or 1 as O_pad allows) with a pointer per step.
// Each entry is one chain of fused multiply-adds over j in order, added to dWᵀ once per image, so
// its value is fixed by the images alone, whatever the batch split or thread count. Steps past K
// (the last tile) repeat step K − 1 and are dropped. AVX2 builds (16 vector registers) split each
// tile into passes over j of 9 (3×3) or 6 steps × 8 outputs, the same chains in the same order, so
// their gradients are the AVX-512 ones bit for bit; scalar builds run the same order with plain loops,
// each product rounded before it is added (kDirectConvFusedChains in direct_conv_f32.h). Reference:
// Conv2dBackwardReference (float64); checked through Conv2d in nets/conv_bn_backward_test.cc and
// directly in nets/direct_conv_weight_grad_f32_test.cc, where EveryEntryIsItsChainBitForBit holds
// every build to its chain bit for bit.
#pragma once

#include <cstdint>

#include "nets/conv_window.h"

namespace cimsim {

// O rounded up to 16: the columns of grid and of dWᵀ.
int64_t WeightGradPaddedOutputs(int64_t outputs);
// Rows of the grid: J = (OH − 1)·PW_s + OW.
int64_t WeightGradGridRows(const ConvWindow& g);
// Writes every element of grid [WeightGradGridRows(g), WeightGradPaddedOutputs(outputs)] from
// g_n [outputs, OH·OW].
void PackWeightGradGrid(const float* grad, int64_t outputs, const ConvWindow& g, float* grid);
// dwt [C·k·k, WeightGradPaddedOutputs(outputs)] = (accumulate ? dwt : 0) + Σ_j planes[offset(step) + j]·grid[j, o].
// planes: PackFloatPlanes of the image for g; grid: PackWeightGradGrid. g must be Consistent().
// Allocation-free, reentrant.
void DirectConvWeightGradF32(const float* planes, const float* grid, int64_t outputs, const ConvWindow& g,
                             bool accumulate, float* dwt);

}  // namespace cimsim
