// im2col_quads.h — conv input lowering straight into the u8×s8 GEMM's k-quad layout (sim/quad_codes.h),
// fusing what im2col (a row-major int16 [K, positions] matrix) followed by FillQuadCodes does in two
// passes over a matrix 9× the size of the image (3×3 kernels).
//
// Shapes and indices (as nets/integer_network.h's im2col):
//   padded: one image's input codes, zero-padded, uint8 [C, PH, PW] with PH = H + 2p, PW = W + 2p;
//   row r = (c·k + ky)·k + kx of the lowered matrix (the OIHW flattening of the weights), K = C·k·k;
//   column j = oy·OW + ox (output position), code = padded[c, oy·s + ky, ox·s + kx].
// Im2ColQuads writes columns column0 .. column0 + OH·OW − 1 of every row quad of `out`: quad (kq, j)
// packs the codes of rows 4kq .. 4kq + 3 (byte b = row 4kq + b), rows ≥ K as 0. The caller has shaped
// `out` (QuadCodes::ReshapeForFill(K, n) with column0 + OH·OW <= n); several images fill side by side
// (column0 = b·OH·OW) for one layer-major GEMM. Exactly the quads FillQuadCodes builds from the int16
// im2col matrix; tested against an element-by-element reference. Allocation-free.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/quad_codes.h"

namespace cimsim {

struct ConvWindow {
  int64_t channels = 0, height = 0, width = 0;  // C, H, W of the unpadded input
  int kernel = 1, stride = 1, padding = 0;      // k, s, p
  int64_t out_height = 0, out_width = 0;        // OH, OW
  int64_t PaddedHeight() const { return height + 2 * padding; }
  int64_t PaddedWidth() const { return width + 2 * padding; }
  int64_t Depth() const { return channels * kernel * kernel; }
  int64_t Positions() const { return out_height * out_width; }
};

// x: int32 codes [C, H, W], each in [0, 255] (the caller's range check: the core's input range);
// padded is resized (grow-only) to [C, PH, PW] and filled, borders zero.
void PadCodesU8(const int32_t* x, const ConvWindow& g, std::vector<uint8_t>& padded);

void Im2ColQuads(const uint8_t* padded, const ConvWindow& g, QuadCodes& out, int64_t column0);

}  // namespace cimsim
