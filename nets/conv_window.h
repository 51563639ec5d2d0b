// conv_window.h — the geometry of one image's convolution, shared by the direct (implicit-GEMM)
// kernels: input C × H × W, zero padding p, square kernel k, stride s, output OH × OW with
// OH = ⌊(H + 2p − k)/s⌋ + 1 (likewise OW).
#pragma once

#include <cstdint>

namespace cimsim {

struct ConvWindow {
  int64_t channels = 0, height = 0, width = 0;  // C, H, W of the unpadded input
  int kernel = 1, stride = 1, padding = 0;      // k, s, p
  int64_t out_height = 0, out_width = 0;        // OH, OW
  int64_t PaddedHeight() const { return height + 2 * padding; }
  int64_t PaddedWidth() const { return width + 2 * padding; }
  int64_t Depth() const { return channels * kernel * kernel; }
  // Phase planes (stride s): padded pixel (s·y + a, s·x + c) sits in plane (a, c) at (y, x); the
  // planes are PH_s × PW_s with PH_s = ⌈PH/s⌉, PW_s = ⌈PW/s⌉ (at s = 1: the padded image).
  int64_t PhaseHeight() const { return (PaddedHeight() + stride - 1) / stride; }
  int64_t PhaseWidth() const { return (PaddedWidth() + stride - 1) / stride; }
  // Whether OH and OW are those of this kernel, stride and padding, and the window is non-empty.
  bool Consistent() const {
    return channels >= 1 && kernel >= 1 && stride >= 1 && padding >= 0 && PaddedHeight() >= kernel &&
           PaddedWidth() >= kernel && out_height == (PaddedHeight() - kernel) / stride + 1 &&
           out_width == (PaddedWidth() - kernel) / stride + 1;
  }
};

}  // namespace cimsim
