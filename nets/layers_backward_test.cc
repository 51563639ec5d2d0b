// Backward passes of the parameter-free layers (ReLU, Add, GlobalAvgPool, MaxPool2d, ShortcutA) and of
// Linear: for each, the float64 reference backward against central finite differences of the float64
// training forward, the float32 fast backward against the reference (nets/grad_check.h), and the fast
// backward bit-identical on 1 and 2 threads (19 images: chunks of kGradChunkImages = 8, 8, 3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/rng.h"
#include "nets/elementwise.h"
#include "nets/grad_check.h"
#include "nets/linear.h"
#include "nets/pooling.h"
#include "nets/reference_ops.h"
#include "nets/shortcut_a.h"

namespace cimsim {
namespace {

using testing::CheckFastGradients;
using testing::CheckReferenceGradients;
using testing::RandomTensorD;

// Random normals moved away from ReLU's kink at 0 (finite differences step h = 1e-6 across it otherwise).
TensorD AwayFromZero(TensorD t) {
  for (int64_t i = 0; i < t.size(); ++i)
    if (std::abs(t[i]) < 1e-3) t[i] = t[i] < 0 ? -0.5 : 0.5;
  return t;
}

// A seeded shuffle of the grid {0.05·k}, centred on 0: all values distinct (gaps 0.05, exact in float as
// well), so no max-pool window has a tie or a near-tie that a finite-difference step could flip.
TensorD DistinctValues(const Shape& shape, uint64_t seed) {
  TensorD t(shape);
  for (int64_t i = 0; i < t.size(); ++i) t[i] = 0.05 * static_cast<double>(i - t.size() / 2);
  Rng rng(seed);
  for (int64_t i = t.size() - 1; i > 0; --i) std::swap(t[i], t[static_cast<int64_t>(rng.Below(static_cast<uint64_t>(i + 1)))]);
  return t;
}

void RandomizeLinear(Linear& linear, uint64_t seed) {
  Rng rng(seed);
  const double scale = 1.0 / std::sqrt(static_cast<double>(linear.in_features()));
  for (int64_t i = 0; i < linear.weight().size(); ++i) linear.weight()[i] = static_cast<float>(scale * rng.Normal());
  for (int64_t i = 0; i < linear.bias().size(); ++i) linear.bias()[i] = static_cast<float>(0.1 * rng.Normal());
}

// ForwardTrain + Backward of `layer` on a pool of `threads` threads with cotangent `g`; returns the
// input gradients followed by copies of the parameter gradients.
std::vector<Tensor> FastGradients(Layer& layer, const std::vector<Tensor>& inputs, const Tensor& g, int threads) {
  ThreadPool pool(threads);
  Workspace ws;
  std::vector<const Tensor*> in;
  for (const Tensor& t : inputs) in.push_back(&t);
  Tensor y;
  layer.ForwardTrain(in, y, pool, ws);
  std::vector<Tensor> grads(inputs.size());
  std::vector<Tensor*> grad_ptrs;
  for (Tensor& t : grads) grad_ptrs.push_back(&t);
  layer.Backward(in, y, g, grad_ptrs, pool, ws);
  layer.VisitParams([&](const std::string&, Tensor&, Tensor& grad) { grads.push_back(grad); });
  return grads;
}

// The fast backward gives bit-identical gradients on 1 and 2 threads. Running the same layer twice
// also checks that Backward overwrites its parameter gradients rather than accumulating.
void ExpectThreadCountInvariant(Layer& layer, const std::vector<TensorD>& inputs, uint64_t seed) {
  std::vector<Tensor> xf;
  std::vector<Shape> shapes;
  for (const TensorD& t : inputs) {
    xf.push_back(t.Cast<float>());
    shapes.push_back(t.shape());
  }
  const Tensor g = RandomTensorD(layer.OutputShape(shapes), seed).Cast<float>();
  const std::vector<Tensor> one = FastGradients(layer, xf, g, 1);
  const std::vector<Tensor> two = FastGradients(layer, xf, g, 2);
  ASSERT_EQ(one.size(), two.size());
  for (size_t k = 0; k < one.size(); ++k) {
    ASSERT_EQ(one[k].shape(), two[k].shape()) << layer.Kind() << " gradient " << k;
    ASSERT_GT(one[k].size(), 0) << layer.Kind() << " gradient " << k;
    EXPECT_EQ(std::memcmp(one[k].data(), two[k].data(), sizeof(float) * static_cast<size_t>(one[k].size())), 0)
        << layer.Kind() << " gradient " << k << " depends on the thread count";
  }
}

// Reference vs finite differences, fast vs reference, for a parameter-free layer.
void CheckParameterFree(Layer& layer, const std::vector<TensorD>& inputs, uint64_t seed) {
  CheckReferenceGradients(layer, inputs, {}, seed);
  ThreadPool pool(2);
  CheckFastGradients(layer, inputs, seed + 1, pool);
}

// ---- ReLU

TEST(ReluBackward, ReferenceAndFastMatch) {
  Relu relu;
  uint64_t seed = 100;
  for (const Shape& shape : {Shape{3, 4, 5, 5}, Shape{7, 13}, Shape{10, 2, 3, 1}}) {
    SCOPED_TRACE(ShapeString(shape));
    CheckParameterFree(relu, {AwayFromZero(RandomTensorD(shape, seed))}, seed + 1);
    seed += 10;
  }
}

TEST(ReluBackward, HandWorkedExample) {
  Relu relu;
  TensorD x({1, 4}), g({1, 4});
  const double xs[] = {-1.0, 2.0, 0.0, 3.5}, gs[] = {10.0, 20.0, 30.0, 40.0};
  for (int i = 0; i < 4; ++i) {
    x[i] = xs[i];
    g[i] = gs[i];
  }
  std::vector<TensorD> gx, gp;
  relu.BackwardReference({&x}, {}, g, gx, gp);
  ASSERT_EQ(gx.size(), 1u);
  EXPECT_TRUE(gp.empty());
  const double expected[] = {0.0, 20.0, 0.0, 40.0};  // 0 at the kink x = 0
  for (int i = 0; i < 4; ++i) EXPECT_EQ(gx[0][i], expected[i]) << i;
}

TEST(ReluBackward, ThreadCountInvariant) {
  Relu relu;  // 19·8·8·8 = 9728 elements: three blocks of the element-wise split
  ExpectThreadCountInvariant(relu, {AwayFromZero(RandomTensorD({19, 8, 8, 8}, 110))}, 111);
}

// ---- Add

TEST(AddBackward, ReferenceAndFastMatch) {
  Add add;
  for (const Shape& shape : {Shape{3, 4, 5, 5}, Shape{6, 11}}) {
    SCOPED_TRACE(ShapeString(shape));
    CheckParameterFree(add, {RandomTensorD(shape, 200), RandomTensorD(shape, 201)}, 202);
  }
}

TEST(AddBackward, ThreadCountInvariant) {
  Add add;
  ExpectThreadCountInvariant(add, {RandomTensorD({19, 8, 8, 8}, 210), RandomTensorD({19, 8, 8, 8}, 211)}, 212);
}

TEST(AddBackward, NullPointerSkipsThatGradient) {
  Add add;
  const Tensor a = RandomTensorD({2, 3}, 220).Cast<float>(), b = RandomTensorD({2, 3}, 221).Cast<float>();
  const Tensor g = RandomTensorD({2, 3}, 222).Cast<float>();
  ThreadPool pool(1);
  Workspace ws;
  Tensor y, gb;
  add.ForwardTrain({&a, &b}, y, pool, ws);
  add.Backward({&a, &b}, y, g, {nullptr, &gb}, pool, ws);
  ASSERT_EQ(gb.shape(), g.shape());
  for (int64_t i = 0; i < g.size(); ++i) EXPECT_EQ(gb[i], g[i]);
}

// ---- GlobalAvgPool

TEST(GlobalAvgPoolBackward, ReferenceAndFastMatch) {
  GlobalAvgPool gap;
  for (const Shape& shape : {Shape{3, 5, 4, 6}, Shape{10, 2, 8, 8}, Shape{4, 3, 1, 1}}) {
    SCOPED_TRACE(ShapeString(shape));
    CheckParameterFree(gap, {RandomTensorD(shape, 300)}, 301);
  }
}

TEST(GlobalAvgPoolBackward, ThreadCountInvariant) {
  GlobalAvgPool gap;
  ExpectThreadCountInvariant(gap, {RandomTensorD({19, 16, 8, 8}, 310)}, 311);
}

// ---- MaxPool2d

struct MaxPoolCase {
  int kernel, stride;
  Shape shape;
  int padding = 0;
};

TEST(MaxPoolBackward, ReferenceAndFastMatch) {
  const MaxPoolCase cases[] = {
      {2, 2, {3, 4, 8, 8}},  // disjoint windows
      {3, 2, {4, 3, 9, 9}},  // overlapping windows: gradients add up
      {3, 1, {3, 2, 7, 6}},  // stride 1
      {2, 2, {5, 2, 7, 7}},  // last row and column in no window
      {3, 2, {3, 2, 8, 8}, 1},   // the ImageNet stem's pool: border windows clipped to the map
      {3, 2, {2, 3, 7, 9}, 1},   // odd sides
      {5, 3, {2, 2, 11, 6}, 2},  // a wider padding
  };
  uint64_t seed = 400;
  for (const MaxPoolCase& c : cases) {
    SCOPED_TRACE("k=" + std::to_string(c.kernel) + " s=" + std::to_string(c.stride) + " p=" +
                 std::to_string(c.padding) + " " + ShapeString(c.shape));
    MaxPool2d pool(c.kernel, c.stride, c.padding);
    CheckParameterFree(pool, {DistinctValues(c.shape, seed)}, seed + 1);
    seed += 10;
  }
}

TEST(MaxPoolBackward, ThreadCountInvariant) {
  MaxPool2d pool(3, 2);
  ExpectThreadCountInvariant(pool, {DistinctValues({19, 4, 9, 9}, 410)}, 411);
  MaxPool2d padded(3, 2, 1);
  ExpectThreadCountInvariant(padded, {DistinctValues({19, 4, 8, 8}, 412)}, 413);
}

// Ties go to the first maximum in scan order (ky outer, kx inner), in the reference and the fast path;
// with overlapping windows an element that is the argmax of several windows collects their sum.
TEST(MaxPoolBackward, TiesAndOverlapsHandWorked) {
  // x (1×1×3×3), windows 2×2 with stride 1:
  //   1 5 5      window (0,0): max 5 at (0,1) and (1,0) -> (0,1);  window (0,1): 5 at (0,1), (0,2) -> (0,1)
  //   5 2 0      window (1,0): 5 at (1,0) -> (1,0);              window (1,1): 4 at (2,2)
  //   3 3 4
  const double xs[] = {1, 5, 5, 5, 2, 0, 3, 3, 4};
  const double gs[] = {1, 10, 100, 1000};
  const double expected[] = {0, 11, 0, 100, 0, 0, 0, 0, 1000};
  TensorD x({1, 1, 3, 3}), g({1, 1, 2, 2});
  for (int i = 0; i < 9; ++i) x[i] = xs[i];
  for (int i = 0; i < 4; ++i) g[i] = gs[i];
  MaxPool2d layer(2, 1);
  std::vector<TensorD> gx, gp;
  layer.BackwardReference({&x}, {}, g, gx, gp);
  ASSERT_EQ(gx.size(), 1u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(gx[0][i], expected[i]) << "reference, element " << i;

  const Tensor xf = x.Cast<float>(), gf = g.Cast<float>();
  ThreadPool pool(1);
  Workspace ws;
  Tensor y, gxf;
  layer.ForwardTrain({&xf}, y, pool, ws);
  layer.Backward({&xf}, y, gf, {&gxf}, pool, ws);
  ASSERT_EQ(gxf.shape(), x.shape());
  for (int i = 0; i < 9; ++i) EXPECT_EQ(gxf[i], expected[i]) << "fast, element " << i;
}

// ---- ShortcutA

struct ShortcutCase {
  int stride, pad;
  Shape shape;
};

TEST(ShortcutABackward, ReferenceAndFastMatch) {
  const ShortcutCase cases[] = {
      {2, 2, {3, 4, 8, 8}},  // the ResNet down-sampling shortcut
      {2, 1, {4, 2, 7, 7}},  // odd size: ⌈7/2⌉ = 4
      {1, 0, {3, 3, 5, 4}},  // identity
      {3, 1, {2, 2, 7, 5}},
  };
  uint64_t seed = 500;
  for (const ShortcutCase& c : cases) {
    SCOPED_TRACE("s=" + std::to_string(c.stride) + " pad=" + std::to_string(c.pad) + " " + ShapeString(c.shape));
    ShortcutA layer(c.stride, c.pad);
    CheckParameterFree(layer, {RandomTensorD(c.shape, seed)}, seed + 1);
    seed += 10;
  }
}

TEST(ShortcutABackward, ThreadCountInvariant) {
  ShortcutA layer(2, 4);
  ExpectThreadCountInvariant(layer, {RandomTensorD({19, 8, 8, 8}, 510)}, 511);
}

TEST(ShortcutABackward, HandWorkedExample) {
  // x 1×1×3×3, stride 2, pad 1: y is 1×3×2×2 with y[0,1] = x[::2, ::2]. Only the centre channel's
  // gradient flows back, to x's even positions.
  TensorD x({1, 1, 3, 3}), g({1, 3, 2, 2});
  for (int i = 0; i < 12; ++i) g[i] = i + 1;  // channel 1 holds 5, 6, 7, 8
  ShortcutA layer(2, 1);
  std::vector<TensorD> gx, gp;
  layer.BackwardReference({&x}, {}, g, gx, gp);
  ASSERT_EQ(gx.size(), 1u);
  const double expected[] = {5, 0, 6, 0, 0, 0, 7, 0, 8};
  for (int i = 0; i < 9; ++i) EXPECT_EQ(gx[0][i], expected[i]) << i;
}

// ---- Linear

struct LinearCase {
  int batch, in, out;
};

TEST(LinearBackward, ReferenceMatchesFiniteDifferences) {
  const LinearCase cases[] = {{3, 7, 5}, {10, 6, 4}, {9, 64, 10}};
  uint64_t seed = 600;
  for (const LinearCase& c : cases) {
    SCOPED_TRACE("N=" + std::to_string(c.batch) + " I=" + std::to_string(c.in) + " O=" + std::to_string(c.out));
    Linear linear(c.in, c.out);
    RandomizeLinear(linear, seed);
    CheckReferenceGradients(linear, {RandomTensorD({c.batch, c.in}, seed + 1)}, ParamsAsDouble(linear), seed + 2);
    seed += 10;
  }
}

TEST(LinearBackward, FastMatchesReference) {
  // Batches of one chunk (3, 8) and of several (9, 10, 17); tiny shapes take Eigen's coefficient-based
  // product, larger ones its GEMM.
  const LinearCase cases[] = {{3, 7, 5}, {8, 7, 5}, {9, 6, 4}, {10, 64, 10}, {17, 33, 12}, {1, 5, 3}};
  ThreadPool pool(2);
  uint64_t seed = 700;
  for (const LinearCase& c : cases) {
    SCOPED_TRACE("N=" + std::to_string(c.batch) + " I=" + std::to_string(c.in) + " O=" + std::to_string(c.out));
    Linear linear(c.in, c.out);
    RandomizeLinear(linear, seed);
    CheckFastGradients(linear, {RandomTensorD({c.batch, c.in}, seed + 1)}, seed + 2, pool);
    seed += 10;
  }
}

TEST(LinearBackward, ThreadCountInvariant) {
  for (const LinearCase& c : {LinearCase{19, 7, 5}, LinearCase{19, 64, 10}}) {
    SCOPED_TRACE("I=" + std::to_string(c.in) + " O=" + std::to_string(c.out));
    Linear linear(c.in, c.out);
    RandomizeLinear(linear, 800);
    ExpectThreadCountInvariant(linear, {RandomTensorD({c.batch, c.in}, 801)}, 802);
  }
}

TEST(LinearBackward, NullInputGradientStillGivesParameterGradients) {
  Linear linear(6, 4);
  RandomizeLinear(linear, 900);
  const Tensor x = RandomTensorD({11, 6}, 901).Cast<float>();
  const Tensor g = RandomTensorD({11, 4}, 902).Cast<float>();
  const std::vector<Tensor> with_input = FastGradients(linear, {x}, g, 2);  // gx, dW, db
  ThreadPool pool(2);
  Workspace ws;
  Tensor y;
  linear.ForwardTrain({&x}, y, pool, ws);
  linear.Backward({&x}, y, g, {nullptr}, pool, ws);
  ASSERT_EQ(with_input.size(), 3u);
  for (int64_t i = 0; i < linear.weight_grad().size(); ++i) EXPECT_EQ(linear.weight_grad()[i], with_input[1][i]);
  for (int64_t i = 0; i < linear.bias_grad().size(); ++i) EXPECT_EQ(linear.bias_grad()[i], with_input[2][i]);
}

TEST(LinearBackward, VisitParamsFollowsVisitTensors) {
  Linear linear(5, 3);
  std::vector<std::string> tensors, params;
  linear.VisitTensors([&](const std::string& suffix, Tensor&) { tensors.push_back(suffix); });
  linear.VisitParams([&](const std::string& suffix, Tensor& param, Tensor& grad) {
    params.push_back(suffix);
    EXPECT_EQ(param.shape(), grad.shape()) << suffix;
  });
  EXPECT_EQ(params, tensors);
}

TEST(LinearBackward, RejectsWrongGradientShape) {
  Linear linear(5, 3);
  const Tensor x = RandomTensorD({2, 5}, 1000).Cast<float>();
  const Tensor g({2, 4});
  ThreadPool pool(1);
  Workspace ws;
  Tensor y, gx;
  linear.ForwardTrain({&x}, y, pool, ws);
  EXPECT_THROW(linear.Backward({&x}, y, g, {&gx}, pool, ws), std::invalid_argument);
}

}  // namespace
}  // namespace cimsim
