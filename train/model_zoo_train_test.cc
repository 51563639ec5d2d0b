// Every architecture cimsim builds trains (a few SGD steps lower the loss on a fixed batch) and
// becomes a QAT network whose export the integer engine runs with the same logits.
#include <gtest/gtest.h>

#include "nets/init.h"
#include "nets/integer_network.h"
#include "nets/quant_test_util.h"
#include "train/qat_network.h"
#include "train/sgd.h"
#include "train/softmax_cross_entropy.h"
#include "train/train_graph.h"

namespace cimsim {
namespace {

ModelSpec Spec(const std::string& arch, int depth, char shortcut, const std::string& vgg = "") {
  ModelSpec s;
  s.arch = arch;
  s.depth = depth;
  s.shortcut = shortcut;
  s.vgg_config = vgg;
  return s;
}

std::vector<ModelSpec> Zoo() {
  return {Spec("resnet", 20, 'A'), Spec("resnet", 8, 'B'), Spec("resnet", 18, 'B'), Spec("vgg", 0, 'A', "tiny")};
}

TEST(ModelZooTraining, SgdStepsLowerTheLossOnAFixedBatch) {
  const Cifar10Set images = testing::RandomImages(8, 21);
  for (const ModelSpec& spec : Zoo()) {
    SCOPED_TRACE(spec.Describe());
    Network net = BuildNetwork(spec);
    InitializeKaiming(net, 2);
    const Normalizer norm(spec.input_norm);
    Tensor x({images.size(), kCifarChannels, kCifarHeight, kCifarWidth});
    for (int64_t i = 0; i < images.size(); ++i) norm.Apply(images.image(i), x.data() + i * kCifarImageBytes);
    std::vector<int32_t> labels(images.labels.begin(), images.labels.end());
    TrainGraph graph(net);
    std::vector<SgdEntry> entries;
    for (const ParamRef& p : graph.Params()) entries.push_back({p.name, p.param, p.grad});
    Sgd sgd(entries, SgdParams{});
    ThreadPool pool(2);
    Tensor grad;
    double first = 0, last = 0;
    for (int step = 0; step < 4; ++step) {
      const LossResult r = SoftmaxCrossEntropy(graph.ForwardTrain(x, pool), labels, &grad);
      if (step == 0) first = r.loss;
      last = r.loss;
      graph.Backward(grad, pool);
      sgd.Step(0.02);
    }
    EXPECT_LT(last, first);
  }
}

TEST(ModelZooTraining, QatExportEqualsTheIntegerEngine) {
  const Cifar10Set images = testing::RandomImages(2, 22);
  for (const ModelSpec& spec : {Spec("resnet", 18, 'B'), Spec("vgg", 0, 'A', "tiny")}) {
    SCOPED_TRACE(spec.Describe());
    Network net = BuildNetwork(spec);
    testing::RandomizeNetwork(net, 4);
    // Trained-like BatchNorm scales (RandomizeNetwork's can be near zero, which no quantizer supports).
    for (NetworkNode& n : net.nodes())
      n.layer->VisitTensors([](const std::string& suffix, Tensor& t) {
        if (suffix == "weight" && t.rank() == 1)
          for (int64_t i = 0; i < t.size(); ++i) t[i] = 0.5f + 0.5f * std::abs(t[i]);
      });
    std::vector<ResolvedLayer> layers = testing::Uniform(net, 4, 4);
    layers.front().params.weight_bits = layers.front().params.activation_bits = 8;
    layers.back().params.weight_bits = layers.back().params.activation_bits = 8;
    const Cifar10Set calib = testing::RandomImages(4, 5);
    QuantizeOptions o;
    o.sample_capacity = 4096;
    const QuantizedModel base = QuantizeNetwork(net, spec, layers, calib, testing::FirstN(4), o, nullptr);
    std::map<std::string, QatMethod> methods;
    for (const ResolvedLayer& l : layers) methods[l.name] = QatMethod::kLsq;
    std::unique_ptr<QatNetwork> qat = BuildQatNetwork(base, net, methods);
    const QuantizedModel exported = ExportQuantizedModel(*qat, "test", "test");
    IntegerNetwork engine(exported);
    ThreadPool pool(2);
    const int64_t k = exported.num_classes;
    std::vector<int32_t> codes(static_cast<size_t>(images.size() * k));
    engine.Forward(images.pixels.data(), images.size(), codes.data(), pool);
    const Normalizer input = Normalizer::QuantizedInput(spec.input_norm, exported.input_scale, exported.input_lut);
    Tensor x({images.size(), kCifarChannels, kCifarHeight, kCifarWidth}), logits;
    for (int64_t i = 0; i < images.size(); ++i) input.Apply(images.image(i), x.data() + i * kCifarImageBytes);
    qat->net.Forward(x, logits, pool);
    const double s = exported.nodes.back().out_scale;
    for (int64_t i = 0; i < images.size() * k; ++i) EXPECT_EQ(std::lround(logits[i] / s), codes[static_cast<size_t>(i)]) << i;
  }
}

}  // namespace
}  // namespace cimsim
