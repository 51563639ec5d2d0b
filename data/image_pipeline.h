// image_pipeline.h — the standard ImageNet preprocessing, as torchvision composes it on PIL images:
//   training:   RandomResizedCrop(crop, scale, ratio) → RandomHorizontalFlip(0.5)
//   evaluation: Resize(resize) → CenterCrop(crop)
// producing [3, crop, crop] uint8 CHW (normalisation, ToTensor + Normalize, is data/normalize.h's,
// with ImageNet's mean and std by default). Any sizes: 224/256 for ImageNet, 64/72 or 56/64 for
// Tiny-ImageNet-style sets.
//
// RandomResizedCrop (torchvision's get_params): on an H × W image, up to 10 attempts of
//   area = H·W·U(scale_min, scale_max),  aspect = exp(U(ln ratio_min, ln ratio_max)),
//   w = round(√(area·aspect)),  h = round(√(area / aspect))   (round half to even, as Python),
//   accepted when 0 < w <= W and 0 < h <= H: top = Below(H − h + 1), left = Below(W − w + 1);
// otherwise the centred box of the whole image clamped to the ratio range: W/H < ratio_min → w = W,
// h = round(W / ratio_min); W/H > ratio_max → h = H, w = round(H·ratio_max); else the whole image;
// top = (H − h) / 2, left = (W − w) / 2 (integer division). Then flip = Below(2) == 1. The box is
// resized to crop × crop (image_resize.h) and mirrored when flip.
// Draws, in this order, from the stream the caller gives (the loader: AugmentStream(seed, epoch,
// image), common/streams.h): per attempt Uniform() for the area, Uniform() for the aspect, and for an
// accepted box Below() for top then left; then Below(2) for the flip.
//
// Resize(resize) scales the shorter side to `resize` and the longer to ⌊resize·long / short⌋
// (torchvision's int()); CenterCrop(crop) takes top = round((H' − crop) / 2), left likewise (half to
// even); an image smaller than crop after the resize is refused (torchvision would pad it with zeros),
// and so is one whose longer side would exceed kMaxImageSide (image_decode.h) after the resize.
#pragma once

#include <cstdint>
#include <string>

#include "common/rng.h"
#include "data/image_decode.h"
#include "data/image_resize.h"

namespace cimsim {

struct ImagePipelineParams {
  int crop = 224;                                  // output side, 8..4096
  int resize = 256;                                // evaluation: the shorter side before the crop, >= crop
  double scale_min = 0.08, scale_max = 1.0;        // area fraction of RandomResizedCrop, 0 < min <= max <= 1
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;   // aspect w/h, 0 < min <= max
  bool flip = true;                                // training: mirror with probability 1/2

  // Throws InputError naming `where` + the field and the value.
  void Validate(const std::string& where) const;
};

struct TrainCrop {
  PixelBox box;
  bool flip = false;
};

// The evaluation Resize that goes with a crop when none is given: crop·256/224 rounded to the nearest
// integer (ImageNet's 256 → 224, applied at any size: 64 → 73).
int DefaultResize(int crop);
// Evaluation-view parameters for a crop side and a Resize (0 = DefaultResize(crop)); the rest default.
ImagePipelineParams EvalViewParams(int crop, int resize);

// torchvision's RandomResizedCrop.get_params (+ the flip draw) on a height × width image.
TrainCrop DrawTrainCrop(int height, int width, const ImagePipelineParams& p, Rng& rng);

// The training view of `image` with `crop` drawn above: chw = [3, p.crop, p.crop].
void TrainView(const RgbImage& image, const TrainCrop& crop, const ImagePipelineParams& p, uint8_t* chw);
// The evaluation view: Resize(p.resize) then CenterCrop(p.crop); chw = [3, p.crop, p.crop]. Throws
// InputError naming `source` when the resized image is smaller than the crop.
void EvalView(const RgbImage& image, const ImagePipelineParams& p, const std::string& source, uint8_t* chw);

}  // namespace cimsim
