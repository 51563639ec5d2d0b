// DirectConvU8 and PackChannelQuadPlanes against element-by-element references: every plane code
// (borders, missing channels, phases and the tail zero; codes mapped through a table when given) and every valid output of the grid equal to
// the plain convolution sum in int64, for 1×1, 3×3 and 5×5 kernels, strides 1..3, padding 0..2,
// channel counts that are and are not multiples of 4, the ResNet shapes (32, 16, 8 wide; the
// stride-2 downsampling convs) and odd ones, output counts with and without a register-tile tail,
// and the extreme codes (255 inputs, −128/127 weights).
#include "nets/direct_conv_u8.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"

namespace cimsim {
namespace {

ConvWindow Window(int64_t C, int64_t H, int64_t W, int k, int p, int s = 1) {
  ConvWindow g;
  g.channels = C;
  g.height = H;
  g.width = W;
  g.kernel = k;
  g.stride = s;
  g.padding = p;
  g.out_height = (H + 2 * p - k) / s + 1;
  g.out_width = (W + 2 * p - k) / s + 1;
  return g;
}

TEST(PackChannelQuadPlanes, EveryCodeOfEveryPlane) {
  Rng rng(3);
  for (const ConvWindow& g : {Window(5, 4, 6, 3, 1), Window(16, 8, 8, 3, 1), Window(3, 5, 5, 1, 0), Window(2, 3, 7, 5, 2),
                              Window(6, 5, 37, 3, 1),
                              Window(5, 8, 8, 3, 1, 2), Window(3, 7, 9, 1, 0, 2), Window(6, 10, 11, 5, 2, 3)}) {
    std::vector<int32_t> x(static_cast<size_t>(g.channels * g.height * g.width));
    for (int32_t& v : x) v = static_cast<int32_t>(rng.Below(256));
    // Without a table, and with one (a random map of the 256 codes: a folded requantization).
    std::vector<uint8_t> table(256);
    for (uint8_t& v : table) v = static_cast<uint8_t>(rng.Below(256));
    for (const uint8_t* lut : {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(table.data())}) {
      SCOPED_TRACE(lut != nullptr ? "with a table" : "without a table");
      std::vector<uint32_t> planes(static_cast<size_t>(ChannelQuadPlanesSize(g) + 50), 0xdeadbeefu);  // stale contents
      PackChannelQuadPlanes(x.data(), g, planes, lut);
      const int64_t st = g.stride, PHs = (g.PaddedHeight() + st - 1) / st, PWs = (g.PaddedWidth() + st - 1) / st;
      const int64_t stride = ChannelQuadPlaneStride(g);
      ASSERT_GE(stride, PHs * PWs + 16);
      ASSERT_EQ(ChannelQuadPlanesSize(g), (g.channels + 3) / 4 * st * st * stride);
      for (int64_t q = 0; q < (g.channels + 3) / 4; ++q)
        for (int64_t a = 0; a < st; ++a)
          for (int64_t c = 0; c < st; ++c)
            for (int64_t i = 0; i < stride; ++i) {
              uint32_t want = 0;
              // Phase plane (a, c) element i is padded pixel (st·(i / PWs) + a, st·(i % PWs) + c).
              const int64_t y = st * (i / PWs) + a - g.padding, xx = st * (i % PWs) + c - g.padding;
              if (i < PHs * PWs && y >= 0 && y < g.height && xx >= 0 && xx < g.width)
                for (int b = 0; b < 4; ++b) {
                  const int64_t ch = 4 * q + b;
                  if (ch < g.channels) {
                    const int32_t code = x[static_cast<size_t>((ch * g.height + y) * g.width + xx)];
                    want |= static_cast<uint32_t>(lut != nullptr ? lut[code] : code) << (8 * b);
                  }
                }
              ASSERT_EQ(planes[static_cast<size_t>(((q * st + a) * st + c) * stride + i)], want)
                  << "quad " << q << ", phase (" << a << ", " << c << "), index " << i;
            }
    }
  }
}

// y[o, oy, ox] = Σ w[o, c, ky, kx] · x[c, s·oy + ky − p, s·ox + kx − p] (0 outside), in int64.
std::vector<int64_t> ReferenceConv(const std::vector<int16_t>& w, int64_t N, const std::vector<int32_t>& x,
                                   const ConvWindow& g) {
  const int64_t k = g.kernel;
  std::vector<int64_t> y(static_cast<size_t>(N * g.out_height * g.out_width), 0);
  for (int64_t o = 0; o < N; ++o)
    for (int64_t oy = 0; oy < g.out_height; ++oy)
      for (int64_t ox = 0; ox < g.out_width; ++ox) {
        int64_t sum = 0;
        for (int64_t c = 0; c < g.channels; ++c)
          for (int64_t ky = 0; ky < k; ++ky)
            for (int64_t kx = 0; kx < k; ++kx) {
              const int64_t yy = g.stride * oy + ky - g.padding, xx = g.stride * ox + kx - g.padding;
              if (yy < 0 || yy >= g.height || xx < 0 || xx >= g.width) continue;
              sum += int64_t{w[static_cast<size_t>(((o * g.channels + c) * k + ky) * k + kx)]} *
                     x[static_cast<size_t>((c * g.height + yy) * g.width + xx)];
            }
        y[static_cast<size_t>((o * g.out_height + oy) * g.out_width + ox)] = sum;
      }
  return y;
}

TEST(DirectConvU8, ValidGridOutputsEqualThePlainConvolution) {
  struct Case {
    ConvWindow g;
    int64_t N;
  };
  const std::vector<Case> cases = {
      {Window(16, 32, 32, 3, 1), 16},   {Window(32, 16, 16, 3, 1), 32},   {Window(64, 8, 8, 3, 1), 64},
      {Window(16, 32, 32, 3, 1, 2), 32}, {Window(32, 16, 16, 3, 1, 2), 64}, {Window(16, 32, 32, 1, 0, 2), 32},
      {Window(5, 7, 9, 3, 1), 11},      {Window(3, 6, 6, 1, 0), 9},       {Window(6, 9, 5, 5, 2), 3},
      {Window(4, 6, 6, 3, 0), 8},       {Window(1, 1, 1, 1, 0), 1},       {Window(7, 3, 3, 3, 2), 17},
      {Window(5, 9, 7, 3, 1, 2), 9},    {Window(6, 10, 11, 5, 2, 3), 5},  {Window(3, 7, 7, 3, 0, 2), 4}};
  Rng rng(9);
  for (const Case& t : cases) {
    const ConvWindow& g = t.g;
    SCOPED_TRACE(::testing::Message() << "C " << g.channels << " H " << g.height << " W " << g.width << " k " << g.kernel
                                      << " p " << g.padding << " s " << g.stride << " N " << t.N);
    ASSERT_TRUE(DirectConvU8::Applies(g));
    for (int extreme = 0; extreme < 2; ++extreme) {
      std::vector<int32_t> x(static_cast<size_t>(g.channels * g.height * g.width));
      for (int32_t& v : x) v = extreme ? 255 : static_cast<int32_t>(rng.Below(256));
      std::vector<int16_t> w(static_cast<size_t>(t.N * g.Depth()));
      for (int16_t& v : w)
        v = extreme ? static_cast<int16_t>(rng.Bernoulli(0.5) ? -128 : 127)
                    : static_cast<int16_t>(static_cast<int64_t>(rng.Below(256)) - 128);
      const DirectConvU8 conv(w, t.N, g);
      std::vector<uint32_t> planes;
      PackChannelQuadPlanes(x.data(), g, planes);
      const int64_t ldg = conv.GridColumns() + 5;
      std::vector<int32_t> grid(static_cast<size_t>(t.N * ldg), 0x5a5a5a5a);
      conv.Run(planes, grid.data(), ldg);
      const std::vector<int64_t> want = ReferenceConv(w, t.N, x, g);
      for (int64_t o = 0; o < t.N; ++o) {
        for (int64_t oy = 0; oy < g.out_height; ++oy)
          for (int64_t ox = 0; ox < g.out_width; ++ox)
            ASSERT_EQ(grid[static_cast<size_t>(o * ldg + oy * conv.GridPitch() + ox)],
                      want[static_cast<size_t>((o * g.out_height + oy) * g.out_width + ox)])
                << "output " << o << " at (" << oy << ", " << ox << ")";
        for (int64_t j = conv.GridColumns(); j < ldg; ++j) ASSERT_EQ(grid[static_cast<size_t>(o * ldg + j)], 0x5a5a5a5a);
      }
    }
  }
}

TEST(DirectConvU8, RefusesWhatItDoesNotCompute) {
  ConvWindow wrong = Window(4, 8, 8, 3, 1, 2);
  wrong.out_height = wrong.out_width = 5;  // a stride-2 3×3 conv of 8×8 padded by 1 gives 4×4
  EXPECT_FALSE(DirectConvU8::Applies(wrong));
  const std::vector<int16_t> w(static_cast<size_t>(2 * 4 * 9), 1);
  EXPECT_THROW(DirectConvU8(w, 2, wrong), std::invalid_argument);
  const ConvWindow g = Window(4, 8, 8, 3, 1);
  EXPECT_TRUE(DirectConvU8::Applies(g));
  EXPECT_THROW(DirectConvU8(w, 3, g), std::invalid_argument);  // 72 codes for 3 × 36
  std::vector<int16_t> wide = w;
  wide[5] = 200;
  EXPECT_THROW(DirectConvU8(wide, 2, g), std::invalid_argument);
  const DirectConvU8 conv(w, 2, g);
  std::vector<uint32_t> planes(10);
  std::vector<int32_t> grid(static_cast<size_t>(2 * conv.GridColumns()));
  EXPECT_THROW(conv.Run(planes, grid.data(), conv.GridColumns()), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
