#include "data/image_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include <jpeglib.h>
#include <png.h>

#include "common/error.h"
#include "common/input_file.h"

namespace cimsim {

namespace {

// libjpeg reports errors through error_exit, which must not return: it jumps back to the setjmp of
// the reading function below (whose frame holds only plain data, so nothing is skipped). Warnings
// (corrupt or missing data that libjpeg would paper over) are counted; the first one is kept.
struct JpegErrors {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings;
};

void JpegErrorExit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

void JpegEmitMessage(j_common_ptr cinfo, int level) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  if (level < 0 && errors->warnings++ == 0) (*cinfo->err->format_message)(cinfo, errors->message);
}

void JpegOutputMessage(j_common_ptr) {}

// Creates the decompressor and reads the header; false on a libjpeg error.
bool JpegStart(jpeg_decompress_struct* cinfo, JpegErrors* errors, const uint8_t* bytes, size_t size) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, bytes, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  return true;
}

// PIL's CMYK → RGB on CMYK values c, k (not inverted): nk − round(c·nk/255), nk = 255 − k.
inline uint8_t CmykChannel(int c, int k) {
  const int nk = 255 - k;
  return static_cast<uint8_t>(nk - (c * nk + 127) / 255);
}

// Decodes every scanline into out ([height, width, 3]); false on a libjpeg error.
bool JpegPixels(jpeg_decompress_struct* cinfo, JpegErrors* errors, uint8_t* out, uint8_t* row, bool cmyk,
                bool inverted) {
  if (setjmp(errors->jump)) return false;
  cinfo->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(cinfo);
  const size_t width = cinfo->output_width;
  while (cinfo->output_scanline < cinfo->output_height) {
    const size_t y = cinfo->output_scanline;
    JSAMPROW rows[1] = {cmyk ? row : out + y * width * 3};
    jpeg_read_scanlines(cinfo, rows, 1);
    if (!cmyk) continue;
    uint8_t* dst = out + y * width * 3;
    for (size_t x = 0; x < width; ++x) {
      int v[4];
      for (int i = 0; i < 4; ++i) v[i] = inverted ? 255 - row[4 * x + i] : row[4 * x + i];
      for (int i = 0; i < 3; ++i) dst[3 * x + i] = CmykChannel(v[i], v[3]);
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

bool SizeAllowed(int64_t width, int64_t height) {
  return width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide && width * height <= kMaxImagePixels;
}

[[noreturn]] void ThrowSize(int64_t width, int64_t height, const std::string& source) {
  throw InputError(source + ": the image is " + std::to_string(width) + " x " + std::to_string(height) +
                     " pixels; allowed sides 1.." + std::to_string(kMaxImageSide) + " and at most " +
                     std::to_string(kMaxImagePixels) + " pixels");
}

RgbImage DecodeJpeg(const uint8_t* bytes, size_t size, const std::string& source) {
  jpeg_decompress_struct cinfo;
  JpegErrors errors{};
  cinfo.err = jpeg_std_error(&errors.manager);
  errors.manager.error_exit = JpegErrorExit;
  errors.manager.emit_message = JpegEmitMessage;
  errors.manager.output_message = JpegOutputMessage;
  struct Destroy {
    jpeg_decompress_struct* cinfo;
    ~Destroy() { jpeg_destroy_decompress(cinfo); }
  };
  const bool started = JpegStart(&cinfo, &errors, bytes, size);
  const Destroy destroy{&cinfo};   // also after a failed start: jpeg_destroy is safe on a created struct
  if (!started) throw InputError(source + ": not a readable JPEG: " + errors.message);
  if (!SizeAllowed(cinfo.image_width, cinfo.image_height)) ThrowSize(cinfo.image_width, cinfo.image_height, source);
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  RgbImage image;
  image.height = static_cast<int>(cinfo.image_height);
  image.width = static_cast<int>(cinfo.image_width);
  image.pixels.resize(static_cast<size_t>(image.height) * image.width * 3);
  std::vector<uint8_t> row(cmyk ? static_cast<size_t>(image.width) * 4 : 0);
  if (!JpegPixels(&cinfo, &errors, image.pixels.data(), row.data(), cmyk, cmyk && cinfo.saw_Adobe_marker))
    throw InputError(source + ": not a readable JPEG: " + errors.message);
  if (errors.warnings > 0)
    throw InputError(source + ": corrupt or truncated JPEG (" + errors.message + ")");
  return image;
}

RgbImage DecodePng(const uint8_t* bytes, size_t size, const std::string& source) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&png, bytes, size))
    throw InputError(source + ": not a readable PNG: " + png.message);
  if (!SizeAllowed(png.width, png.height)) {
    png_image_free(&png);
    ThrowSize(png.width, png.height, source);
  }
  png.format = PNG_FORMAT_RGB;
  RgbImage image;
  image.height = static_cast<int>(png.height);
  image.width = static_cast<int>(png.width);
  image.pixels.assign(PNG_IMAGE_SIZE(png), 0);   // zero: alpha is composited onto black
  if (!png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr))
    throw InputError(source + ": corrupt or truncated PNG (" + std::string(png.message) + ")");
  return image;
}

}  // namespace

ImageFormat SniffImageFormat(const uint8_t* bytes, size_t size) {
  static constexpr uint8_t kPng[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) return ImageFormat::kJpeg;
  if (size >= 8 && std::memcmp(bytes, kPng, 8) == 0) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

RgbImage DecodeImage(const uint8_t* bytes, size_t size, const std::string& source) {
  if (size == 0) throw InputError(source + ": empty file; expected a JPEG or PNG image");
  switch (SniffImageFormat(bytes, size)) {
    case ImageFormat::kJpeg: return DecodeJpeg(bytes, size, source);
    case ImageFormat::kPng: return DecodePng(bytes, size, source);
    case ImageFormat::kUnknown: break;
  }
  throw InputError(source + ": not a JPEG or PNG image (its first bytes are neither FF D8 FF nor the PNG signature)");
}

RgbImage DecodeImageFile(const std::string& path) {
  RequireRegularFile(path, "image");
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw InputError(path + ": cannot read the image");
  return DecodeImage(bytes.data(), bytes.size(), path);
}

}  // namespace cimsim
