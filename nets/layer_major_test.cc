// Layer-major execution (IntegerNetwork::SetImagesPerCall): groups of B images run node by node with
// one MvmCore call per node and group, whose context carries one segment per image. The logits must
// be identical to image-major execution for every B and thread count — with the exact core and with a
// noisy crossbar (each image's reads draw from its own stream) — and the cores must really see one
// call per group with B segments.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <vector>

#include "devices/device_presets.h"
#include "nets/integer_network.h"
#include "nets/quant_test_util.h"
#include "sim/crossbar_core.h"

namespace cimsim {
namespace {

using testing::QuantizedRandomNet;
using testing::RandomImages;
using testing::SpecFor;
using testing::Uniform;

// Counts calls and segments, then forwards to the exact core.
class CountingCore : public MvmCore {
 public:
  CountingCore(std::unique_ptr<MvmCore> inner, std::atomic<int64_t>& calls, std::atomic<int64_t>& segments)
      : inner_(std::move(inner)), calls_(calls), segments_(segments) {}
  std::string_view Name() const override { return inner_->Name(); }
  int64_t Outputs() const override { return inner_->Outputs(); }
  int64_t Depth() const override { return inner_->Depth(); }
  CodeRange InputRange() const override { return inner_->InputRange(); }
  void Multiply(const InputCodes& x, int32_t* y, int64_t ldy, MvmContext& ctx) const override {
    ++calls_;
    segments_ += ctx.segments.empty() ? 1 : static_cast<int64_t>(ctx.segments.size());
    inner_->Multiply(x, y, ldy, ctx);
  }

 private:
  std::unique_ptr<MvmCore> inner_;
  std::atomic<int64_t>& calls_;
  std::atomic<int64_t>& segments_;
};

QuantizedModel Model() {
  const ModelSpec spec = SpecFor("resnet", 8, 'A');
  Network net = BuildNetwork(spec);
  return QuantizedRandomNet(spec, net, Uniform(net, 8, 8), 7);
}

MvmCoreFactory NoisyCrossbar() {
  auto device = std::make_shared<const DeviceModel>(DevicePreset("pcm"));
  return [device](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    CrossbarParams p;
    p.slice_bits = 4;
    p.read_time = 3600;
    Rng program = Rng(3).Derive(static_cast<uint64_t>(index));
    return std::make_unique<CrossbarCore>(std::span<const int16_t>(node.weights), node.out_channels, node.Depth(),
                                          node.weight_bits, node.InputMin(), node.InputMax(), *device, p, program);
  };
}

std::vector<int32_t> Logits(IntegerNetwork& net, const Cifar10Set& images, int64_t n, int threads, int64_t per_call) {
  ThreadPool pool(threads);
  net.SetImagesPerCall(per_call);
  std::vector<int32_t> logits(static_cast<size_t>(n * net.model().num_classes), -1);
  net.Forward(images.image(0), n, logits.data(), pool, 40);
  return logits;
}

TEST(LayerMajorTest, LogitsDoNotDependOnImagesPerCallOrThreads) {
  const QuantizedModel model = Model();
  const Cifar10Set images = RandomImages(7, 4);
  for (const bool noisy : {false, true}) {
    SCOPED_TRACE(noisy ? "noisy crossbar" : "exact core");
    IntegerNetwork net(model, noisy ? NoisyCrossbar() : MvmCoreFactory(MakeIdealCore), "model", 5);
    const std::vector<int32_t> image_major = Logits(net, images, 7, 1, 1);
    // Groups of 3 (3 + 3 + 1: a short last group) and of 16 (one group larger than the images).
    for (int threads : {1, 2})
      for (int64_t per_call : {3, 16}) {
        SCOPED_TRACE(std::to_string(threads) + " threads, " + std::to_string(per_call) + " images per call");
        EXPECT_EQ(Logits(net, images, 7, threads, per_call), image_major);
      }
  }
  // The noise is real: another noise seed changes some logits.
  IntegerNetwork other(model, NoisyCrossbar(), "model", 6);
  IntegerNetwork base(model, NoisyCrossbar(), "model", 5);
  EXPECT_NE(Logits(other, images, 7, 1, 4), Logits(base, images, 7, 1, 4));
}

TEST(LayerMajorTest, OneCoreCallPerNodeAndGroupWithOneSegmentPerImage) {
  const QuantizedModel model = Model();
  const Cifar10Set images = RandomImages(10, 2);
  std::atomic<int64_t> calls{0}, segments{0};
  int64_t mvm_nodes = 0;
  for (const QNode& n : model.nodes) mvm_nodes += n.kind == QNodeKind::kConv || n.kind == QNodeKind::kLinear;
  IntegerNetwork net(model, [&](const QNode& node, int index) -> std::unique_ptr<MvmCore> {
    return std::make_unique<CountingCore>(MakeIdealCore(node, index), calls, segments);
  });
  Logits(net, images, 10, 1, 4);   // groups of 4, 4 and 2 images
  EXPECT_EQ(calls.load(), 3 * mvm_nodes);
  EXPECT_EQ(segments.load(), 10 * mvm_nodes);
  EXPECT_THROW(net.SetImagesPerCall(0), std::invalid_argument);
}

TEST(LayerMajorTest, SegmentsMustTileTheCall) {
  const std::vector<int16_t> codes(12, 1);
  const InputCodes x = InputCodes::VectorMajor(codes.data(), 3, 4);
  int32_t y[4];
  const MvmSegment gap[] = {{0, 1, nullptr, 0}, {2, 2, nullptr, 1}};
  const MvmSegment short_of[] = {{0, 3, nullptr, 0}};
  for (const auto& segments : {std::span<const MvmSegment>(gap), std::span<const MvmSegment>(short_of)}) {
    MvmContext ctx;
    ctx.segments = segments;
    EXPECT_THROW(ForEachSegment(x, y, ctx, [](const InputCodes&, int32_t*, MvmContext&) {}), std::invalid_argument);
  }
}

}  // namespace
}  // namespace cimsim
