// Training passes of Conv2d and BatchNorm2d: reference backward vs finite differences, fast backward
// vs reference, bit-identical results for any thread count, BatchNorm's batch and running statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nets/batch_norm.h"
#include "nets/conv2d.h"
#include "nets/grad_check.h"
#include "nets/reference_ops.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using testing::CheckFastGradients;
using testing::CheckReferenceGradients;
using testing::RandomTensor;
using testing::RandomTensorD;

struct ConvCase {
  int in_channels, out_channels, kernel, stride, padding;
  bool bias;
  int64_t height, width;
};

std::vector<ConvCase> ConvCases() {
  return {
      {3, 4, 3, 1, 1, false, 5, 6},  // the ResNet 3×3 conv
      {3, 4, 3, 1, 1, true, 5, 5},   // with a bias
      {2, 5, 3, 2, 1, false, 7, 6},  // strided (odd and even sizes)
      {2, 3, 3, 2, 1, true, 6, 6},
      {4, 3, 1, 2, 0, false, 5, 6},  // 1×1 projection, stride 2
      {4, 3, 1, 1, 0, true, 4, 5},   // 1×1 stride 1 pad 0: the direct case (no im2col)
      {2, 3, 3, 1, 0, false, 5, 5},  // no padding
      {1, 2, 5, 3, 2, true, 9, 8},   // larger kernel, stride 3
  };
}

Conv2d MakeConv(const ConvCase& cc, uint64_t seed) {
  Conv2d conv({cc.in_channels, cc.out_channels, cc.kernel, cc.stride, cc.padding, cc.bias});
  conv.weight() = RandomTensor(conv.weight().shape(), seed, 0.5);
  if (cc.bias) conv.bias() = RandomTensor(conv.bias().shape(), seed + 1, 0.5);
  return conv;
}

std::string Describe(const ConvCase& cc) {
  return "conv " + std::to_string(cc.in_channels) + "->" + std::to_string(cc.out_channels) + " k" +
         std::to_string(cc.kernel) + " s" + std::to_string(cc.stride) + " p" + std::to_string(cc.padding) +
         (cc.bias ? " bias" : "") + " " + std::to_string(cc.height) + "x" + std::to_string(cc.width);
}

bool BitEqual(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<size_t>(a.size())) == 0);
}

TEST(Col2Im, IsTheAdjointOfIm2Col) {
  // <Im2Col(x), c> = <x, Col2Im(c)> for every kernel geometry, with a row stride wider than OH·OW.
  for (const ConvCase& cc : ConvCases()) {
    SCOPED_TRACE(Describe(cc));
    const int64_t C = cc.in_channels, H = cc.height, W = cc.width;
    const int64_t OH = (H + 2 * cc.padding - cc.kernel) / cc.stride + 1;
    const int64_t OW = (W + 2 * cc.padding - cc.kernel) / cc.stride + 1;
    const int64_t K = C * cc.kernel * cc.kernel, ld = OH * OW + 3;
    const Tensor x = RandomTensor({C, H, W}, 11);
    const Tensor c = RandomTensor({K, ld}, 12);
    std::vector<float> cols(static_cast<size_t>(K * ld), 0.0f);
    Im2Col(x.data(), C, H, W, cc.kernel, cc.stride, cc.padding, cols.data(), ld);
    std::vector<float> image(static_cast<size_t>(C * H * W), 7.0f);  // overwritten
    Col2Im(c.data(), ld, C, H, W, cc.kernel, cc.stride, cc.padding, image.data());
    double lhs = 0, rhs = 0;
    for (int64_t r = 0; r < K; ++r)
      for (int64_t p = 0; p < OH * OW; ++p) lhs += static_cast<double>(cols[r * ld + p]) * c[r * ld + p];
    for (int64_t i = 0; i < C * H * W; ++i) rhs += static_cast<double>(x[i]) * image[i];
    EXPECT_NEAR(lhs, rhs, 1e-4 * (1 + std::abs(lhs)));
    // The strided Im2Col agrees with the packed one.
    std::vector<float> packed(static_cast<size_t>(K * OH * OW));
    Im2Col(x.data(), C, H, W, cc.kernel, cc.stride, cc.padding, packed.data());
    for (int64_t r = 0; r < K; ++r)
      for (int64_t p = 0; p < OH * OW; ++p) ASSERT_EQ(packed[r * OH * OW + p], cols[r * ld + p]);
  }
}

TEST(Conv2dBackward, ReferenceMatchesFiniteDifferences) {
  uint64_t seed = 100;
  for (const ConvCase& cc : ConvCases()) {
    SCOPED_TRACE(Describe(cc));
    Conv2d conv = MakeConv(cc, seed);
    const TensorD x = RandomTensorD({2, cc.in_channels, cc.height, cc.width}, seed + 2);
    CheckReferenceGradients(conv, {x}, ParamsAsDouble(conv), seed + 3);
    seed += 10;
  }
}

TEST(Conv2dBackward, FastMatchesReference) {
  ThreadPool pool(2);
  uint64_t seed = 200;
  for (const ConvCase& cc : ConvCases()) {
    for (int64_t batch : {1, 8, 19}) {
      SCOPED_TRACE(Describe(cc) + " batch " + std::to_string(batch));
      Conv2d conv = MakeConv(cc, seed);
      const TensorD x = RandomTensorD({batch, cc.in_channels, cc.height, cc.width}, seed + 2);
      CheckFastGradients(conv, {x}, seed + 3, pool);
      seed += 10;
    }
  }
}

TEST(Conv2dBackward, FastMatchesReferenceOnResNetShapes) {
  // 16 channels at 8×8 (kernel 3) and the strided 16 -> 32 transition, batch 10 (chunks of 8 and 2).
  ThreadPool pool(2);
  for (const ConvCase& cc : {ConvCase{16, 16, 3, 1, 1, false, 8, 8}, ConvCase{16, 32, 3, 2, 1, false, 8, 8}}) {
    SCOPED_TRACE(Describe(cc));
    Conv2d conv = MakeConv(cc, 300);
    CheckFastGradients(conv, {RandomTensorD({10, cc.in_channels, cc.height, cc.width}, 301)}, 302, pool);
  }
}

TEST(Conv2dBackward, NullInputGradientSkipsDataGradient) {
  ThreadPool pool(2);
  for (const ConvCase& cc : ConvCases()) {
    SCOPED_TRACE(Describe(cc));
    Conv2d conv = MakeConv(cc, 400);
    const Tensor x = RandomTensor({11, cc.in_channels, cc.height, cc.width}, 401);
    Workspace ws;
    Tensor y, gx;
    conv.Forward({&x}, y, pool, ws);
    const Tensor g = RandomTensor(y.shape(), 402);
    conv.Backward({&x}, y, g, {&gx}, pool, ws);
    const Tensor w_grad = conv.weight_grad(), b_grad = conv.bias_grad();
    conv.Backward({&x}, y, g, {nullptr}, pool, ws);
    EXPECT_TRUE(BitEqual(conv.weight_grad(), w_grad));
    EXPECT_TRUE(BitEqual(conv.bias_grad(), b_grad));
    conv.Backward({&x}, y, g, {}, pool, ws);
    EXPECT_TRUE(BitEqual(conv.weight_grad(), w_grad));
  }
}

TEST(Conv2dBackward, BitIdenticalForAnyThreadCount) {
  // Batch 19: chunks of 8, 8 and 3, split unevenly over 2 and 3 workers.
  for (const ConvCase& cc : ConvCases()) {
    SCOPED_TRACE(Describe(cc));
    Conv2d conv = MakeConv(cc, 500);
    const Tensor x = RandomTensor({19, cc.in_channels, cc.height, cc.width}, 501);
    std::vector<Tensor> gx(3), w_grad(3), b_grad(3);
    for (int threads = 1; threads <= 3; ++threads) {
      ThreadPool pool(threads);
      Workspace ws;
      Tensor y;
      conv.ForwardTrain({&x}, y, pool, ws);
      const Tensor g = RandomTensor(y.shape(), 502);
      const size_t t = static_cast<size_t>(threads - 1);
      conv.Backward({&x}, y, g, {&gx[t]}, pool, ws);
      w_grad[t] = conv.weight_grad();
      b_grad[t] = conv.bias_grad();
    }
    for (size_t t = 1; t < 3; ++t) {
      EXPECT_TRUE(BitEqual(gx[t], gx[0])) << t + 1 << " threads";
      EXPECT_TRUE(BitEqual(w_grad[t], w_grad[0])) << t + 1 << " threads";
      EXPECT_TRUE(BitEqual(b_grad[t], b_grad[0])) << t + 1 << " threads";
    }
  }
}

TEST(Conv2dBackward, VisitParamsInVisitTensorsOrder) {
  for (bool bias : {false, true}) {
    Conv2d conv({3, 4, 3, 1, 1, bias});
    std::vector<std::string> tensors, params;
    conv.VisitTensors([&](const std::string& s, Tensor&) { tensors.push_back(s); });
    conv.VisitParams([&](const std::string& s, Tensor& p, Tensor& g) {
      params.push_back(s);
      EXPECT_EQ(p.shape(), g.shape()) << s;
    });
    EXPECT_EQ(params, tensors);
  }
}

// ---- BatchNorm2d

BatchNorm2d MakeBatchNorm(int channels, uint64_t seed) {
  BatchNorm2d bn(channels);
  Rng rng(seed);
  for (int c = 0; c < channels; ++c) {
    bn.gamma()[c] = static_cast<float>(1.0 + 0.5 * rng.Normal());
    bn.beta()[c] = static_cast<float>(0.5 * rng.Normal());
  }
  return bn;
}

// Inputs with a per-channel offset and scale, so that the batch statistics are far from (0, 1).
TensorD ShiftedInput(const Shape& shape, uint64_t seed) {
  TensorD x = RandomTensorD(shape, seed);
  for (int64_t n = 0; n < shape[0]; ++n)
    for (int64_t c = 0; c < shape[1]; ++c)
      for (int64_t h = 0; h < shape[2]; ++h)
        for (int64_t w = 0; w < shape[3]; ++w) x.at(n, c, h, w) = 0.5 * (c + 1) * x.at(n, c, h, w) + c - 1.0;
  return x;
}

std::vector<Shape> BatchNormShapes() { return {{2, 3, 3, 2}, {4, 2, 1, 1}, {3, 1, 4, 4}, {2, 4, 5, 3}}; }

// A BatchNorm of `channels` with seeded γ, β (and, frozen, seeded running statistics).
using BatchNormMaker = BatchNorm2d (*)(int channels, uint64_t seed);

void CheckBatchNormReferenceGradients(BatchNormMaker make, uint64_t seed) {
  for (const Shape& shape : BatchNormShapes()) {
    SCOPED_TRACE(ShapeString(shape));
    BatchNorm2d bn = make(static_cast<int>(shape[1]), seed);
    CheckReferenceGradients(bn, {ShiftedInput(shape, seed + 1)}, ParamsAsDouble(bn), seed + 2);
    seed += 10;
  }
}

void CheckBatchNormFastGradients(BatchNormMaker make, uint64_t seed) {
  ThreadPool pool(2);
  for (Shape shape : BatchNormShapes()) {
    for (int64_t batch : {shape[0], int64_t{19}}) {
      shape[0] = batch;
      SCOPED_TRACE(ShapeString(shape));
      BatchNorm2d bn = make(static_cast<int>(shape[1]), seed);
      CheckFastGradients(bn, {ShiftedInput(shape, seed + 1)}, seed + 2, pool);
      seed += 10;
    }
  }
}

TEST(BatchNorm2dBackward, ReferenceMatchesFiniteDifferences) { CheckBatchNormReferenceGradients(MakeBatchNorm, 600); }

TEST(BatchNorm2dBackward, FastMatchesReference) { CheckBatchNormFastGradients(MakeBatchNorm, 700); }

TEST(BatchNorm2dBackward, ForwardTrainMatchesReference) {
  ThreadPool pool(2);
  for (const Shape& shape : {Shape{19, 3, 5, 4}, Shape{2, 4, 8, 8}, Shape{7, 2, 1, 1}}) {
    SCOPED_TRACE(ShapeString(shape));
    BatchNorm2d bn = MakeBatchNorm(static_cast<int>(shape[1]), 800);
    const Tensor x = ShiftedInput(shape, 801).Cast<float>();
    const TensorD xd = x.Cast<double>();
    Workspace ws;
    Tensor y;
    bn.ForwardTrain({&x}, y, pool, ws);
    const std::vector<TensorD> params = ParamsAsDouble(bn);
    TensorD ref;
    bn.ForwardTrainReference({&xd}, Pointers(params), ref);
    EXPECT_LE(testing::MaxRelativeError(y, ref), 1e-5);
    // Batch statistics: each channel of x̂ = (y − β)/γ has mean 0 and variance 1/(1 + ε/σ²) ≈ 1.
    for (int64_t c = 0; c < shape[1]; ++c) {
      double mean = 0, sq = 0;
      const double m = static_cast<double>(shape[0] * shape[2] * shape[3]);
      for (int64_t n = 0; n < shape[0]; ++n)
        for (int64_t h = 0; h < shape[2]; ++h)
          for (int64_t w = 0; w < shape[3]; ++w) {
            const double xhat = (ref.at(n, c, h, w) - params[1][c]) / params[0][c];
            mean += xhat / m;
            sq += xhat * xhat / m;
          }
      EXPECT_NEAR(mean, 0.0, 1e-9);
      EXPECT_NEAR(sq, 1.0, 1e-3);
    }
  }
}

// Frozen statistics: running statistics far from the batch's, so that a batch-statistics pass would
// differ everywhere.
BatchNorm2d MakeFrozenBatchNorm(int channels, uint64_t seed) {
  BatchNorm2d bn = MakeBatchNorm(channels, seed);
  Rng rng(seed + 5);
  for (int c = 0; c < channels; ++c) {
    bn.running_mean()[c] = static_cast<float>(rng.Normal());
    bn.running_var()[c] = static_cast<float>(0.2 + 2.0 * rng.Uniform());
  }
  bn.set_frozen_statistics(true);
  return bn;
}

TEST(BatchNorm2dFrozenStatistics, ReferenceMatchesFiniteDifferences) {
  CheckBatchNormReferenceGradients(MakeFrozenBatchNorm, 900);
}

TEST(BatchNorm2dFrozenStatistics, FastMatchesReference) { CheckBatchNormFastGradients(MakeFrozenBatchNorm, 950); }

TEST(BatchNorm2dFrozenStatistics, TrainsLikeInferenceAndKeepsTheRunningStatistics) {
  ThreadPool pool(2);
  const Shape shape{5, 3, 4, 4};
  BatchNorm2d bn = MakeFrozenBatchNorm(3, 990);
  const std::vector<float> mean(bn.running_mean().data(), bn.running_mean().data() + 3);
  const std::vector<float> var(bn.running_var().data(), bn.running_var().data() + 3);
  const Tensor x = ShiftedInput(shape, 991).Cast<float>();
  Workspace ws;
  Tensor y_train, y_infer;
  bn.ForwardTrain({&x}, y_train, pool, ws);
  bn.Forward({&x}, y_infer, pool, ws);
  EXPECT_EQ(std::vector<float>(y_train.data(), y_train.data() + y_train.size()),
            std::vector<float>(y_infer.data(), y_infer.data() + y_infer.size()));
  EXPECT_EQ(std::vector<float>(bn.running_mean().data(), bn.running_mean().data() + 3), mean);
  EXPECT_EQ(std::vector<float>(bn.running_var().data(), bn.running_var().data() + 3), var);
  // Unfrozen again: batch statistics, and the running statistics move.
  bn.set_frozen_statistics(false);
  bn.ForwardTrain({&x}, y_train, pool, ws);
  EXPECT_NE(std::vector<float>(y_train.data(), y_train.data() + y_train.size()),
            std::vector<float>(y_infer.data(), y_infer.data() + y_infer.size()));
  EXPECT_NE(bn.running_mean()[0], mean[0]);
}

// The affine-input variant against the float64 definition on an explicit z = u·x + b: outputs, running
// statistics, dγ, dβ, grad_scale·dL/dx = grad_scale·u·dL/dz and Σ dL/dz, with batch and frozen
// statistics. x holds integers (an accumulator), u spans the units QAT meets (1e-4 .. 1).
void CheckAffineBatchNorm(bool frozen) {
  ThreadPool pool(2);
  const Shape shape{6, 3, 5, 4};
  const std::vector<double> u = {2.5e-4, 0.03, 1.0}, b = {0.2, -0.05, 0.0};
  const double grad_scale = 1.0 / 0.021;
  Rng rng(1200 + frozen);
  Tensor x(shape);
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int64_t>(rng.Below(4001)) - 1500);
  TensorD z(shape), g(shape);
  const int64_t plane = shape[2] * shape[3];
  for (int64_t i = 0; i < x.size(); ++i) {
    const size_t c = static_cast<size_t>((i / plane) % shape[1]);
    z[i] = u[c] * x[i] + b[c];
    g[i] = rng.Normal();
  }
  BatchNorm2d bn = frozen ? MakeFrozenBatchNorm(3, 1210) : MakeBatchNorm(3, 1210);
  if (frozen)  // running statistics on z's scale
    for (int c = 0; c < 3; ++c) {
      bn.running_mean()[c] = static_cast<float>(u[static_cast<size_t>(c)] * 400 + b[static_cast<size_t>(c)]);
      bn.running_var()[c] = static_cast<float>(u[static_cast<size_t>(c)] * u[static_cast<size_t>(c)] * 9e5);
    }
  const TensorD mean0 = bn.running_mean().Cast<double>(), var0 = bn.running_var().Cast<double>();
  const TensorD gamma = bn.gamma().Cast<double>(), beta = bn.beta().Cast<double>();
  Tensor y, gx;
  bn.ForwardTrainAffine(x, u, b, y, pool);
  const TensorD ref = frozen ? BatchNormReference(z, gamma, beta, mean0, var0, bn.eps())
                             : BatchNormTrainReference(z, gamma, beta, bn.eps());
  EXPECT_LE(testing::MaxRelativeError(y, ref), 1e-5);
  TensorD rgz, rgg, rgb;
  if (frozen) {
    BatchNormFrozenBackwardReference(z, gamma, mean0, var0, g, bn.eps(), rgz, rgg, rgb);
  } else {
    BatchNormTrainBackwardReference(z, gamma, g, bn.eps(), rgz, rgg, rgb);
  }
  for (int c = 0; c < 3; ++c) {
    double mz = 0, sz = 0;
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t p = 0; p < plane; ++p) mz += z[(n * 3 + c) * plane + p];
    mz /= static_cast<double>(shape[0] * plane);
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t p = 0; p < plane; ++p) sz += std::pow(z[(n * 3 + c) * plane + p] - mz, 2);
    const double m = static_cast<double>(shape[0] * plane);
    const double want_mean = frozen ? mean0[c] : 0.9 * mean0[c] + 0.1 * mz;
    const double want_var = frozen ? var0[c] : 0.9 * var0[c] + 0.1 * sz / (m - 1);
    EXPECT_NEAR(bn.running_mean()[c], want_mean, 1e-5 * (1 + std::abs(want_mean))) << c;
    EXPECT_NEAR(bn.running_var()[c], want_var, 1e-5 * want_var) << c;
  }
  const Tensor gf = g.Cast<float>();
  std::vector<double> sum_gz(3);
  bn.BackwardAffine(x, gf, grad_scale, &gx, sum_gz, pool);
  TensorD want_gx(shape);
  for (int64_t i = 0; i < x.size(); ++i) want_gx[i] = grad_scale * u[static_cast<size_t>((i / plane) % 3)] * rgz[i];
  EXPECT_LE(testing::MaxRelativeError(gx, want_gx), 1e-4);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(bn.gamma_grad()[c], rgg[c], 1e-4 * (1 + std::abs(rgg[c]))) << c;
    EXPECT_NEAR(bn.beta_grad()[c], rgb[c], 1e-4 * (1 + std::abs(rgb[c]))) << c;
    double want_sum = 0;
    for (int64_t n = 0; n < shape[0]; ++n)
      for (int64_t p = 0; p < plane; ++p) want_sum += rgz[(n * 3 + c) * plane + p];
    EXPECT_NEAR(sum_gz[static_cast<size_t>(c)], want_sum, 1e-6 * (1 + std::abs(rgb[c]) * std::abs(gamma[c]) / std::sqrt(var0[c])))
        << c;
  }
}

TEST(BatchNorm2dAffineInput, IsBatchNormOfTheAffineImage) { CheckAffineBatchNorm(false); }

TEST(BatchNorm2dAffineInput, FrozenIsBatchNormOfTheAffineImage) { CheckAffineBatchNorm(true); }

TEST(BatchNorm2dAffineInput, BadUnitsAreRefused) {
  ThreadPool pool(1);
  BatchNorm2d bn(2);
  Tensor x({2, 2, 2, 2}), y;
  x.Fill(1.0f);
  EXPECT_THROW(bn.ForwardTrainAffine(x, std::vector<double>{1.0, 0.0}, std::vector<double>{0, 0}, y, pool), std::invalid_argument);
  EXPECT_THROW(bn.ForwardTrainAffine(x, std::vector<double>{1.0}, std::vector<double>{0, 0}, y, pool), std::invalid_argument);
  EXPECT_THROW(bn.ForwardTrainAffine(x, std::vector<double>{1.0, 2.0}, std::vector<double>{0, NAN}, y, pool), std::invalid_argument);
}

TEST(BatchNorm2dBackward, RunningStatisticsFollowPyTorch) {
  // Channel 0 holds {1, 2, 3, 6} over (N, H, W) = (2, 1, 2): μ = 3, biased σ² = 3.5, unbiased 14/3.
  // Channel 1 holds {−1, −1, 1, 1}: μ = 0, σ² = 1, unbiased 4/3.
  BatchNorm2d bn(2, 1e-5, 0.1);
  Tensor x({2, 2, 1, 2});
  const float values[8] = {1, 2, -1, -1, 3, 6, 1, 1};  // n0: c0 {1, 2}, c1 {−1, −1}; n1: c0 {3, 6}, c1 {1, 1}
  std::copy(values, values + 8, x.data());
  bn.running_mean()[0] = 0.5f;
  bn.running_var()[0] = 2.0f;
  ThreadPool pool(2);
  Workspace ws;
  Tensor y;
  bn.ForwardTrain({&x}, y, pool, ws);
  EXPECT_FLOAT_EQ(bn.running_mean()[0], static_cast<float>(0.9 * 0.5 + 0.1 * 3.0));
  EXPECT_FLOAT_EQ(bn.running_var()[0], static_cast<float>(0.9 * 2.0 + 0.1 * 14.0 / 3.0));
  EXPECT_FLOAT_EQ(bn.running_mean()[1], 0.0f);
  EXPECT_FLOAT_EQ(bn.running_var()[1], static_cast<float>(0.9 * 1.0 + 0.1 * 4.0 / 3.0));
  // Output with the batch statistics (γ = 1, β = 0): (x − 3)/√(3.5 + ε) for channel 0.
  EXPECT_NEAR(y.at(1, 0, 0, 1), 3.0 / std::sqrt(3.5 + 1e-5), 1e-6);
  EXPECT_NEAR(y.at(0, 1, 0, 0), -1.0 / std::sqrt(1.0 + 1e-5), 1e-6);
  // A second step composes: running ← 0.9·running + 0.1·batch.
  const float mean0 = bn.running_mean()[0], var0 = bn.running_var()[0];
  bn.ForwardTrain({&x}, y, pool, ws);
  EXPECT_FLOAT_EQ(bn.running_mean()[0], static_cast<float>(0.9 * mean0 + 0.1 * 3.0));
  EXPECT_FLOAT_EQ(bn.running_var()[0], static_cast<float>(0.9 * var0 + 0.1 * 14.0 / 3.0));
  // Another momentum.
  BatchNorm2d bn2(2, 1e-5, 0.25);
  bn2.ForwardTrain({&x}, y, pool, ws);
  EXPECT_FLOAT_EQ(bn2.running_mean()[0], 0.75f);
  EXPECT_FLOAT_EQ(bn2.running_var()[0], static_cast<float>(0.75 + 0.25 * 14.0 / 3.0));
  // The inference forward uses the running statistics, not the batch.
  Tensor yi;
  bn.Forward({&x}, yi, pool, ws);
  const TensorD xd = x.Cast<double>();
  EXPECT_LE(testing::MaxRelativeError(
                yi, BatchNormReference(xd, bn.gamma().Cast<double>(), bn.beta().Cast<double>(),
                                       bn.running_mean().Cast<double>(), bn.running_var().Cast<double>(), 1e-5)),
            1e-6);
  // One value per channel cannot be normalized with batch statistics.
  Tensor single({1, 2, 1, 1});
  EXPECT_THROW(bn.ForwardTrain({&single}, y, pool, ws), std::invalid_argument);
}

TEST(BatchNorm2dBackward, BitIdenticalForAnyThreadCount) {
  const Shape shape{19, 5, 6, 7};
  const Tensor x = ShiftedInput(shape, 900).Cast<float>();
  const Tensor g = RandomTensor(shape, 901);
  std::vector<Tensor> y(3), gx(3), gamma_grad(3), beta_grad(3), running_mean(3), running_var(3);
  for (int threads = 1; threads <= 3; ++threads) {
    const size_t t = static_cast<size_t>(threads - 1);
    BatchNorm2d bn = MakeBatchNorm(5, 902);
    ThreadPool pool(threads);
    Workspace ws;
    bn.ForwardTrain({&x}, y[t], pool, ws);
    bn.Backward({&x}, y[t], g, {&gx[t]}, pool, ws);
    gamma_grad[t] = bn.gamma_grad();
    beta_grad[t] = bn.beta_grad();
    running_mean[t] = bn.running_mean();
    running_var[t] = bn.running_var();
  }
  for (size_t t = 1; t < 3; ++t) {
    EXPECT_TRUE(BitEqual(y[t], y[0]));
    EXPECT_TRUE(BitEqual(gx[t], gx[0]));
    EXPECT_TRUE(BitEqual(gamma_grad[t], gamma_grad[0]));
    EXPECT_TRUE(BitEqual(beta_grad[t], beta_grad[0]));
    EXPECT_TRUE(BitEqual(running_mean[t], running_mean[0]));
    EXPECT_TRUE(BitEqual(running_var[t], running_var[0]));
  }
}

TEST(BatchNorm2dBackward, ParamsAreGammaAndBeta) {
  BatchNorm2d bn(3);
  std::vector<std::string> names;
  bn.VisitParams([&](const std::string& s, Tensor& p, Tensor& g) {
    names.push_back(s);
    EXPECT_EQ(p.shape(), g.shape());
  });
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias"}));
}

// Fastest of 10 runs of fn, in seconds (the fastest is the least disturbed by other processes).
template <typename Fn>
double BestTime(Fn fn) {
  double best = 1e30;
  for (int r = 0; r < 10; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// Not a test: throughput of the conv training passes on the ResNet-20 shapes, batch 128, for the
// record (run with --gtest_also_run_disabled_tests --gtest_filter='*Throughput*').
TEST(Conv2dBackward, DISABLED_ResNet20Throughput) {
  const char* threads_env = std::getenv("CIMSIM_THREADS");
  ThreadPool pool(threads_env != nullptr ? std::atoi(threads_env) : 2);
  const int64_t batch = 128;
  const ConvCase cases[] = {{3, 16, 3, 1, 1, false, 32, 32},  {16, 16, 3, 1, 1, false, 32, 32},
                            {16, 32, 3, 2, 1, false, 32, 32}, {32, 32, 3, 1, 1, false, 16, 16},
                            {32, 64, 3, 2, 1, false, 16, 16}, {64, 64, 3, 1, 1, false, 8, 8}};
  for (const ConvCase& cc : cases) {
    Conv2d conv = MakeConv(cc, 1000);
    const Tensor x = RandomTensor({batch, cc.in_channels, cc.height, cc.width}, 1001);
    Workspace ws;
    Tensor y, gx;
    conv.Forward({&x}, y, pool, ws);
    const Tensor g = RandomTensor(y.shape(), 1002);
    const bool first = cc.in_channels == 3;  // the first layer needs no data gradient
    std::vector<Tensor*> grads{first ? nullptr : &gx};
    conv.Backward({&x}, y, g, grads, pool, ws);  // warm-up: buffers grow
    const double flops = 2.0 * static_cast<double>(batch * conv.MacsPerImage({x.shape()}));
    const double tf = BestTime([&] { conv.Forward({&x}, y, pool, ws); });
    const double tb = BestTime([&] { conv.Backward({&x}, y, g, grads, pool, ws); });
    const double bflops = flops * (first ? 1 : 2);
    std::printf("%-28s fwd %6.2f ms %6.1f GFLOP/s  bwd %6.2f ms %6.1f GFLOP/s  fwd+bwd %6.1f GFLOP/s\n",
                Describe(cc).c_str(), tf * 1e3, flops / tf * 1e-9, tb * 1e3, bflops / tb * 1e-9,
                (flops + bflops) / (tf + tb) * 1e-9);
  }
  for (const Shape& shape : {Shape{batch, 16, 32, 32}, Shape{batch, 32, 16, 16}, Shape{batch, 64, 8, 8}}) {
    BatchNorm2d bn = MakeBatchNorm(static_cast<int>(shape[1]), 1003);
    const Tensor x = RandomTensor(shape, 1004);
    const Tensor g = RandomTensor(shape, 1005);
    Workspace ws;
    Tensor y, gx;
    const double tf = BestTime([&] { bn.ForwardTrain({&x}, y, pool, ws); });
    const double tb = BestTime([&] { bn.Backward({&x}, y, g, {&gx}, pool, ws); });
    std::printf("batch_norm %-17s train fwd %6.2f ms  bwd %6.2f ms  (%.1f G elements/s)\n", ShapeString(shape).c_str(),
                tf * 1e3, tb * 1e3, 2.0 * static_cast<double>(x.size()) / (tf + tb) * 1e-9);
  }
}

}  // namespace
}  // namespace cimsim
