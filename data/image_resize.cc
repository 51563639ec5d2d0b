#include "data/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace cimsim {

namespace {

constexpr int kPrecisionBits = 22;   // PIL's 32 − 8 − 2

// The weights of one axis: output sample o reads count[o] inputs from first[o] with
// weight[o·ksize + k], k < count[o] (normalised to sum 1).
struct AxisKernel {
  int ksize = 0;
  std::vector<int> first, count;
  std::vector<double> weight;
};

AxisKernel MakeKernel(int n_in, int n_out) {
  const double scale = static_cast<double>(n_in) / n_out;
  const double fs = std::max(scale, 1.0);
  const double support = fs;
  AxisKernel k;
  k.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  k.first.resize(n_out);
  k.count.resize(n_out);
  k.weight.assign(static_cast<size_t>(n_out) * k.ksize, 0.0);
  for (int o = 0; o < n_out; ++o) {
    const double centre = (o + 0.5) * scale;
    const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(centre + support + 0.5), n_in);
    double* w = &k.weight[static_cast<size_t>(o) * k.ksize];
    double sum = 0;
    for (int i = lo; i < hi; ++i) {
      const double t = std::abs((i - centre + 0.5) / fs);
      w[i - lo] = t < 1.0 ? 1.0 - t : 0.0;
      sum += w[i - lo];
    }
    if (sum != 0.0)
      for (int i = lo; i < hi; ++i) w[i - lo] /= sum;
    k.first[o] = lo;
    k.count[o] = hi - lo;
  }
  return k;
}

std::vector<int32_t> FixedPoint(const AxisKernel& k) {
  std::vector<int32_t> out(k.weight.size());
  for (size_t i = 0; i < out.size(); ++i) {
    const double v = k.weight[i] * (1 << kPrecisionBits);
    out[i] = static_cast<int32_t>(v < 0 ? v - 0.5 : v + 0.5);
  }
  return out;
}

uint8_t ClampFixed(int64_t acc) {
  const int64_t v = acc >> kPrecisionBits;
  return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

uint8_t ClampDouble(double v) { return static_cast<uint8_t>(std::clamp(std::floor(v + 0.5), 0.0, 255.0)); }

void CheckBox(const RgbImage& src, const PixelBox& b, int out_height, int out_width) {
  if (b.height < 1 || b.width < 1 || b.top < 0 || b.left < 0 || b.top + b.height > src.height ||
      b.left + b.width > src.width || out_height < 1 || out_width < 1)
    throw std::invalid_argument("ResizeBilinear: the box " + std::to_string(b.height) + " x " + std::to_string(b.width) +
                                " at (" + std::to_string(b.top) + ", " + std::to_string(b.left) + ") is not inside a " +
                                std::to_string(src.height) + " x " + std::to_string(src.width) +
                                " image, or an output side is below 1");
}

// The box as an image of its own (no resampling).
RgbImage Crop(const RgbImage& src, const PixelBox& b) {
  RgbImage out;
  out.height = b.height;
  out.width = b.width;
  out.pixels.resize(static_cast<size_t>(b.height) * b.width * 3);
  for (int y = 0; y < b.height; ++y)
    std::copy_n(src.at(b.top + y, b.left), static_cast<size_t>(b.width) * 3, out.pixels.data() + static_cast<size_t>(y) * b.width * 3);
  return out;
}

// One pass along x (horizontal) or y, with fixed-point (fast) or double (reference) weights.
template <bool kFixed>
RgbImage Pass(const RgbImage& in, int n_out, bool horizontal) {
  const AxisKernel k = MakeKernel(horizontal ? in.width : in.height, n_out);
  const std::vector<int32_t> fixed = kFixed ? FixedPoint(k) : std::vector<int32_t>();
  RgbImage out;
  out.height = horizontal ? in.height : n_out;
  out.width = horizontal ? n_out : in.width;
  out.pixels.resize(static_cast<size_t>(out.height) * out.width * 3);
  const size_t step = horizontal ? 3 : static_cast<size_t>(in.width) * 3;   // bytes between taps
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      const int o = horizontal ? x : y;
      const uint8_t* base = horizontal ? in.at(y, k.first[o]) : in.at(k.first[o], x);
      uint8_t* dst = out.pixels.data() + (static_cast<size_t>(y) * out.width + x) * 3;
      const size_t row = static_cast<size_t>(o) * k.ksize;
      for (int c = 0; c < 3; ++c) {
        if constexpr (kFixed) {
          int64_t acc = int64_t{1} << (kPrecisionBits - 1);
          for (int t = 0; t < k.count[o]; ++t) acc += int64_t{base[t * step + c]} * fixed[row + t];
          dst[c] = ClampFixed(acc);
        } else {
          double acc = 0;
          for (int t = 0; t < k.count[o]; ++t) acc += base[t * step + c] * k.weight[row + t];
          dst[c] = ClampDouble(acc);
        }
      }
    }
  }
  return out;
}

template <bool kFixed>
RgbImage Resize(const RgbImage& src, const PixelBox& box, int out_height, int out_width) {
  CheckBox(src, box, out_height, out_width);
  RgbImage image = Crop(src, box);
  if (out_width != image.width) image = Pass<kFixed>(image, out_width, true);
  if (out_height != image.height) image = Pass<kFixed>(image, out_height, false);
  return image;
}

}  // namespace

RgbImage ResizeBilinear(const RgbImage& src, const PixelBox& box, int out_height, int out_width) {
  return Resize<true>(src, box, out_height, out_width);
}

RgbImage ResizeBilinearReference(const RgbImage& src, const PixelBox& box, int out_height, int out_width) {
  return Resize<false>(src, box, out_height, out_width);
}

}  // namespace cimsim
