#include "data/image_pipeline.h"

#include <algorithm>
#include <cmath>

#include "common/error.h"

namespace cimsim {

namespace {

int RoundHalfEven(double v) { return static_cast<int>(std::nearbyint(v)); }

// HWC image → CHW bytes, mirrored left-right when flip.
void ToChw(const RgbImage& image, bool flip, uint8_t* chw) {
  const size_t plane = static_cast<size_t>(image.height) * image.width;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x) {
      const uint8_t* px = image.at(y, flip ? image.width - 1 - x : x);
      const size_t at = static_cast<size_t>(y) * image.width + x;
      for (int c = 0; c < 3; ++c) chw[c * plane + at] = px[c];
    }
}

}  // namespace

int DefaultResize(int crop) { return (crop * 256 + 112) / 224; }

ImagePipelineParams EvalViewParams(int crop, int resize) {
  ImagePipelineParams p;
  p.crop = crop;
  p.resize = resize > 0 ? resize : DefaultResize(crop);
  return p;
}

void ImagePipelineParams::Validate(const std::string& where) const {
  const auto fail = [&](const std::string& field, const std::string& value, const std::string& allowed) {
    throw InputError(where + ": " + field + ": " + value + " is out of range; allowed " + allowed);
  };
  if (crop < 8 || crop > 4096) fail("crop", std::to_string(crop), "8..4096");
  if (resize < crop || resize > 8192) fail("resize", std::to_string(resize), ">= crop (" + std::to_string(crop) + ") and <= 8192");
  if (!(scale_min > 0 && scale_min <= 1)) fail("scale_min", std::to_string(scale_min), "(0, 1]");
  if (!(scale_max >= scale_min && scale_max <= 1)) fail("scale_max", std::to_string(scale_max), "[scale_min, 1]");
  if (!(ratio_min > 0 && ratio_min <= 100)) fail("ratio_min", std::to_string(ratio_min), "(0, 100]");
  if (!(ratio_max >= ratio_min && ratio_max <= 100)) fail("ratio_max", std::to_string(ratio_max), "[ratio_min, 100]");
}

TrainCrop DrawTrainCrop(int height, int width, const ImagePipelineParams& p, Rng& rng) {
  TrainCrop out;
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(p.ratio_min), log_hi = std::log(p.ratio_max);
  bool found = false;
  for (int attempt = 0; attempt < 10 && !found; ++attempt) {
    const double target = area * (p.scale_min + (p.scale_max - p.scale_min) * rng.Uniform());
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * rng.Uniform());
    const int w = RoundHalfEven(std::sqrt(target * aspect));
    const int h = RoundHalfEven(std::sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      out.box.height = h;
      out.box.width = w;
      out.box.top = static_cast<int>(rng.Below(static_cast<uint64_t>(height - h + 1)));
      out.box.left = static_cast<int>(rng.Below(static_cast<uint64_t>(width - w + 1)));
      found = true;
    }
  }
  if (!found) {
    const double in_ratio = static_cast<double>(width) / height;
    int w = width, h = height;
    if (in_ratio < p.ratio_min) {
      h = std::max(1, RoundHalfEven(w / p.ratio_min));
    } else if (in_ratio > p.ratio_max) {
      w = std::max(1, RoundHalfEven(h * p.ratio_max));
    }
    h = std::min(h, height);
    w = std::min(w, width);
    out.box = {(height - h) / 2, (width - w) / 2, h, w};
  }
  out.flip = p.flip && rng.Below(2) == 1;
  return out;
}

void TrainView(const RgbImage& image, const TrainCrop& crop, const ImagePipelineParams& p, uint8_t* chw) {
  ToChw(ResizeBilinear(image, crop.box, p.crop, p.crop), crop.flip, chw);
}

void EvalView(const RgbImage& image, const ImagePipelineParams& p, const std::string& source, uint8_t* chw) {
  const bool wide = image.width >= image.height;
  const int short_side = wide ? image.height : image.width, long_side = wide ? image.width : image.height;
  const int64_t scaled_long = static_cast<int64_t>(p.resize) * long_side / short_side;
  if (scaled_long > kMaxImageSide)
    throw InputError(source + ": a " + std::to_string(image.height) + " x " + std::to_string(image.width) +
                     " image would be " + std::to_string(scaled_long) + " pixels long after the resize to " +
                     std::to_string(p.resize) + "; allowed at most " + std::to_string(kMaxImageSide) +
                     " (an aspect ratio this extreme is not a photograph)");
  const int new_long = static_cast<int>(scaled_long);
  const int out_h = wide ? p.resize : new_long, out_w = wide ? new_long : p.resize;
  const RgbImage resized = ResizeBilinear(image, {0, 0, image.height, image.width}, out_h, out_w);
  if (resized.height < p.crop || resized.width < p.crop)
    throw InputError(source + ": " + std::to_string(resized.height) + " x " + std::to_string(resized.width) +
                     " after the resize, smaller than the " + std::to_string(p.crop) + " crop");
  const int top = RoundHalfEven((resized.height - p.crop) / 2.0), left = RoundHalfEven((resized.width - p.crop) / 2.0);
  RgbImage view;
  view.height = view.width = p.crop;
  view.pixels.resize(static_cast<size_t>(p.crop) * p.crop * 3);
  for (int y = 0; y < p.crop; ++y)
    std::copy_n(resized.at(top + y, left), static_cast<size_t>(p.crop) * 3, view.pixels.data() + static_cast<size_t>(y) * p.crop * 3);
  ToChw(view, false, chw);
}

}  // namespace cimsim
