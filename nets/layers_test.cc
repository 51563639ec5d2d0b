// Every layer's fast float32 path against its float64 reference, and the references against
// hand-worked cases. Tolerance for float32 vs float64: 1e-5 of the output's largest magnitude.
#include <gtest/gtest.h>

#include <memory>

#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/elementwise.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/reference_ops.h"
#include "nets/shortcut_a.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using testing::MaxRelativeError;
using testing::RandomTensor;

constexpr double kFloatTolerance = 1e-5;

// Runs `layer` fast with 1 and 2 threads (results must be bit-identical) and checks against the
// reference within kFloatTolerance.
void CheckLayer(Layer& layer, const std::vector<Tensor>& inputs) {
  std::vector<const Tensor*> in;
  std::vector<TensorD> in_d;
  for (const Tensor& t : inputs) in_d.push_back(t.Cast<double>());
  std::vector<const TensorD*> in_dp;
  for (size_t i = 0; i < inputs.size(); ++i) {
    in.push_back(&inputs[i]);
    in_dp.push_back(&in_d[i]);
  }
  ThreadPool one(1), two(2);
  Tensor y1, y2;
  Workspace ws1, ws2;
  ws1.Reserve(1);
  ws2.Reserve(2);
  layer.Forward(in, y1, one, ws1);
  layer.Forward(in, y2, two, ws2);
  ASSERT_EQ(y1.shape(), y2.shape());
  for (int64_t i = 0; i < y1.size(); ++i) ASSERT_EQ(y1[i], y2[i]) << "thread count changed element " << i;
  TensorD ref;
  layer.ForwardReference(in_dp, ref);
  ASSERT_EQ(y1.shape(), ref.shape());
  EXPECT_LT(MaxRelativeError(y1, ref), kFloatTolerance);
}

struct ConvCase {
  int batch, in_c, out_c, h, w, kernel, stride, padding;
  bool bias;
};

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, FastMatchesReference) {
  const ConvCase c = GetParam();
  Conv2dParams p{c.in_c, c.out_c, c.kernel, c.stride, c.padding, c.bias};
  Conv2d conv(p);
  conv.weight() = RandomTensor(conv.weight().shape(), 1);
  if (c.bias) conv.bias() = RandomTensor(conv.bias().shape(), 2);
  CheckLayer(conv, {RandomTensor({c.batch, c.in_c, c.h, c.w}, 3)});
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvTest,
    ::testing::Values(ConvCase{1, 3, 16, 32, 32, 3, 1, 1, false},  // ResNet stem
                      ConvCase{2, 16, 32, 32, 32, 3, 2, 1, false},  // downsampling conv
                      ConvCase{3, 5, 7, 9, 11, 3, 1, 1, true},      // odd sizes, bias
                      ConvCase{2, 5, 7, 9, 11, 3, 2, 1, true},      // odd sizes, stride 2
                      ConvCase{1, 4, 6, 8, 8, 3, 1, 0, false},      // no padding
                      ConvCase{2, 16, 32, 16, 16, 1, 2, 0, false},  // option-B shortcut 1x1/2
                      ConvCase{2, 8, 8, 7, 7, 1, 1, 0, true},       // 1x1 direct path
                      ConvCase{1, 2, 3, 7, 5, 5, 2, 2, false},      // 5x5, stride 2
                      ConvCase{4, 1, 1, 1, 1, 1, 1, 0, true},       // 1x1 image
                      ConvCase{2, 64, 64, 8, 8, 3, 1, 1, false},    // ResNet-20 stage 3
                      ConvCase{1, 3, 17, 40, 70, 3, 1, 1, true},    // many column blocks, 17 outputs
                      ConvCase{2, 3, 9, 11, 13, 4, 3, 2, false}));  // stride 3 (no specialised packing)

TEST(ConvReference, HandWorkedExample) {
  // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,0],[0,-1]], stride 1, no padding:
  // y = [[1-5, 2-6], [4-8, 5-9]] = [[-4,-4],[-4,-4]], plus bias 0.5.
  TensorD x({1, 1, 3, 3}), w({1, 1, 2, 2}), b({1});
  for (int i = 0; i < 9; ++i) x[i] = i + 1;
  w[0] = 1, w[3] = -1, b[0] = 0.5;
  const TensorD y = Conv2dReference(x, w, b, 1, 0);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y[i], -3.5);
  // Padding 1, stride 2, 3x3 of ones: corners sum a 2x2 patch: (1+2+4+5)=12, (2+3+5+6)=16, ...
  TensorD ones({1, 1, 3, 3});
  ones.Fill(1.0);
  const TensorD z = Conv2dReference(x, ones, TensorD(), 2, 1);
  ASSERT_EQ(z.shape(), (Shape{1, 1, 2, 2}));
  EXPECT_EQ(z[0], 12);
  EXPECT_EQ(z[1], 16);
  EXPECT_EQ(z[2], 24);
  EXPECT_EQ(z[3], 28);
}

TEST(BatchNorm, FastMatchesReference) {
  BatchNorm2d bn(6);
  bn.gamma() = RandomTensor({6}, 4);
  bn.beta() = RandomTensor({6}, 5);
  bn.running_mean() = RandomTensor({6}, 6);
  for (int c = 0; c < 6; ++c) bn.running_var()[c] = 0.1f + 0.3f * static_cast<float>(c);
  CheckLayer(bn, {RandomTensor({3, 6, 5, 7}, 7)});
}

TEST(BatchNormReference, HandWorkedExample) {
  TensorD x({1, 1, 1, 2}), g({1}), b({1}), m({1}), v({1});
  x[0] = 3, x[1] = -1, g[0] = 2, b[0] = 1, m[0] = 1, v[0] = 4;
  const TensorD y = BatchNormReference(x, g, b, m, v, 0.0);
  EXPECT_DOUBLE_EQ(y[0], 2.0 * (3 - 1) / 2 + 1);
  EXPECT_DOUBLE_EQ(y[1], 2.0 * (-1 - 1) / 2 + 1);
}

TEST(Relu, FastMatchesReference) {
  Relu relu;
  CheckLayer(relu, {RandomTensor({2, 3, 70, 70}, 8)});  // > one 4096-element block
}

TEST(Add, FastMatchesReference) {
  Add add;
  CheckLayer(add, {RandomTensor({2, 3, 5, 5}, 9), RandomTensor({2, 3, 5, 5}, 10)});
}

TEST(Add, ShapeMismatchThrows) {
  Add add;
  EXPECT_THROW(add.OutputShape({{1, 2, 3, 3}, {1, 2, 3, 4}}), std::invalid_argument);
}

TEST(Linear, FastMatchesReference) {
  Linear linear(64, 10);
  linear.weight() = RandomTensor({10, 64}, 11);
  linear.bias() = RandomTensor({10}, 12);
  CheckLayer(linear, {RandomTensor({5, 64}, 13)});
  CheckLayer(linear, {RandomTensor({1, 64}, 14)});
}

TEST(GlobalAvgPool, FastMatchesReference) {
  GlobalAvgPool pool;
  CheckLayer(pool, {RandomTensor({3, 4, 8, 8}, 15)});
  CheckLayer(pool, {RandomTensor({1, 3, 5, 7}, 16)});
}

TEST(MaxPool, FastMatchesReference) {
  MaxPool2d pool(2, 2);
  CheckLayer(pool, {RandomTensor({2, 3, 8, 8}, 17)});
  CheckLayer(pool, {RandomTensor({1, 2, 7, 9}, 18)});  // odd: last row/col dropped (floor)
}

// The ImageNet stem's pool (3×3, stride 2, padding 1) and other paddings: the padded positions are
// −∞, so on all-negative inputs a border window's maximum is one of the map's values, never 0.
TEST(MaxPool, PaddedFastMatchesReference) {
  MaxPool2d stem(3, 2, 1);
  CheckLayer(stem, {RandomTensor({2, 3, 8, 8}, 21)});
  CheckLayer(stem, {RandomTensor({1, 2, 7, 9}, 22)});
  MaxPool2d wide(5, 3, 2);
  CheckLayer(wide, {RandomTensor({1, 2, 11, 6}, 23)});
  EXPECT_EQ(stem.OutputShape({{1, 64, 112, 112}}), (Shape{1, 64, 56, 56}));  // ResNet-18 at 224
  EXPECT_EQ(stem.OutputShape({{1, 64, 32, 32}}), (Shape{1, 64, 16, 16}));    // ... at 64

  Tensor x({1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) x[i] = -1.0f - static_cast<float>(i);  // -1 .. -9
  Tensor y;
  ThreadPool pool(1);
  Workspace ws;
  stem.Forward({&x}, y, pool, ws);
  ASSERT_EQ(y.shape(), (Shape{1, 1, 2, 2}));
  // Windows: rows/cols {-1,0,1} and {1,2,3} clipped to the map: (0,0) covers x[0..1][0..1] → −1;
  // (0,1) x[0..1][1..2] → −2; (1,0) x[1..2][0..1] → −4; (1,1) x[1..2][1..2] → −5.
  EXPECT_EQ(y[0], -1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], -4.0f);
  EXPECT_EQ(y[3], -5.0f);
}

TEST(MaxPool, RefusesPaddingAboveHalfTheKernel) {
  EXPECT_THROW(MaxPool2d(3, 2, 2), std::invalid_argument);
  EXPECT_THROW(MaxPool2d(2, 2, -1), std::invalid_argument);
  EXPECT_NO_THROW(MaxPool2d(2, 2, 1));
}

struct ShortcutCase {
  int batch, channels, h, w, stride, pad;
};
class ShortcutATest : public ::testing::TestWithParam<ShortcutCase> {};

TEST_P(ShortcutATest, FastMatchesReference) {
  const ShortcutCase c = GetParam();
  ShortcutA shortcut(c.stride, c.pad);
  CheckLayer(shortcut, {RandomTensor({c.batch, c.channels, c.h, c.w}, 19)});
}

INSTANTIATE_TEST_SUITE_P(Shapes, ShortcutATest,
                         ::testing::Values(ShortcutCase{2, 16, 32, 32, 2, 8}, ShortcutCase{1, 32, 16, 16, 2, 16},
                                           ShortcutCase{3, 3, 7, 5, 2, 1}, ShortcutCase{1, 4, 4, 4, 1, 2}));

TEST(ShortcutAReference, HandWorkedExample) {
  // One channel 3x3, stride 2 keeps (0,0),(0,2),(2,0),(2,2); pad 1 adds a zero channel each side.
  TensorD x({1, 1, 3, 3});
  for (int i = 0; i < 9; ++i) x[i] = i + 1;
  const TensorD y = ShortcutAReference(x, 2, 1);
  ASSERT_EQ(y.shape(), (Shape{1, 3, 2, 2}));
  const double expected[12] = {0, 0, 0, 0, 1, 3, 7, 9, 0, 0, 0, 0};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(y[i], expected[i]) << i;
}

TEST(Conv2dParams, RejectsBadValues) {
  EXPECT_THROW(Conv2d(Conv2dParams{0, 1, 3, 1, 1, false}), std::invalid_argument);
  EXPECT_THROW(Conv2d(Conv2dParams{1, 1, 3, 0, 1, false}), std::invalid_argument);
  EXPECT_THROW(Conv2d(Conv2dParams{1, 1, 3, 1, 3, false}), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
