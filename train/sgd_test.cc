// Sgd: the PyTorch SGD recurrence by hand for a few steps (plain, momentum, Nesterov, weight decay),
// against a float64 re-statement on random tensors, bit-exact resume from saved state, and the errors.
#include "train/sgd.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "common/error.h"
#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InputErrorOf;
using ::cimsim::testing::InvalidArgumentOf;

SgdParams Hyper(double momentum, double weight_decay, bool nesterov) {
  SgdParams p;
  p.momentum = momentum;
  p.weight_decay = weight_decay;
  p.nesterov = nesterov;
  return p;
}

Tensor Scalar(float v) {
  Tensor t({1});
  t[0] = v;
  return t;
}

// p0 = 1, gradients 0.5, −0.25, 1.0, lr 0.1, μ 0.9, wd 0.1. By hand (momentum):
//   1: d = 0.5 + 0.1·1 = 0.6;             b = 0.6;                      p = 1 − 0.06 = 0.94
//   2: d = −0.25 + 0.094 = −0.156;        b = 0.54 − 0.156 = 0.384;     p = 0.94 − 0.0384 = 0.9016
//   3: d = 1 + 0.09016 = 1.09016;         b = 0.3456 + 1.09016 = 1.43576; p = 0.9016 − 0.143576 = 0.758024
// Nesterov (d' = d + μ·b):
//   1: d = 0.6, b = 0.6, d' = 1.14;                                       p = 0.886
//   2: d = −0.25 + 0.0886 = −0.1614, b = 0.3786, d' = 0.17934;            p = 0.868066
//   3: d = 1.0868066, b = 1.4275466, d' = 2.37159854;                     p = 0.630906146
// Tolerance 1e-6 (float arithmetic on values of order 1).
TEST(SgdTest, MomentumByHand) {
  Tensor p = Scalar(1), g = Scalar(0);
  Sgd sgd({{"w", &p, &g}}, Hyper(0.9, 0.1, false));
  const float grads[3] = {0.5f, -0.25f, 1.0f};
  const double want_p[3] = {0.94, 0.9016, 0.758024}, want_b[3] = {0.6, 0.384, 1.43576};
  for (int s = 0; s < 3; ++s) {
    g[0] = grads[s];
    sgd.Step(0.1);
    EXPECT_NEAR(p[0], want_p[s], 1e-6) << "step " << s + 1;
    EXPECT_NEAR(sgd.buffers()[0][0], want_b[s], 1e-6) << "step " << s + 1;
    EXPECT_EQ(sgd.steps(), s + 1);
  }
}

TEST(SgdTest, NesterovByHand) {
  Tensor p = Scalar(1), g = Scalar(0);
  Sgd sgd({{"w", &p, &g}}, Hyper(0.9, 0.1, true));
  const float grads[3] = {0.5f, -0.25f, 1.0f};
  const double want_p[3] = {0.886, 0.868066, 0.630906146}, want_b[3] = {0.6, 0.3786, 1.4275466};
  for (int s = 0; s < 3; ++s) {
    g[0] = grads[s];
    sgd.Step(0.1);
    EXPECT_NEAR(p[0], want_p[s], 1e-6) << "step " << s + 1;
    EXPECT_NEAR(sgd.buffers()[0][0], want_b[s], 1e-6) << "step " << s + 1;
  }
}

// No momentum: p −= lr·(g + wd·p); with wd = 0 and exactly representable values the result is exact:
// 1 − 0.5·0.5 = 0.75, then 0.75 − 0.5·(−0.5) = 1. With wd = 0.5, lr = 0.1, g = 0: p ← 0.95·p.
TEST(SgdTest, PlainStepsByHand) {
  Tensor p = Scalar(1), g = Scalar(0.5f);
  Sgd sgd({{"w", &p, &g}}, Hyper(0, 0, false));
  EXPECT_TRUE(sgd.buffers().empty());
  sgd.Step(0.5);
  EXPECT_EQ(p[0], 0.75f);
  g[0] = -0.5f;
  sgd.Step(0.5);
  EXPECT_EQ(p[0], 1.0f);

  Tensor q = Scalar(2), h = Scalar(0);
  Sgd decay({{"w", &q, &h}}, Hyper(0, 0.5, false));
  decay.Step(0.1);
  EXPECT_NEAR(q[0], 1.9, 1e-6);
  decay.Step(0.1);
  EXPECT_NEAR(q[0], 1.805, 1e-6);
}

// Several tensors of different sizes (odd lengths exercise the vector loops' tails), 20 steps with
// random gradients and a changing lr, against the same recurrence in double: relative error <= 1e-5.
TEST(SgdTest, MatchesDoubleRecurrence) {
  for (bool nesterov : {false, true}) {
    const SgdParams hp = Hyper(0.9, 5e-4, nesterov);
    std::vector<Tensor> params = {Tensor({3, 5}), Tensor({37}), Tensor({2, 3, 3, 3})};
    std::vector<Tensor> grads = {Tensor({3, 5}), Tensor({37}), Tensor({2, 3, 3, 3})};
    Rng rng(5);
    std::vector<std::vector<double>> pd(3), bd(3);
    std::vector<SgdEntry> entries;
    for (size_t t = 0; t < 3; ++t) {
      for (int64_t i = 0; i < params[t].size(); ++i) {
        params[t][i] = static_cast<float>(rng.Normal());
        pd[t].push_back(params[t][i]);
      }
      bd[t].assign(static_cast<size_t>(params[t].size()), 0.0);
      entries.push_back({"t" + std::to_string(t), &params[t], &grads[t]});
    }
    Sgd sgd(entries, hp);
    for (int s = 0; s < 20; ++s) {
      const double lr = 0.1 / (1 + s);
      for (size_t t = 0; t < 3; ++t) {
        for (int64_t i = 0; i < grads[t].size(); ++i) grads[t][i] = static_cast<float>(rng.Normal());
      }
      sgd.Step(lr);
      for (size_t t = 0; t < 3; ++t) {
        for (size_t i = 0; i < pd[t].size(); ++i) {
          const double d = grads[t][static_cast<int64_t>(i)] + hp.weight_decay * pd[t][i];
          bd[t][i] = s == 0 ? d : hp.momentum * bd[t][i] + d;
          pd[t][i] -= lr * (nesterov ? d + hp.momentum * bd[t][i] : bd[t][i]);
          EXPECT_NEAR(params[t][static_cast<int64_t>(i)], pd[t][i], 1e-5 * (1 + std::abs(pd[t][i])))
              << "nesterov " << nesterov << " step " << s << " tensor " << t << " element " << i;
          EXPECT_NEAR(sgd.buffers()[t][static_cast<int64_t>(i)], bd[t][i], 1e-5 * (1 + std::abs(bd[t][i])));
        }
      }
    }
  }
}

// Run k = 5 steps, copy the parameters, buffers and step count into a fresh optimizer, then continue
// both for 5 steps with the same gradients: parameters and buffers agree bit for bit. A fresh optimizer
// without the restored state does not (its first step re-initializes the buffers).
TEST(SgdTest, RestoredStateContinuesBitIdentically) {
  for (bool nesterov : {false, true}) {
    const SgdParams hp = Hyper(0.9, 5e-4, nesterov);
    Tensor pa({7, 3}), ga({7, 3}), pb({5}), gb({5});
    Rng rng(11);
    for (int64_t i = 0; i < pa.size(); ++i) pa[i] = static_cast<float>(rng.Normal());
    for (int64_t i = 0; i < pb.size(); ++i) pb[i] = static_cast<float>(rng.Normal());
    Sgd original({{"a", &pa, &ga}, {"b", &pb, &gb}}, hp);
    auto random_grads = [&](Rng& r) {
      for (int64_t i = 0; i < ga.size(); ++i) ga[i] = static_cast<float>(r.Normal());
      for (int64_t i = 0; i < gb.size(); ++i) gb[i] = static_cast<float>(r.Normal());
    };
    for (int s = 0; s < 5; ++s) {
      random_grads(rng);
      original.Step(0.05);
    }
    // The "checkpoint": parameters, buffers, steps.
    Tensor ra = pa, rb = pb, rga({7, 3}), rgb({5});
    Tensor na = pa, nb = pb, nga({7, 3}), ngb({5});
    Sgd restored({{"a", &ra, &rga}, {"b", &rb, &rgb}}, hp);
    restored.buffers() = original.buffers();
    restored.set_steps(original.steps());
    Sgd fresh({{"a", &na, &nga}, {"b", &nb, &ngb}}, hp);
    Rng cont(99);
    for (int s = 0; s < 5; ++s) {
      random_grads(cont);
      rga = ga;
      rgb = gb;
      nga = ga;
      ngb = gb;
      original.Step(0.03);
      restored.Step(0.03);
      fresh.Step(0.03);
    }
    EXPECT_EQ(restored.steps(), 10);
    EXPECT_EQ(std::memcmp(pa.data(), ra.data(), sizeof(float) * static_cast<size_t>(pa.size())), 0);
    EXPECT_EQ(std::memcmp(pb.data(), rb.data(), sizeof(float) * static_cast<size_t>(pb.size())), 0);
    for (size_t t = 0; t < 2; ++t) {
      const Tensor& x = original.buffers()[t];
      const Tensor& y = restored.buffers()[t];
      ASSERT_EQ(x.shape(), y.shape());
      EXPECT_EQ(std::memcmp(x.data(), y.data(), sizeof(float) * static_cast<size_t>(x.size())), 0) << t;
    }
    EXPECT_NE(std::memcmp(pa.data(), na.data(), sizeof(float) * static_cast<size_t>(pa.size())), 0);
  }
}

TEST(SgdTest, ValidateNamesFieldValueAndRange) {
  std::string m = InputErrorOf([] { Hyper(1.0, 0, false).Validate("train.json: sgd"); });
  EXPECT_TRUE(HasPart(m, "train.json: sgd.momentum: 1 is out of range; allowed [0, 1)"));
  m = InputErrorOf([] { Hyper(-0.1, 0, false).Validate("sgd"); });
  EXPECT_TRUE(HasPart(m, "sgd.momentum: -0.1"));
  m = InputErrorOf([] { Hyper(std::nan(""), 0, false).Validate("sgd"); });
  EXPECT_TRUE(HasPart(m, "sgd.momentum"));
  m = InputErrorOf([] { Hyper(0.9, -0.001, false).Validate("sgd"); });
  EXPECT_TRUE(HasPart(m, "sgd.weight_decay: -0.001 is out of range; allowed >= 0"));
  m = InputErrorOf([] { Hyper(0.9, std::numeric_limits<double>::infinity(), false).Validate("sgd"); });
  EXPECT_TRUE(HasPart(m, "sgd.weight_decay"));
  m = InputErrorOf([] { Hyper(0, 1e-4, true).Validate("train.json: sgd"); });
  EXPECT_TRUE(HasPart(m, "train.json: sgd.nesterov"));
  EXPECT_TRUE(HasPart(m, "momentum > 0"));
  EXPECT_NO_THROW(Hyper(0.9, 5e-4, true).Validate("sgd"));
  EXPECT_NO_THROW(SgdParams().Validate("sgd"));

  Tensor p = Scalar(1), g = Scalar(0);
  EXPECT_THROW(Sgd({{"w", &p, &g}}, Hyper(0, 0, true)), InputError);
}

TEST(SgdTest, BadEntriesAndLearningRatesThrow) {
  Tensor p({2, 3}), g({2, 3}), wrong({3, 2});
  std::string m = InvalidArgumentOf([&] { Sgd({{"conv.weight", &p, nullptr}}, SgdParams()); });
  EXPECT_TRUE(HasPart(m, "\"conv.weight\" has a null gradient"));
  m = InvalidArgumentOf([&] { Sgd({{"conv.weight", nullptr, &g}}, SgdParams()); });
  EXPECT_TRUE(HasPart(m, "null parameter"));
  m = InvalidArgumentOf([&] { Sgd({{"fc.weight", &p, &wrong}}, SgdParams()); });
  EXPECT_TRUE(HasPart(m, "\"fc.weight\" is [2, 3] but its gradient is [3, 2]"));
  m = InvalidArgumentOf([&] { Sgd({{"a", &p, &g}, {"b", &p, &g}}, SgdParams()); });
  EXPECT_TRUE(HasPart(m, "\"b\" is listed twice"));

  Sgd sgd({{"w", &p, &g}}, SgdParams());
  for (double lr : {0.0, -0.1, std::nan(""), std::numeric_limits<double>::infinity()}) {
    m = InvalidArgumentOf([&] { sgd.Step(lr); });
    EXPECT_TRUE(HasPart(m, "learning rate")) << lr;
  }
  EXPECT_EQ(sgd.steps(), 0);
  EXPECT_THROW(sgd.set_steps(-1), std::invalid_argument);
  g.Resize({6});
  EXPECT_THROW(sgd.Step(0.1), std::logic_error);
  g.Resize({2, 3});
  sgd.buffers()[0].Resize({1});
  EXPECT_THROW(sgd.Step(0.1), std::logic_error);
}

}  // namespace
}  // namespace cimsim
