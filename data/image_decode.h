// image_decode.h — JPEG and PNG files decoded to 8-bit RGB, for ImageNet-format datasets.
//
// The format comes from the file's first bytes, not its name: JPEG starts FF D8 FF, PNG with its
// 8-byte signature 89 'P' 'N' 'G' 0D 0A 1A 0A. Decoders are Debian's libjpeg-turbo and libpng.
// Output: RgbImage, [height, width, 3] uint8, row-major HWC, channels R, G, B, as PIL's
// Image.convert("RGB") gives:
//   JPEG: YCbCr and grayscale through libjpeg's own conversion to RGB (libjpeg's default IDCT and
//         upsampling, as PIL uses them: byte for byte PIL's pixels, ImageData.DecodingAndResizingMatchPil); CMYK and YCCK as PIL converts them: R = nk − round(C·nk/255),
//         nk = 255 − K (likewise G from M, B from Y), on values un-inverted first when the file has
//         Adobe's marker (Adobe stores CMYK inverted).
//   PNG:  every colour type and bit depth (palette, grayscale, 16-bit, alpha) through libpng's
//         simplified API to 8-bit sRGB; an alpha channel is composited onto black (PIL drops it), and
//         16-bit or gamma-tagged files follow libpng's conversion (PIL takes the high byte).
// Refused with an InputError naming the file: an empty file, a file that is neither JPEG nor PNG, a
// corrupt or truncated image (libjpeg's warnings, e.g. "premature end of data segment", count as
// errors: a truncated JPEG would otherwise decode with its missing part grey), and images of more
// than kMaxImagePixels pixels or a side above kMaxImageSide (a decompression bomb). Damage inside a
// JPEG's compressed data that leaves the stream well-formed cannot be told from an image: it decodes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cimsim {

inline constexpr int64_t kMaxImagePixels = int64_t{1} << 28;   // 268 Mpixel
inline constexpr int kMaxImageSide = 1 << 16;

struct RgbImage {
  int height = 0, width = 0;
  std::vector<uint8_t> pixels;   // height * width * 3, HWC

  const uint8_t* at(int y, int x) const { return pixels.data() + (static_cast<size_t>(y) * width + x) * 3; }
};

enum class ImageFormat { kUnknown, kJpeg, kPng };
ImageFormat SniffImageFormat(const uint8_t* bytes, size_t size);

// The image held in `bytes` (the content of file `source`, which messages name).
RgbImage DecodeImage(const uint8_t* bytes, size_t size, const std::string& source);
// The image in file `path` (a regular file).
RgbImage DecodeImageFile(const std::string& path);

}  // namespace cimsim
