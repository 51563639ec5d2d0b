// The float direct convolution's pieces: the phase planes against their definition, and the
// batch invariance the layer promises (an image's output does not depend on its batch).
// Its numerics against the float64 reference are in layers_test.cc (ConvTest).
#include "nets/direct_conv_f32.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <vector>

#include "nets/conv2d.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

TEST(FloatPlanes, HoldEveryPaddedPixelByPhaseAndZeroTails) {
  for (int s : {1, 2, 3}) {
    const ConvWindow g{3, 7, 10, 3, s, 1, (7 + 2 - 3) / s + 1, (10 + 2 - 3) / s + 1};
    ASSERT_TRUE(g.Consistent());
    const Tensor x = testing::RandomTensor({3, 7, 10}, 5);
    std::vector<float> planes(static_cast<size_t>(FloatPlanesSize(g)), -1.0f);  // -1: not written
    PackFloatPlanes(x.data(), g, planes.data());
    const int64_t stride = FloatPlaneStride(g), PHs = g.PhaseHeight(), PWs = g.PhaseWidth();
    ASSERT_GE(stride, PHs * PWs + kDirectConvColumns);
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t a = 0; a < s; ++a)
        for (int64_t b = 0; b < s; ++b) {
          const float* plane = planes.data() + ((c * s + a) * s + b) * stride;
          for (int64_t y2 = 0; y2 < PHs; ++y2)
            for (int64_t x2 = 0; x2 < PWs; ++x2) {
              const int64_t y = s * y2 + a - 1, xx = s * x2 + b - 1;  // the input pixel (padding 1)
              const float want = y >= 0 && y < 7 && xx >= 0 && xx < 10 ? x[(c * 7 + y) * 10 + xx] : 0.0f;
              ASSERT_EQ(plane[y2 * PWs + x2], want) << "s " << s << " c " << c << " phase " << a << b;
            }
          for (int64_t i = PHs * PWs; i < stride; ++i) ASSERT_EQ(plane[i], 0.0f) << "tail, s " << s;
        }
  }
}

// Each image of a batch of 5 (2 threads) gives bit for bit the output it gives alone (1 thread).
TEST(DirectConvF32, AnImagesOutputDoesNotDependOnItsBatch) {
  for (int stride : {1, 2}) {
    Conv2d conv(Conv2dParams{6, 10, 3, stride, 1, true});
    conv.weight() = testing::RandomTensor(conv.weight().shape(), 1);
    conv.bias() = testing::RandomTensor(conv.bias().shape(), 2);
    const Tensor batch = testing::RandomTensor({5, 6, 12, 9}, 3);
    ThreadPool one(1), two(2);
    Workspace ws1, ws2;
    Tensor y_batch, y_one;
    conv.Forward({&batch}, y_batch, two, ws2);
    const int64_t in_size = 6 * 12 * 9, out_size = y_batch.size() / 5;
    for (int64_t n = 0; n < 5; ++n) {
      Tensor image({1, 6, 12, 9});
      std::copy(batch.data() + n * in_size, batch.data() + (n + 1) * in_size, image.data());
      conv.Forward({&image}, y_one, one, ws1);
      for (int64_t i = 0; i < out_size; ++i)
        ASSERT_EQ(y_one[i], y_batch[n * out_size + i]) << "stride " << stride << " image " << n << " element " << i;
    }
  }
}

// The kernel's contract bit for bit (direct_conv_f32.h): y[o, oy, ox] is one chain from +0 over the
// depth steps (c, ky, kx) in order — each w·x fused into it, or rounded and then added in a scalar
// build (kDirectConvFusedChains) — and then + bias[o]. The padded positions are left out here: their
// step adds w·0 = ±0 to a sum that is never −0 (it starts at +0), which leaves it unchanged. The AVX2
// and AVX-512 paths are both held to this one chain, so their builds give the same bits.
TEST(DirectConvF32, EveryOutputIsItsChainBitForBit) {
  const testing::ConvCase shapes[] = {
      {3, 16, 32, 32, 3, 1, 1},   // the stem: 1,086 grid columns (tiles of 48, 32 and 16 columns)
      {16, 32, 32, 32, 3, 2, 1},  // layer2's first conv: phase planes
      {5, 13, 7, 9, 3, 1, 1},     // 13 outputs: the last tile repeats its last row
      {4, 9, 11, 10, 5, 3, 2},    // 5×5 at stride 3
      {6, 20, 8, 8, 1, 2, 0},     // 1×1 at stride 2 (option-B shortcut)
  };
  uint64_t seed = 40;
  for (const testing::ConvCase& c : shapes) {
    SCOPED_TRACE(testing::Describe(c));
    const ConvWindow g = testing::WindowOf(c);
    ASSERT_TRUE(g.Consistent());
    const int64_t K = g.Depth(), P = g.out_height * g.out_width;
    const Tensor x = testing::RandomTensor({c.channels, c.height, c.width}, seed);
    const Tensor w = testing::RandomTensor({c.outputs, K}, seed + 1);
    const Tensor bias = testing::RandomTensor({c.outputs}, seed + 2);
    seed += 10;
    std::vector<float> planes(static_cast<size_t>(FloatPlanesSize(g)));
    PackFloatPlanes(x.data(), g, planes.data());
    std::vector<float> y(static_cast<size_t>(c.outputs * P));
    DirectConvF32(planes.data(), w.data(), c.outputs, g, bias.data(), y.data());
    for (int64_t o = 0; o < c.outputs; ++o)
      for (int64_t oy = 0; oy < g.out_height; ++oy)
        for (int64_t ox = 0; ox < g.out_width; ++ox) {
          float acc = 0.0f;
          for (int64_t ci = 0; ci < c.channels; ++ci)
            for (int ky = 0; ky < c.kernel; ++ky)
              for (int kx = 0; kx < c.kernel; ++kx) {
                const int64_t iy = oy * c.stride + ky - c.padding, ix = ox * c.stride + kx - c.padding;
                if (iy < 0 || iy >= c.height || ix < 0 || ix >= c.width) continue;
                acc = testing::ChainStep(acc, w[o * K + (ci * c.kernel + ky) * c.kernel + kx],
                                         x[(ci * c.height + iy) * c.width + ix], kDirectConvFusedChains);
              }
          const float want = acc + bias[o];
          const float got = y[static_cast<size_t>(o * P + oy * g.out_width + ox)];
          ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
              << "output " << o << " at (" << oy << ", " << ox << "): " << got << " against " << want;
        }
  }
}

}  // namespace
}  // namespace cimsim
