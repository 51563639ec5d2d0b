// The ReLU fused into BatchNorm2d and Add (Layer::FusesRelu): ForwardTrainRelu equals ForwardTrain
// followed by Relu, and BackwardRelu equals Relu's backward followed by the layer's Backward, bit for
// bit — outputs, input gradients, parameter gradients and running statistics — with batch and with
// frozen statistics, on 1 and 2 threads, and with a gradient not asked for.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "nets/batch_norm.h"
#include "nets/elementwise.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using testing::RandomTensor;

void ExpectSameBits(const Tensor& a, const Tensor& b, const std::string& what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)), 0)
      << what << " differs between the fused and the separate layers";
}

// A BatchNorm with non-trivial γ, β and running statistics, and a copy of it.
BatchNorm2d RandomBatchNorm(int channels, uint64_t seed) {
  BatchNorm2d bn(channels);
  const Tensor g = RandomTensor({channels}, seed, 0.5), b = RandomTensor({channels}, seed + 1, 0.5);
  const Tensor m = RandomTensor({channels}, seed + 2, 0.5), v = RandomTensor({channels}, seed + 3, 0.5);
  for (int c = 0; c < channels; ++c) {
    bn.gamma()[c] = 1.0f + g[c] * (c % 3 == 0 ? -1.0f : 1.0f);  // some negative γ
    bn.beta()[c] = b[c];
    bn.running_mean()[c] = m[c];
    bn.running_var()[c] = 0.5f + v[c] * v[c];
  }
  return bn;
}

TEST(FusedRelu, BatchNormEqualsBatchNormThenRelu) {
  const Tensor x = RandomTensor({19, 6, 5, 7}, 11);
  const Tensor g = RandomTensor({19, 6, 5, 7}, 12);
  for (const bool frozen : {false, true}) {
    for (const int threads : {1, 2}) {
      SCOPED_TRACE(std::string(frozen ? "frozen" : "batch") + " statistics, " + std::to_string(threads) + " threads");
      ThreadPool pool(threads);
      Workspace ws;
      BatchNorm2d separate = RandomBatchNorm(6, 20), fused = RandomBatchNorm(6, 20);
      separate.set_frozen_statistics(frozen);
      fused.set_frozen_statistics(frozen);
      Relu relu;
      Tensor bn_out, y_separate, y_fused;
      separate.ForwardTrain({&x}, bn_out, pool, ws);
      relu.ForwardTrain({&bn_out}, y_separate, pool, ws);
      fused.ForwardTrainRelu({&x}, y_fused, pool, ws);
      ExpectSameBits(y_separate, y_fused, "output");
      ExpectSameBits(separate.running_mean(), fused.running_mean(), "running mean");
      ExpectSameBits(separate.running_var(), fused.running_var(), "running variance");

      Tensor g_bn, dx_separate, dx_fused;
      relu.Backward({&bn_out}, y_separate, g, {&g_bn}, pool, ws);
      separate.Backward({&x}, bn_out, g_bn, {&dx_separate}, pool, ws);
      fused.BackwardRelu({&x}, y_fused, g, {&dx_fused}, pool, ws);
      ExpectSameBits(dx_separate, dx_fused, "dL/dx");
      ExpectSameBits(separate.gamma_grad(), fused.gamma_grad(), "dL/dγ");
      ExpectSameBits(separate.beta_grad(), fused.beta_grad(), "dL/dβ");

      BatchNorm2d params_only = RandomBatchNorm(6, 20);  // no input gradient asked for
      params_only.set_frozen_statistics(frozen);
      Tensor y_params;
      params_only.ForwardTrainRelu({&x}, y_params, pool, ws);
      params_only.BackwardRelu({&x}, y_params, g, {nullptr}, pool, ws);
      ExpectSameBits(separate.gamma_grad(), params_only.gamma_grad(), "dL/dγ without dL/dx");
    }
  }
}

TEST(FusedRelu, AddEqualsAddThenRelu) {
  const Tensor a = RandomTensor({9, 4, 6, 6}, 31), b = RandomTensor({9, 4, 6, 6}, 32);
  const Tensor g = RandomTensor({9, 4, 6, 6}, 33);
  for (const int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    ThreadPool pool(threads);
    Workspace ws;
    Add add;
    Relu relu;
    Tensor sum, y_separate, y_fused;
    add.ForwardTrain({&a, &b}, sum, pool, ws);
    relu.ForwardTrain({&sum}, y_separate, pool, ws);
    add.ForwardTrainRelu({&a, &b}, y_fused, pool, ws);
    ExpectSameBits(y_separate, y_fused, "output");

    Tensor g_sum, da_separate, db_separate, da_fused, db_fused;
    relu.Backward({&sum}, y_separate, g, {&g_sum}, pool, ws);
    add.Backward({&a, &b}, sum, g_sum, {&da_separate, &db_separate}, pool, ws);
    add.BackwardRelu({&a, &b}, y_fused, g, {&da_fused, &db_fused}, pool, ws);
    ExpectSameBits(da_separate, da_fused, "dL/da");
    ExpectSameBits(db_separate, db_fused, "dL/db");

    Tensor db_only;  // one gradient asked for
    add.BackwardRelu({&a, &b}, y_fused, g, {nullptr, &db_only}, pool, ws);
    ExpectSameBits(db_separate, db_only, "dL/db alone");
  }
}

TEST(FusedRelu, LayersWithoutItSayNoAndThrow) {
  Relu relu;
  EXPECT_FALSE(relu.FusesRelu());
  EXPECT_TRUE(Add().FusesRelu());
  EXPECT_TRUE(BatchNorm2d(3).FusesRelu());
  ThreadPool pool(1);
  Workspace ws;
  const Tensor x = RandomTensor({2, 3, 2, 2}, 1);
  Tensor y;
  EXPECT_THROW(relu.ForwardTrainRelu({&x}, y, pool, ws), std::logic_error);
  EXPECT_THROW(relu.BackwardRelu({&x}, x, x, {&y}, pool, ws), std::logic_error);
}

}  // namespace
}  // namespace cimsim
