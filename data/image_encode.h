// image_encode.h — RgbImage to JPEG (libjpeg-turbo) or PNG (libpng) files: what the tests and the
// pipeline benchmark make their ImageNet-format folders of (cimsim reads images, it does not write them).
#pragma once

#include <string>

#include "data/image_decode.h"

namespace cimsim {

// quality 1..100 (libjpeg's scale); gray: the first channel only, as a one-channel JPEG.
// std::runtime_error when the file cannot be written.
void WriteJpegFile(const std::string& path, const RgbImage& image, int quality = 95, bool gray = false);

enum class PngLayout { kRgb, kGray, kRgba };
// kGray: the first channel; kRgba: every pixel with the given alpha.
void WritePngFile(const std::string& path, const RgbImage& image, PngLayout layout = PngLayout::kRgb, int alpha = 255);

}  // namespace cimsim
