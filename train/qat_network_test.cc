// Tests of the QAT network: it computes what the integer engine of its export computes (before and
// after training steps), its steps are bit-identical for 1 and 2 threads, and with fixed 8-bit
// quantizers its gradients are those of the float layers on the dequantized values.
#include "train/qat_network.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "common/error.h"
#include "devices/device_presets.h"
#include "nets/integer_network.h"
#include "nets/quant_test_util.h"
#include "train/hardware_aware.h"
#include "train/qat_layers.h"
#include "train/sgd.h"
#include "train/softmax_cross_entropy.h"
#include "train/train_graph.h"

namespace cimsim {
namespace {

using testing::FirstN;
using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

struct Built {
  ModelSpec spec;
  Network float_net;
  QuantizedModel base;
  std::unique_ptr<QatNetwork> qat;
};

// Every layer at `bits`, except the last (linear) at `last_bits`: below the residual stream's bits,
// the conv layers read requantized copies.
Built Build(const std::string& arch, int depth, char shortcut, int bits, QatMethod method, uint64_t seed,
            int last_bits = 0, QatBatchNorm batch_norm = QatBatchNorm::kFolded) {
  Built b;
  b.spec = SpecFor(arch, depth, shortcut);
  b.float_net = BuildNetwork(b.spec);
  std::vector<ResolvedLayer> layers = Uniform(b.float_net, bits, bits);
  if (last_bits > 0) layers.back().params.weight_bits = layers.back().params.activation_bits = last_bits;
  b.base = QuantizedRandomNet(b.spec, b.float_net, layers, seed);
  std::map<std::string, QatMethod> methods;
  for (const std::string& name : MvmLayerNames(b.float_net)) methods[name] = method;
  b.qat = BuildQatNetwork(b.base, b.float_net, methods, batch_norm);
  return b;
}

// Images through the QAT network's normalizer, as training feeds them.
Tensor QatInput(const QuantizedModel& m, const ModelSpec& spec, const Cifar10Set& images) {
  const Normalizer input = Normalizer::QuantizedInput(spec.input_norm, m.input_scale, m.input_lut);
  Tensor x({images.size(), kCifarChannels, kCifarHeight, kCifarWidth});
  for (int64_t i = 0; i < images.size(); ++i) input.Apply(images.image(i), x.data() + i * kCifarImageBytes);
  return x;
}

// The integer engine's logit codes must be the QAT network's logits divided by the logit scale.
void ExpectSameAsIntegerEngine(Built& b, const Cifar10Set& images) {
  const QuantizedModel exported = ExportQuantizedModel(*b.qat, "test", "test");
  IntegerNetwork engine(exported);
  ThreadPool pool(2);
  const int64_t n = images.size(), k = exported.num_classes;
  std::vector<int32_t> codes(static_cast<size_t>(n * k));
  engine.Forward(images.pixels.data(), n, codes.data(), pool);
  Tensor logits;
  b.qat->net.Forward(QatInput(exported, b.spec, images), logits, pool);
  const double s = exported.nodes.back().out_scale;
  int64_t differ = 0;
  for (int64_t i = 0; i < n * k; ++i) differ += std::lround(logits[i] / s) != codes[static_cast<size_t>(i)];
  EXPECT_EQ(differ, 0) << "logit codes that differ out of " << n * k;
}

// `steps` SGD steps (learning rate lr, default SgdParams) of the QAT network on the images, as
// cimsim qat takes them (ParamsChanged after every step).
void TrainSteps(Built& b, const Cifar10Set& images, int steps, double lr, int threads) {
  TrainGraph graph(b.qat->net);
  std::vector<SgdEntry> entries;
  for (const ParamRef& p : graph.Params()) entries.push_back({p.name, p.param, p.grad});
  Sgd sgd(entries, SgdParams{});
  ThreadPool pool(threads);
  const Tensor x = QatInput(b.base, b.spec, images);
  std::vector<int32_t> labels(images.labels.begin(), images.labels.end());
  Tensor grad;
  for (int step = 0; step < steps; ++step) {
    const Tensor& logits = graph.ForwardTrain(x, pool);
    SoftmaxCrossEntropy(logits, labels, &grad);
    graph.Backward(grad, pool);
    sgd.Step(lr);
    for (NetworkNode& node : b.qat->net.nodes()) node.layer->ParamsChanged();
  }
}

// Oscillation dampening pulls the latent weights to the centres of their bins: after the same steps,
// Σ (clip(w) − ŵ)² (R/λ of the last step) is far smaller with a strong weight than with a negligible one
// (which computes R but hardly moves the weights), for LSQ and DSQ.
TEST(QatNetwork, OscillationDampeningPullsLatentWeightsToTheirBinCentres) {
  const Cifar10Set images = RandomImages(16, 21);
  for (QatMethod method : {QatMethod::kLsq, QatMethod::kDsq}) {
    SCOPED_TRACE(std::string(ToString(method)));
    double distance[2] = {0, 0};
    const double lambdas[2] = {1e-12, 2.0};
    for (int k = 0; k < 2; ++k) {
      Built b = Build("resnet", 8, 'A', 2, method, 12, 8, QatBatchNorm::kTrain);
      SetOscillationDampening(*b.qat, lambdas[k]);
      TrainSteps(b, images, 10, 0.02, 2);
      distance[k] = OscillationDampeningLoss(*b.qat) / lambdas[k];
    }
    EXPECT_GT(distance[0], 0.0);
    EXPECT_LT(distance[1], 0.25 * distance[0]) << "without " << distance[0] << ", with " << distance[1];
  }
}

TEST(QatNetwork, ComputesWhatItsExportComputes) {
  const Cifar10Set images = RandomImages(6, 99);
  for (const auto& [arch, depth, shortcut] : {std::tuple{"resnet", 8, 'A'}, std::tuple{"resnet", 8, 'B'}, std::tuple{"vgg", 0, 'A'}}) {
    for (QatMethod method : {QatMethod::kFixed, QatMethod::kLsq, QatMethod::kDsq}) {
      SCOPED_TRACE(std::string(arch) + " " + std::string(ToString(method)));
      Built b = Build(arch, depth, shortcut, 4, method, 5);
      ExpectSameAsIntegerEngine(b, images);
      Built mixed = Build(arch, depth, shortcut, 3, method, 6, 8);
      ExpectSameAsIntegerEngine(mixed, images);
    }
  }
}

TEST(QatNetwork, MixedBitsReadRequantizedInputs) {
  Built b = Build("resnet", 8, 'A', 2, QatMethod::kLsq, 8, 8);
  int requants = 0;
  for (const QNode& n : b.base.nodes) {
    requants += n.kind == QNodeKind::kRequant;
    if (n.kind == QNodeKind::kConv && n.name != "conv1") {
      EXPECT_EQ(n.input_bits, 2) << n.name;
    }
  }
  EXPECT_GT(requants, 0);
}

// A few SGD steps, then the same check: training keeps the network exportable and exact (with
// BatchNorm kept, the export folds the running statistics the steps updated; negative γ included).
TEST(QatNetwork, ExactAfterTrainingSteps) {
  const Cifar10Set images = RandomImages(16, 7);
  for (QatBatchNorm bn : {QatBatchNorm::kFolded, QatBatchNorm::kTrain})
  for (QatMethod method : {QatMethod::kLsq, QatMethod::kDsq}) {
    SCOPED_TRACE(std::string(ToString(method)) + " batch_norm " + std::string(ToString(bn)));
    Built b = Build("resnet", 8, 'A', 3, method, 11, 0, bn);
    if (bn == QatBatchNorm::kTrain) ExpectSameAsIntegerEngine(b, images);
    TrainSteps(b, images, 3, 0.01, 2);
    ExpectSameAsIntegerEngine(b, images);
  }
}

// After training steps, the latent float network folds (BatchNorm into the conv, nets/quantize_network.h)
// to exactly the real-valued layer the QAT network quantizes: weights a_o·v and bias β + a_o·(b − μ)
// with BatchNorm kept, v·a_o and the trained folded bias with BatchNorm folded, v and b without one.
TEST(QatNetwork, LatentFloatNetworkFoldsToTheLayersTheQatNetworkQuantizes) {
  const Cifar10Set images = RandomImages(16, 21);
  for (char shortcut : {'A', 'B'})
  for (QatBatchNorm bn : {QatBatchNorm::kFolded, QatBatchNorm::kTrain}) {
    SCOPED_TRACE(std::string("shortcut ") + shortcut + " batch_norm " + std::string(ToString(bn)));
    Built b = Build("resnet", 8, shortcut, 4, QatMethod::kLsq, 31, 8, bn);
    TrainSteps(b, images, 3, 0.05, 2);
    WriteLatentFloatNetwork(*b.qat, b.float_net);
    int checked = 0;
    for (size_t i = 0; i < b.base.nodes.size(); ++i) {
      auto* mvm = dynamic_cast<QatMvm*>(b.qat->net.nodes()[i].layer.get());
      if (mvm == nullptr) continue;
      const std::string& name = b.base.nodes[i].name;
      const FoldedLayer f = FoldLayer(b.float_net, name);
      const int64_t O = mvm->bias().size(), K = mvm->weight().size() / O;
      for (int64_t o = 0; o < O; ++o) {
        double a = 1, bias = mvm->bias()[o];
        if (BatchNorm2d* own = mvm->batch_norm()) {
          a = own->gamma()[o] / std::sqrt(static_cast<double>(own->running_var()[o]) + own->eps());
          bias = own->beta()[o] + a * (mvm->bias()[o] - static_cast<double>(own->running_mean()[o]));
        } else if (!mvm->config().fold_scale.empty()) {
          a = mvm->config().fold_scale[static_cast<size_t>(o)];
        }
        for (int64_t k = 0; k < K; ++k)
          ASSERT_NEAR(f.weights[static_cast<size_t>(o * K + k)], mvm->weight()[o * K + k] * a, 1e-6 * std::abs(a)) << name;
        ASSERT_NEAR(f.bias[static_cast<size_t>(o)], bias, 1e-5 * (1 + std::abs(bias))) << name << " channel " << o;
      }
      ++checked;
    }
    EXPECT_EQ(checked, shortcut == 'B' ? 10 : 8);
  }
}

TEST(QatNetwork, BatchNormKeptComputesWhatItsExportComputes) {
  const Cifar10Set images = RandomImages(6, 99);
  for (const auto& [arch, depth, shortcut] : {std::tuple{"resnet", 8, 'B'}, std::tuple{"vgg", 0, 'A'}}) {
    SCOPED_TRACE(arch);
    Built b = Build(arch, depth, shortcut, 4, QatMethod::kLsq, 5, 0, QatBatchNorm::kTrain);
    int kept = 0;
    for (NetworkNode& node : b.qat->net.nodes())
      if (auto* mvm = dynamic_cast<QatMvm*>(node.layer.get()); mvm && mvm->batch_norm()) ++kept;
    EXPECT_GT(kept, 0);
    ExpectSameAsIntegerEngine(b, images);
  }
}

// The full 2-bit grid {−2, −1, 0, 1} with BatchNorm kept: a channel with γ < 0 deploys its trained
// codes negated, so it trains on the mirrored grid {−1, 0, 1, 2}. With negative γ on every odd
// channel and steps shrunk to put many weights on both ends, the export holds −2 in both kinds of
// channel, nothing outside [−2, 1], and the integer engine computes what the QAT network computes,
// before and after training steps.
TEST(QatNetwork, FullWeightGridDeploysItsMostNegativeCodeExactly) {
  const Cifar10Set images = RandomImages(6, 21);
  Built b;
  b.spec = SpecFor("resnet", 8, 'B');
  b.float_net = BuildNetwork(b.spec);
  b.base = QuantizedRandomNet(b.spec, b.float_net, Uniform(b.float_net, 2, 2), 9);
  std::map<std::string, QatMethod> methods;
  for (QNode& n : b.base.nodes)
    if (n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear) {
      n.weight_grid = WeightGrid::kFull;
      methods[n.name] = QatMethod::kLsq;
    }
  b.qat = BuildQatNetwork(b.base, b.float_net, methods, QatBatchNorm::kTrain);
  for (NetworkNode& node : b.qat->net.nodes()) {
    node.layer->VisitTensors([](const std::string& name, Tensor& t) {
      if (name == "bn_weight")
        for (int64_t o = 1; o < t.size(); o += 2) t[o] = -std::abs(t[o]);
      if (name == "weight_step")
        for (int64_t o = 0; o < t.size(); ++o) t[o] *= 0.3f;
    });
    node.layer->ParamsChanged();
  }
  const QuantizedModel exported = ExportQuantizedModel(*b.qat, "test", "test");
  int64_t min_in_odd = 0, min_in_even = 0, checked = 0;
  for (const QNode& n : exported.nodes) {
    if (n.kind != QNodeKind::kConv) continue;  // (the linear layer has no BatchNorm)
    ASSERT_EQ(n.weight_grid, WeightGrid::kFull) << n.name;
    const int64_t K = n.Depth();
    for (int64_t i = 0; i < static_cast<int64_t>(n.weights.size()); ++i) {
      const int16_t c = n.weights[static_cast<size_t>(i)];
      ASSERT_GE(c, -2) << n.name;
      ASSERT_LE(c, 1) << n.name;
      if (c == -2) ((i / K) % 2 == 1 ? min_in_odd : min_in_even) += 1;
    }
    ++checked;
  }
  EXPECT_GT(checked, 0);
  EXPECT_GT(min_in_odd, 0) << "no −2 deployed from a mirrored (γ < 0) channel";
  EXPECT_GT(min_in_even, 0);
  ExpectSameAsIntegerEngine(b, images);
  TrainSteps(b, images, 2, 0.05, 2);
  ExpectSameAsIntegerEngine(b, images);
}

// BatchNorm statistics frozen: a training step's forward is the network that deploys — the first
// conv's output codes in training are inference's (up to the float rounding of the unfolded
// BatchNorm against the exported bias code, which may move a code on a near-tie: at most 1 % here,
// against most of them with batch statistics) — and training steps leave the running statistics as
// they were, keep inference exact, and still move γ.
TEST(QatNetwork, FrozenBatchNormTrainsTheDeployedNetwork) {
  const Cifar10Set images = RandomImages(8, 7);
  Built b = Build("resnet", 8, 'B', 4, QatMethod::kLsq, 5, 0, QatBatchNorm::kTrain);
  TrainSteps(b, images, 2, 0.05, 2);  // running statistics away from the model's
  auto* conv1 = dynamic_cast<QatMvm*>(b.qat->net.nodes().front().layer.get());
  ASSERT_TRUE(conv1 != nullptr && conv1->batch_norm() != nullptr);
  ThreadPool pool(2);
  Workspace ws;
  const Tensor x = QatInput(b.base, b.spec, images);
  Tensor inference, train;
  conv1->Forward({&x}, inference, pool, ws);
  const double s = conv1->output_quantizer().Scale();
  auto codes_that_differ = [&] {
    conv1->ForwardTrain({&x}, train, pool, ws);
    int64_t differ = 0;
    for (int64_t i = 0; i < train.size(); ++i) differ += std::lround(train[i] / s) != std::lround(inference[i] / s);
    return differ;
  };
  FreezeBatchNormStatistics(*b.qat, true);
  EXPECT_LE(codes_that_differ(), inference.size() / 100) << "of " << inference.size();
  FreezeBatchNormStatistics(*b.qat, false);
  EXPECT_GT(codes_that_differ(), inference.size() / 4) << "of " << inference.size();
  FreezeBatchNormStatistics(*b.qat, true);
  auto bn_state = [&](const char* which) {
    std::vector<float> v;
    for (NetworkNode& node : b.qat->net.nodes())
      node.layer->VisitTensors([&](const std::string& name, Tensor& t) {
        if (name == which) v.insert(v.end(), t.data(), t.data() + t.size());
      });
    return v;
  };
  const std::vector<float> mean = bn_state("bn_running_mean"), var = bn_state("bn_running_var"),
                           gamma = bn_state("bn_weight");
  ASSERT_FALSE(mean.empty());
  TrainSteps(b, images, 2, 0.05, 2);
  EXPECT_EQ(bn_state("bn_running_mean"), mean);
  EXPECT_EQ(bn_state("bn_running_var"), var);
  EXPECT_NE(bn_state("bn_weight"), gamma);
  ExpectSameAsIntegerEngine(b, images);
  FreezeBatchNormStatistics(*b.qat, false);
  TrainSteps(b, images, 1, 0.05, 2);
  EXPECT_NE(bn_state("bn_running_mean"), mean);
}

// Inference requantizes with the engine's fixed-point multipliers, not the real ratio: a ratio r just
// below 2.5/3, whose 31-bit mantissa lies just above it, puts code 3 on either side of the tie 2.5 —
// real rounding gives 2, the engine (and so the QAT network) 3. QatRequant, QatAvgPool (one value:
// the same ratio) and QatAdd (a second, zero input) each give the engine's code.
TEST(QatLayers, RequantizeWithTheEnginesFixedPointMultiplier) {
  const double r = 1789569706.6 / 2147483648.0;  // r·2^31 = …706.6 rounds to the mantissa …707 > 2^31·2.5/3
  ASSERT_LT(3 * r, 2.5);
  const int32_t engine = MultiplyByQuantizedMultiplierReference(3, WithHeadroom(QuantizeMultiplier(r), 127));
  ASSERT_EQ(engine, 3);
  ASSERT_EQ(std::lround(3 * r), 2);
  ActQuantizer in(QatMethod::kFixed, -127, 127, r), out(QatMethod::kFixed, -127, 127, 1.0);
  ThreadPool pool(1);
  Workspace ws;
  Tensor x({1, 1, 1, 1}), y;
  x[0] = static_cast<float>(3 * r);
  QatRequant requant(&in, &out, 127);
  requant.Forward({&x}, y, pool, ws);
  EXPECT_EQ(y[0], 3.0f);
  const TensorD xd = x.Cast<double>();
  TensorD yd;
  requant.ForwardReference({&xd}, yd);
  EXPECT_EQ(yd[0], 3.0);
  QatAvgPool avg(&in, &out, 127);
  avg.Forward({&x}, y, pool, ws);
  EXPECT_EQ(y[0], 3.0f);
  Tensor zero({1, 1, 1, 1});
  QatAdd add({&in, &out}, &out, {false, true}, {127, 127});
  add.Forward({&x, &zero}, y, pool, ws);
  EXPECT_EQ(y[0], 3.0f);
}

// The blocked fast paths of add and requant (codes, RequantizeRow, sum, in blocks of 256 per thread
// range) give ForwardReference's values exactly: three inputs at unrelated scales (two rescaled, one
// at the output's scale), values off the grid, ties and out-of-range sums included, a size that is no
// multiple of the block, for 1 and 2 threads.
TEST(QatLayers, BlockedAddAndRequantEqualTheirReferences) {
  ActQuantizer a(QatMethod::kFixed, -127, 127, 0.0371), b(QatMethod::kFixed, 0, 255, 0.0113),
      c(QatMethod::kFixed, -127, 127, 0.0517), out(QatMethod::kFixed, -127, 127, 0.0517);
  const Shape shape{3, 7, 11, 13};  // 3,003 values
  std::mt19937 rng(5);
  auto fill = [&](const ActQuantizer& q, Tensor& t) {
    t = Tensor(shape);
    std::uniform_real_distribution<double> code(q.lo() - 2.0, q.hi() + 2.0);
    for (int64_t i = 0; i < t.size(); ++i) {
      const double k = code(rng);
      t[i] = static_cast<float>(q.Scale() * (i % 5 == 0 ? std::round(k) + 0.5 : k));  // every fifth a tie
    }
  };
  Tensor xa, xb, xc;
  fill(a, xa);
  fill(b, xb);
  fill(c, xc);
  const TensorD da = xa.Cast<double>(), db = xb.Cast<double>(), dc = xc.Cast<double>();
  QatAdd add({&a, &b, &c}, &out, {false, false, true}, {127, 255, 127});
  QatRequant requant(&b, &out, 255);
  TensorD add_ref, requant_ref;
  add.ForwardReference({&da, &db, &dc}, add_ref);
  requant.ForwardReference({&db}, requant_ref);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    Workspace ws;
    Tensor y;
    add.Forward({&xa, &xb, &xc}, y, pool, ws);
    ASSERT_EQ(y.size(), add_ref.size());
    for (int64_t i = 0; i < y.size(); ++i) ASSERT_EQ(static_cast<double>(y[i]), static_cast<double>(static_cast<float>(add_ref[i]))) << "add " << i;
    requant.Forward({&xb}, y, pool, ws);
    for (int64_t i = 0; i < y.size(); ++i)
      ASSERT_EQ(static_cast<double>(y[i]), static_cast<double>(static_cast<float>(requant_ref[i]))) << "requant " << i;
  }
}

// Every tensor of a trained QAT network but the draw counter "hw_step", in node order, and that
// counter (-1 without hardware noise).
struct NetworkTensors {
  std::vector<float> values;
  float hw_step = -1;
};
NetworkTensors CollectTensors(Built& b) {
  NetworkTensors out;
  for (NetworkNode& node : b.qat->net.nodes())
    node.layer->VisitTensors([&](const std::string& name, Tensor& t) {
      if (name == "hw_step") out.hw_step = t[0];
      else out.values.insert(out.values.end(), t.data(), t.data() + t.size());
    });
  return out;
}

// Hardware-aware training: the noisy steps are reproducible (same seed, same weights, for 1 and 2
// threads), depend on the seed, leave inference exact, and count their draws in "hw_step".
TEST(QatNetwork, HardwareAwareStepsAreReproducibleAndLeaveInferenceExact) {
  const Cifar10Set images = RandomImages(12, 21);
  HardwareAwareParams hw;
  hw.device.programming.kind = ProgrammingNoiseKind::kConstant;
  hw.device.programming.sigma = 0.5;
  hw.device.read.kind = ReadNoiseKind::kConstant;
  hw.device.read.sigma = 0.2;
  hw.crossbar.rows_max = 64;
  auto run = [&](int threads, uint64_t seed) {
    Built b = Build("resnet", 8, 'A', 4, QatMethod::kLsq, 17, 8, QatBatchNorm::kTrain);
    HardwareAwareParams p = hw;
    p.seed = seed;
    for (const std::string& name : MvmLayerNames(b.float_net)) p.layers.emplace_back(name, name == "conv1" ? 0.5 : 1.0);
    EnableHardwareAwareTraining(*b.qat, p, "test");
    TrainSteps(b, images, 2, 0.05, threads);
    ExpectSameAsIntegerEngine(b, images);
    const NetworkTensors t = CollectTensors(b);
    EXPECT_EQ(t.hw_step, 2.0f);
    return t.values;
  };
  const std::vector<float> one = run(1, 5), two = run(2, 5), other = run(2, 6);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(one.data(), other.data(), one.size() * sizeof(float)));
}

// The read-time axis (PCM, read between 1 h and a year, global compensation) keeps the steps
// reproducible for 1 and 2 threads, and the draws differ from reads at the chip's own read time.
TEST(QatNetwork, HardwareAwareReadTimesAreReproducible) {
  const Cifar10Set images = RandomImages(12, 22);
  HardwareAwareParams hw;
  hw.device = DevicePreset("pcm");
  hw.crossbar.rows_max = 64;
  hw.crossbar.read_noise = true;
  hw.crossbar.read_time = 3600;
  auto run = [&](int threads, bool lifetime) {
    Built b = Build("resnet", 8, 'A', 4, QatMethod::kLsq, 17, 8, QatBatchNorm::kTrain);
    HardwareAwareParams p = hw;
    if (lifetime) {
      p.read_times.t_min = 3600;
      p.read_times.t_max = 3.15e7;
    }
    for (const std::string& name : MvmLayerNames(b.float_net)) p.layers.emplace_back(name, 1.0);
    EnableHardwareAwareTraining(*b.qat, p, "test");
    TrainSteps(b, images, 2, 0.05, threads);
    ExpectSameAsIntegerEngine(b, images);
    return CollectTensors(b).values;
  };
  const std::vector<float> one = run(1, true), two = run(2, true), fixed = run(2, false);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(one.data(), fixed.data(), one.size() * sizeof(float)));
}

// A strength schedule's factor 0 makes a step noise-free: the weights after it are bit-identical to a
// step of the same network without hardware noise, and it still counts as a draw. The schedule's
// factors per epoch (the last entry for later epochs).
TEST(QatNetwork, HardwareNoiseFactorZeroIsACleanStepThatCountsItsDraw) {
  const Cifar10Set images = RandomImages(12, 21);
  HardwareAwareParams hw;
  hw.device.programming.kind = ProgrammingNoiseKind::kConstant;
  hw.device.programming.sigma = 0.5;
  hw.crossbar.rows_max = 64;
  auto weights = [&](bool noise, double factor) {
    Built b = Build("resnet", 8, 'A', 4, QatMethod::kLsq, 17, 8, QatBatchNorm::kTrain);
    HardwareAwareParams p = hw;
    for (const std::string& name : MvmLayerNames(b.float_net)) p.layers.emplace_back(name, 1.0);
    if (noise) {
      EnableHardwareAwareTraining(*b.qat, p, "test");
      SetHardwareNoiseFactor(*b.qat, factor);
    }
    TrainSteps(b, images, 2, 0.05, 2);
    const NetworkTensors t = CollectTensors(b);
    EXPECT_EQ(t.hw_step, noise ? 2.0f : -1.0f);
    return t.values;
  };
  const std::vector<float> clean = weights(false, 1), zero = weights(true, 0), full = weights(true, 1);
  ASSERT_EQ(clean.size(), zero.size());
  EXPECT_EQ(0, std::memcmp(clean.data(), zero.data(), clean.size() * sizeof(float)));
  EXPECT_NE(0, std::memcmp(clean.data(), full.data(), clean.size() * sizeof(float)));

  HardwareAwareParams schedule;
  EXPECT_EQ(schedule.EpochFactor(3), 1.0);
  schedule.epoch_factors = {0.5, 1.5, 0};
  EXPECT_EQ(schedule.EpochFactor(0), 0.5);
  EXPECT_EQ(schedule.EpochFactor(1), 1.5);
  EXPECT_EQ(schedule.EpochFactor(2), 0.0);
  EXPECT_EQ(schedule.EpochFactor(7), 0.0);
}

TEST(QatNetwork, HardwareAwareRejectsALayerThatIsNotConvOrLinear) {
  Built b = Build("resnet", 8, 'A', 4, QatMethod::kLsq, 17);
  HardwareAwareParams p;
  p.layers.emplace_back("layer1.0.add", 1.0);
  try {
    EnableHardwareAwareTraining(*b.qat, p, "qat.json: hardware_aware");
    FAIL() << "accepted an add";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'layer1.0.add' is not a conv/linear layer"), std::string::npos) << e.what();
  }
}

TEST(QatNetwork, StepsAreBitIdenticalForOneAndTwoThreads) {
  const Cifar10Set images = RandomImages(19, 3);
  for (QatBatchNorm bn : {QatBatchNorm::kFolded, QatBatchNorm::kTrain}) {
  SCOPED_TRACE(ToString(bn));
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2}) {
    Built b = Build("resnet", 8, 'B', 2, QatMethod::kLsq, 13, 0, bn);
    TrainSteps(b, images, 2, 0.05, threads);
    std::vector<float> all;
    for (NetworkNode& node : b.qat->net.nodes())  // parameters and running statistics
      node.layer->VisitTensors([&](const std::string&, Tensor& t) { all.insert(all.end(), t.data(), t.data() + t.size()); });
    results.push_back(all);
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  EXPECT_EQ(0, std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)));
  }
}

}  // namespace
}  // namespace cimsim

namespace cimsim {
namespace {

// The layer of the gradient checks: a 3→4 3×3 conv (padding 1), 8-bit weights with fixed steps 0.01,
// input on a fixed unsigned 8-bit grid of step 0.02, output on a fixed unsigned 8-bit grid of step 0.01
// or (wide) an int32 grid of step 0.001; BatchNorm kept when batch_norm.
struct SmallConv {
  static Conv2dParams Params() {
    Conv2dParams p;
    p.in_channels = 3;
    p.out_channels = 4;
    p.kernel = 3;
    p.stride = 1;
    p.padding = 1;
    return p;
  }
  static QatMvmConfig Config(bool wide, bool batch_norm) {
    QatMvmConfig c;
    c.conv = Params();
    c.weight_bits = 8;
    c.weight_method = QatMethod::kFixed;
    c.weight_scales.assign(4, 0.01);
    c.wide_output = wide;
    c.batch_norm = batch_norm;
    return c;
  }
  SmallConv(bool wide, bool batch_norm)
      : out(wide ? ActQuantizer(QatMethod::kFixed, -(1 << 30), 1 << 30, 0.001) : ActQuantizer(QatMethod::kFixed, 0, 255, 0.01)),
        layer(Config(wide, batch_norm), &in, &out, !wide) {}
  ActQuantizer in{QatMethod::kFixed, 0, 255, 0.02};
  ActQuantizer out;
  QatMvm layer;
};

// With fixed quantizers and every value inside its range, QatMvm's gradients are the float conv's
// on the dequantized weights (straight-through everywhere).
void CheckQatMvmGradients(bool wide) {
  const Conv2dParams p = SmallConv::Params();
  SmallConv conv(wide, false);
  QatMvm& layer = conv.layer;
  Rng rng(3);
  for (int64_t i = 0; i < layer.weight().size(); ++i) layer.weight()[i] = static_cast<float>(0.3 * rng.Normal());
  for (int64_t i = 0; i < layer.bias().size(); ++i) layer.bias()[i] = static_cast<float>(0.1 * rng.Normal());
  layer.ParamsChanged();
  Tensor x({2, 3, 5, 5});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.02 * rng.Below(200));
  ThreadPool pool(1);
  Workspace ws;
  Tensor y, g({2, 4, 5, 5}), gx;
  layer.ForwardTrain({&x}, y, pool, ws);
  for (int64_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(rng.Normal());
  layer.Backward({&x}, y, g, {&gx}, pool, ws);

  Conv2dParams fp = p;
  fp.bias = true;
  Conv2d ref(fp);
  const std::vector<int16_t> codes = layer.WeightCodes();
  for (int64_t i = 0; i < ref.weight().size(); ++i) ref.weight()[i] = static_cast<float>(0.01 * codes[static_cast<size_t>(i)]);
  const std::vector<int64_t> bias_codes = layer.BiasCodes();
  for (int64_t o = 0; o < 4; ++o) ref.bias()[o] = static_cast<float>(0.01 * 0.02 * static_cast<double>(bias_codes[static_cast<size_t>(o)]));
  Tensor ry, rgx;
  ref.ForwardTrain({&x}, ry, pool, ws);
  if (!wide) {  // the clamp to [0, 255·s]: straight through inside only
    for (int64_t i = 0; i < g.size(); ++i)
      if (!(ry[i] > 0 && ry[i] < 255 * 0.01)) g[i] = 0;
  }
  ref.Backward({&x}, ry, g, {&rgx}, pool, ws);
  ASSERT_EQ(gx.shape(), rgx.shape());
  for (int64_t i = 0; i < gx.size(); ++i) EXPECT_NEAR(gx[i], rgx[i], 1e-4 * (1 + std::abs(rgx[i]))) << i;
  std::vector<Tensor*> grads;
  layer.VisitParams([&](const std::string&, Tensor&, Tensor& grad) { grads.push_back(&grad); });
  for (int64_t i = 0; i < ref.weight_grad().size(); ++i)
    EXPECT_NEAR((*grads[0])[i], ref.weight_grad()[i], 1e-3 * (1 + std::abs(ref.weight_grad()[i]))) << i;
  for (int64_t i = 0; i < ref.bias_grad().size(); ++i)
    EXPECT_NEAR((*grads[1])[i], ref.bias_grad()[i], 1e-3 * (1 + std::abs(ref.bias_grad()[i]))) << i;
}

TEST(QatMvm, GradientsAreTheFloatConvsOnDequantizedValues) {
  CheckQatMvmGradients(true);
  CheckQatMvmGradients(false);
}

// BatchNorm kept: with fixed quantizers, training is the float conv on the dequantized weights (its
// bias unrounded) followed by the float BatchNorm2d in training mode — outputs, running statistics and
// every gradient (γ < 0 in one channel).
void CheckBatchNormKeptGradients(bool wide) {
  const Conv2dParams p = SmallConv::Params();
  SmallConv conv(wide, true);
  QatMvm& layer = conv.layer;
  Rng rng(4);
  for (int64_t i = 0; i < layer.weight().size(); ++i) layer.weight()[i] = static_cast<float>(0.3 * rng.Normal());
  for (int64_t i = 0; i < layer.bias().size(); ++i) layer.bias()[i] = static_cast<float>(0.1 * rng.Normal());
  BatchNorm2d& bn = *layer.batch_norm();
  const float gammas[] = {0.8f, -0.5f, 1.3f, 0.4f};
  for (int o = 0; o < 4; ++o) {
    bn.gamma()[o] = gammas[o];
    bn.beta()[o] = static_cast<float>(0.6 + 0.1 * o);
    bn.running_mean()[o] = static_cast<float>(0.05 * o);
    bn.running_var()[o] = static_cast<float>(0.5 + 0.2 * o);
  }
  layer.ParamsChanged();
  Tensor x({3, 3, 5, 5});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.02 * rng.Below(200));
  ThreadPool pool(1);
  Workspace ws;
  Tensor y, g({3, 4, 5, 5}), gx;
  layer.ForwardTrain({&x}, y, pool, ws);
  for (int64_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(rng.Normal());

  Conv2dParams fp = p;
  fp.bias = true;
  Conv2d ref(fp);
  const std::vector<int16_t> codes = layer.WeightCodes();  // deployed: sign(a)·codes of v
  const int64_t K = ref.weight().size() / 4;
  for (int64_t i = 0; i < ref.weight().size(); ++i)
    ref.weight()[i] = static_cast<float>(0.01 * (gammas[i / K] < 0 ? -1 : 1) * codes[static_cast<size_t>(i)]);
  for (int64_t o = 0; o < 4; ++o) ref.bias()[o] = layer.bias()[o];
  BatchNorm2d ref_bn(4);
  for (int o = 0; o < 4; ++o) {
    ref_bn.gamma()[o] = gammas[o];
    ref_bn.beta()[o] = bn.beta()[o];
    ref_bn.running_mean()[o] = static_cast<float>(0.05 * o);
    ref_bn.running_var()[o] = static_cast<float>(0.5 + 0.2 * o);
  }
  Tensor rz, ry, rgz, rgx;
  ref.ForwardTrain({&x}, rz, pool, ws);
  ref_bn.ForwardTrain({&rz}, ry, pool, ws);
  for (int o = 0; o < 4; ++o) {
    EXPECT_NEAR(bn.running_mean()[o], ref_bn.running_mean()[o], 1e-5) << o;
    EXPECT_NEAR(bn.running_var()[o], ref_bn.running_var()[o], 1e-5) << o;
  }
  const double s_out = wide ? 0.001 : 0.01;
  int64_t differ = 0;
  for (int64_t i = 0; i < y.size(); ++i) {
    const double expected = s_out * std::clamp(std::round(ry[i] / s_out), wide ? -1e9 : 0.0, wide ? 1e9 : 255.0);
    differ += std::abs(y[i] - expected) > 0.5 * s_out;  // a code apart only on a near-tie
  }
  EXPECT_LE(differ, 2) << "output codes that differ from the float layers' of " << y.size();
  layer.Backward({&x}, y, g, {&gx}, pool, ws);
  if (!wide)
    for (int64_t i = 0; i < g.size(); ++i)
      if (!(ry[i] > 0 && ry[i] < 255 * 0.01)) g[i] = 0;
  ref_bn.Backward({&rz}, ry, g, {&rgz}, pool, ws);
  ref.Backward({&x}, rz, rgz, {&rgx}, pool, ws);
  for (int64_t i = 0; i < gx.size(); ++i) EXPECT_NEAR(gx[i], rgx[i], 1e-3 * (1 + std::abs(rgx[i]))) << i;
  std::map<std::string, Tensor*> grads;
  layer.VisitParams([&](const std::string& name, Tensor&, Tensor& grad) { grads[name] = &grad; });
  ASSERT_TRUE(grads.count("bn_weight") && grads.count("bn_bias"));
  for (int64_t i = 0; i < ref.weight_grad().size(); ++i)
    EXPECT_NEAR((*grads["weight"])[i], ref.weight_grad()[i], 1e-3 * (1 + std::abs(ref.weight_grad()[i]))) << i;
  for (int64_t o = 0; o < 4; ++o) {
    EXPECT_NEAR((*grads["bias"])[o], ref.bias_grad()[o], 1e-3 * (1 + std::abs(ref.bias_grad()[o]))) << o;
    EXPECT_NEAR((*grads["bn_weight"])[o], ref_bn.gamma_grad()[o], 1e-3 * (1 + std::abs(ref_bn.gamma_grad()[o]))) << o;
    EXPECT_NEAR((*grads["bn_bias"])[o], ref_bn.beta_grad()[o], 1e-3 * (1 + std::abs(ref_bn.beta_grad()[o]))) << o;
  }
}

TEST(QatMvm, BatchNormKeptGradientsAreTheFloatConvAndBatchNorms) {
  CheckBatchNormKeptGradients(true);
  CheckBatchNormKeptGradients(false);
}

}  // namespace
}  // namespace cimsim
