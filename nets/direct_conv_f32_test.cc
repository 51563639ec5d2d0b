// The float direct convolution's pieces: the phase planes against their definition, and the
// batch invariance the layer promises (an image's output does not depend on its batch).
// Its numerics against the float64 reference are in layers_test.cc (ConvTest).
#include "nets/direct_conv_f32.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace cimsim
