// image_resize.h — bilinear resizing of RGB images with antialiasing, as PIL's Image.resize(size,
// BILINEAR) (which torchvision's Resize and RandomResizedCrop call on PIL images).
//
// Maths (separable, horizontal pass first, then vertical on its rounded result). Per axis, from n_in
// samples to n_out: scale = n_in / n_out, fs = max(scale, 1) (downscaling widens the filter: the
// antialiasing), support = fs. Output sample o has centre c = (o + 0.5)·scale and reads input samples
// i in [max(⌊c − support + 0.5⌋, 0), min(⌊c + support + 0.5⌋, n_in)) with weights
//   w_i = tri((i − c + 0.5) / fs),  tri(t) = max(0, 1 − |t|),  normalised to sum 1.
// Each pass writes round-half-up(Σ w_i·x_i) clamped to 0..255.
//
// ResizeBilinearReference evaluates that in double. ResizeBilinear is the fast path, PIL's own
// arithmetic: weights in fixed point with 22 fraction bits (round half away from zero), integer sums
// with a rounding bias of 2^21, a shift by 22: byte for byte what PIL (9.4, Debian's python3-pil) gives
// (ImageData.DecodingAndResizingMatchPil). The two agree within 1 level per channel (tested; the
// fixed-point weights are off by < 2^-23 each).
#pragma once

#include "data/image_decode.h"

namespace cimsim {

// The box [top, top + height) × [left, left + width) of src resized to out_height × out_width (a crop
// and a resize in one, as torchvision's resized_crop: crop first, then resize the crop). The box must
// lie inside src and every size be >= 1 (std::invalid_argument otherwise).
struct PixelBox {
  int top = 0, left = 0, height = 0, width = 0;
};
RgbImage ResizeBilinear(const RgbImage& src, const PixelBox& box, int out_height, int out_width);
RgbImage ResizeBilinearReference(const RgbImage& src, const PixelBox& box, int out_height, int out_width);

}  // namespace cimsim
