// TrainGraph with its ReLUs fused into the BatchNorms and residual adds before them (train_graph.h)
// against the same graph with every node run on its own: logits, every parameter gradient, and after
// SGD steps every tensor of the state_dict (running statistics included) bit for bit, for the
// architectures cimsim trains, with batch and with frozen BatchNorm statistics, on 1 and 2 threads.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nets/batch_norm.h"
#include "nets/builders.h"
#include "nets/conv2d.h"
#include "nets/elementwise.h"
#include "nets/init.h"
#include "nets/test_util.h"
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

bool SameBits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), static_cast<size_t>(a.size()) * sizeof(float)) == 0;
}

void FreezeBatchNorms(Network& net) {
  for (NetworkNode& node : net.nodes())
    if (auto* bn = dynamic_cast<BatchNorm2d*>(node.layer.get())) bn->set_frozen_statistics(true);
}

struct ZooCase {
  ModelSpec spec;
  int64_t fused;  // ReLUs the graph fuses
};

TEST(TrainGraphFusedRelu, StepsEqualTheUnfusedGraphBitForBit) {
  // ResNet-20: the stem's and every block's two ReLUs (1 + 9 × 2); ResNet-8 with projection
  // shortcuts: 1 + 3 × 2; the tiny VGG: one per conv's BatchNorm.
  const std::vector<ZooCase> zoo = {{Spec("resnet", 20, 'A'), 19}, {Spec("resnet", 8, 'B'), 7},
                                    {Spec("vgg", 0, 'A', "tiny"), -1}};
  const Tensor x = testing::RandomTensor({10, 3, 32, 32}, 5);
  const std::vector<int32_t> labels = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (const ZooCase& zc : zoo) {
    for (const bool frozen : {false, true}) {
      for (const int threads : {1, 2}) {
        SCOPED_TRACE(zc.spec.Describe() + (frozen ? ", frozen statistics, " : ", batch statistics, ") +
                     std::to_string(threads) + " threads");
        Network separate_net = BuildNetwork(zc.spec), fused_net = BuildNetwork(zc.spec);
        InitializeKaiming(separate_net, 3);
        InitializeKaiming(fused_net, 3);
        if (frozen) {
          testing::RandomizeNetwork(separate_net, 4);  // running statistics that are not 0 and 1
          testing::RandomizeNetwork(fused_net, 4);
          FreezeBatchNorms(separate_net);
          FreezeBatchNorms(fused_net);
        }
        TrainGraph separate(separate_net, false), fused(fused_net);
        EXPECT_EQ(separate.FusedRelus(), 0);
        if (zc.fused >= 0) {
          EXPECT_EQ(fused.FusedRelus(), zc.fused);
        } else {
          EXPECT_GT(fused.FusedRelus(), 0);
        }
        std::vector<SgdEntry> separate_entries, fused_entries;
        for (const ParamRef& p : separate.Params()) separate_entries.push_back({p.name, p.param, p.grad});
        for (const ParamRef& p : fused.Params()) fused_entries.push_back({p.name, p.param, p.grad});
        Sgd separate_sgd(separate_entries, SgdParams{}), fused_sgd(fused_entries, SgdParams{});
        ThreadPool pool(threads);
        Tensor separate_grad, fused_grad;
        for (int step = 0; step < 3; ++step) {
          const Tensor& separate_logits = separate.ForwardTrain(x, pool);
          const Tensor& fused_logits = fused.ForwardTrain(x, pool);
          ASSERT_TRUE(SameBits(separate_logits, fused_logits)) << "logits of step " << step;
          SoftmaxCrossEntropy(separate_logits, labels, &separate_grad);
          SoftmaxCrossEntropy(fused_logits, labels, &fused_grad);
          separate.Backward(separate_grad, pool);
          fused.Backward(fused_grad, pool);
          for (size_t k = 0; k < separate_entries.size(); ++k)
            ASSERT_TRUE(SameBits(*separate_entries[k].grad, *fused_entries[k].grad))
                << "gradient of " << separate_entries[k].name << " at step " << step;
          separate_sgd.Step(0.05);
          fused_sgd.Step(0.05);
        }
        const std::vector<NamedTensor> a = separate_net.StateDict(), b = fused_net.StateDict();
        ASSERT_EQ(a.size(), b.size());
        for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(SameBits(*a[k].tensor, *b[k].tensor)) << a[k].name;
      }
    }
  }
}

// conv → bn → relu, and the BatchNorm's output also feeds the add after the ReLU; then the add's ReLU.
Network SharedBatchNormNet() {
  Network net;
  Conv2dParams conv;
  conv.in_channels = 3;
  conv.out_channels = 4;
  int x = net.Add("conv", std::make_unique<Conv2d>(conv), {Network::kInput});
  const int bn = net.Add("bn", std::make_unique<BatchNorm2d>(4), {x});
  const int relu = net.Add("relu", std::make_unique<Relu>(), {bn});
  x = net.Add("add", std::make_unique<Add>(), {relu, bn});
  net.Add("relu2", std::make_unique<Relu>(), {x});
  InitializeKaiming(net, 1);
  return net;
}

TEST(TrainGraphFusedRelu, AReluWhoseInputHasAnotherConsumerRunsOnItsOwn) {
  // The first ReLU cannot take the BatchNorm's output over (the add reads it too): only the add's
  // ReLU is fused, and the step equals the unfused graph's.
  Network net = SharedBatchNormNet(), reference_net = SharedBatchNormNet();
  TrainGraph graph(net), reference(reference_net, false);
  EXPECT_EQ(graph.FusedRelus(), 1);
  ThreadPool pool(2);
  const Tensor input = testing::RandomTensor({3, 3, 6, 6}, 9);
  const Tensor g = testing::RandomTensor({3, 4, 6, 6}, 10);
  EXPECT_TRUE(SameBits(graph.ForwardTrain(input, pool), reference.ForwardTrain(input, pool)));
  graph.Backward(g, pool);
  reference.Backward(g, pool);
  const std::vector<ParamRef> p = graph.Params(), q = reference.Params();
  ASSERT_EQ(p.size(), q.size());
  for (size_t k = 0; k < p.size(); ++k) EXPECT_TRUE(SameBits(*p[k].grad, *q[k].grad)) << p[k].name;
}

}  // namespace
}  // namespace cimsim
