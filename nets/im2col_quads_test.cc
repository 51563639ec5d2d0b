// Im2ColQuads against an element-by-element reference (each code read from the unpadded input with
// bounds checks, placed with QuadCodes::Set): every quad equal, padding included, for 1×1 and 3×3
// kernels, strides 1 and 2, padding 0 and 1, depths K that are and are not multiples of 4, and two
// images side by side.
#include "nets/im2col_quads.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

ConvWindow Window(int64_t C, int64_t H, int k, int s, int p) {
  ConvWindow g;
  g.channels = C;
  g.height = g.width = H;
  g.kernel = k;
  g.stride = s;
  g.padding = p;
  g.out_height = g.out_width = (H + 2 * p - k) / s + 1;
  return g;
}

// The code of row r, position j of image x (zero outside the image).
uint8_t ReferenceCode(const std::vector<int32_t>& x, const ConvWindow& g, int64_t r, int64_t j) {
  const int64_t k = g.kernel, c = r / (k * k), ky = (r / k) % k, kx = r % k;
  const int64_t oy = j / g.out_width, ox = j % g.out_width;
  const int64_t y = oy * g.stride + ky - g.padding, xx = ox * g.stride + kx - g.padding;
  if (y < 0 || y >= g.height || xx < 0 || xx >= g.width) return 0;
  return static_cast<uint8_t>(x[static_cast<size_t>((c * g.height + y) * g.width + xx)]);
}

TEST(Im2ColQuadsTest, EqualsTheElementByElementReference) {
  const std::vector<ConvWindow> shapes = {Window(3, 8, 3, 1, 1),  Window(16, 8, 3, 1, 1), Window(5, 9, 3, 2, 1),
                                          Window(16, 8, 1, 2, 0), Window(2, 7, 3, 1, 0),  Window(7, 6, 1, 1, 0),
                                          Window(4, 32, 3, 1, 1), Window(4, 16, 3, 1, 1), Window(8, 16, 3, 2, 1)};
  Rng rng(5);
  for (const ConvWindow& g : shapes) {
    SCOPED_TRACE("C " + std::to_string(g.channels) + " H " + std::to_string(g.height) + " k " + std::to_string(g.kernel) +
                 " s " + std::to_string(g.stride) + " p " + std::to_string(g.padding));
    const int64_t K = g.Depth(), P = g.Positions(), images = 2;
    std::vector<std::vector<int32_t>> x(images, std::vector<int32_t>(static_cast<size_t>(g.channels * g.height * g.width)));
    for (auto& img : x)
      for (int32_t& v : img) v = static_cast<int32_t>(rng.Below(256));
    QuadCodes want(K, images * P);
    for (int64_t b = 0; b < images; ++b)
      for (int64_t r = 0; r < K; ++r)
        for (int64_t j = 0; j < P; ++j) want.Set(r, b * P + j, ReferenceCode(x[static_cast<size_t>(b)], g, r, j));

    QuadCodes got;
    got.Resize(K, 3 * images * P);  // a bigger shape first: ReshapeForFill must not rely on fresh zeros
    for (int64_t kq = 0; kq < got.quads(); ++kq) std::fill_n(got.QuadRow(kq), got.n_stride(), 0xdeadbeefu);
    got.ReshapeForFill(K, images * P);
    std::vector<uint8_t> padded;
    for (int64_t b = 0; b < images; ++b) {
      PadCodesU8(x[static_cast<size_t>(b)].data(), g, padded);
      Im2ColQuads(padded.data(), g, got, b * P);
    }
    ASSERT_EQ(got.quads(), want.quads());
    ASSERT_EQ(got.n_stride(), want.n_stride());
    for (int64_t kq = 0; kq < want.quads(); ++kq)
      for (int64_t j = 0; j < want.n_stride(); ++j)
        ASSERT_EQ(got.QuadRow(kq)[j], want.QuadRow(kq)[j]) << "quad " << kq << " column " << j;
  }
}

}  // namespace
}  // namespace cimsim
