#include "data/image_encode.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <jpeglib.h>
#include <png.h>

namespace cimsim {

void WriteJpegFile(const std::string& path, const RgbImage& image, int quality, bool gray) {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);   // a libjpeg error while compressing our own pixels exits: a bug
  jpeg_create_compress(&cinfo);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buffer, &size);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  const int channels = gray ? 1 : 3;
  cinfo.input_components = channels;
  cinfo.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(image.width) * 3);
  while (cinfo.next_scanline < cinfo.image_height) {
    const int y = static_cast<int>(cinfo.next_scanline);
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < channels; ++c) row[static_cast<size_t>(x) * channels + c] = image.at(y, x)[c];
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&cinfo, &r, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(buffer), static_cast<std::streamsize>(size));
  std::free(buffer);
  if (!out) throw std::runtime_error(path + ": cannot write the JPEG");
}

void WritePngFile(const std::string& path, const RgbImage& image, PngLayout layout, int alpha) {
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = layout == PngLayout::kGray ? PNG_FORMAT_GRAY : layout == PngLayout::kRgba ? PNG_FORMAT_RGBA : PNG_FORMAT_RGB;
  const int channels = static_cast<int>(PNG_IMAGE_PIXEL_CHANNELS(png.format));
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  std::vector<uint8_t> data(pixels * channels);
  for (size_t i = 0; i < pixels; ++i)
    for (int c = 0; c < channels; ++c) data[i * channels + c] = c < 3 ? image.pixels[i * 3 + c] : static_cast<uint8_t>(alpha);
  if (!png_image_write_to_file(&png, path.c_str(), 0, data.data(), 0, nullptr))
    throw std::runtime_error(path + ": cannot write the PNG: " + png.message);
}

}  // namespace cimsim
