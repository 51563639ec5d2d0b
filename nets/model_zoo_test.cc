// The model zoo beyond ResNet-6n+2: CIFAR ResNet-18/34 (4 stages, 64–512 planes, option-B shortcuts,
// kuangliu/pytorch-cifar naming) and the "tiny" VGG preset. Parameter and MAC counts against the
// published/hand-worked figures, state_dict names and shapes, output shapes, fast float32 forward
// against the float64 reference, ModelSpec validation and description, save/load round trips
// (including the file conventions: "resnet18" in the arch name, shortcut attribute optional, an
// explicit "A" rejected), and W8A8 post-training quantization with the integer engine equal to its
// slow reference. Kept fast: ResNet-34 (1.16 GMAC per image) is only built, counted and shape-checked;
// the forward/quantization tests run ResNet-18 on one or two images.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "common/error.h"
#include "common/test_support.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/integer_network.h"
#include "nets/integer_reference.h"
#include "nets/quant_test_util.h"
#include "nets/quantized_checkpoint.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;
using testing::MaxRelativeError;
using testing::RandomImages;
using testing::RandomizeNetwork;
using testing::RandomTensor;
using testing::Uniform;

ModelSpec ResNetSpec(int depth) {
  ModelSpec spec;
  spec.arch = "resnet";
  spec.depth = depth;
  spec.shortcut = 'B';
  return spec;
}

ModelSpec ImageNetResNetSpec(int depth, int num_classes = 10) {
  ModelSpec spec = ResNetSpec(depth);
  spec.stem = "imagenet";
  spec.num_classes = num_classes;
  return spec;
}

ModelSpec TinyVggSpec() {
  ModelSpec spec;
  spec.arch = "vgg";
  spec.vgg_config = "tiny";
  return spec;
}

int64_t CountParameters(Network& net) {
  int64_t n = 0;
  for (const NamedTensor& t : net.StateDict())
    if (t.name.find("running_") == std::string::npos) n += t.tensor->size();
  return n;
}

std::map<std::string, Shape> Shapes(Network& net) {
  std::map<std::string, Shape> out;
  for (const NamedTensor& t : net.StateDict()) out[t.name] = t.tensor->shape();
  return out;
}

// Each (name, shape) of `expected` is in the state dict `sd` with that shape.
void ExpectShapes(const std::map<std::string, Shape>& sd, const std::vector<std::pair<std::string, Shape>>& expected) {
  for (const auto& [name, shape] : expected) {
    const auto it = sd.find(name);
    ASSERT_NE(it, sd.end()) << name;
    EXPECT_EQ(it->second, shape) << name;
  }
}

Shape NodeShape(const Network& net, const std::string& name, const Shape& input) {
  const int node = net.Find(name);
  EXPECT_GE(node, 0) << name;
  return node < 0 ? Shape{} : net.NodeShapes(input)[static_cast<size_t>(node)];
}

// ---- counts --------------------------------------------------------------------------------------

TEST(ModelZoo, ResNet18CountsMatchTheKnownFigures) {
  Network net = BuildNetwork(ResNetSpec(18));
  // The figure every CIFAR ResNet-18 (kuangliu/pytorch-cifar) reports for 10 classes.
  EXPECT_EQ(CountParameters(net), 11173962);
  // MACs: conv1 27·64·1024 = 1,769,472; layer1 4 × 36,864·1024 = 150,994,944; layers 2–4 each
  // 18,874,368 (first conv, stride 2) + 3 × 37,748,736 + 2,097,152 (1×1 shortcut) = 134,217,728;
  // linear 5,120 → 555,422,720 per 32×32 image.
  EXPECT_EQ(net.MacsPerImage({3, 32, 32}), 555422720);
  // state_dict: conv1 + bn1 (4) + 8 blocks × (2 convs + 2 × 4 BN) + 3 shortcuts × (1 + 4) + linear 2.
  EXPECT_EQ(net.StateDict().size(), 1u + 4u + 8u * 10u + 3u * 5u + 2u);
}

TEST(ModelZoo, ResNet34CountsMatchTheKnownFigures) {
  Network net = BuildNetwork(ResNetSpec(34));
  EXPECT_EQ(CountParameters(net), 21282122);
  // conv1 1,769,472; layer1 6 × 37,748,736; layer2 18,874,368 + 7 × 37,748,736 + 2,097,152;
  // layer3 18,874,368 + 11 × 37,748,736 + 2,097,152; layer4 18,874,368 + 5 × 37,748,736 + 2,097,152;
  // linear 5,120 → 1,159,402,496 (the "1.16 GFLOPs" of the literature, counted as MACs).
  EXPECT_EQ(net.MacsPerImage({3, 32, 32}), 1159402496);
  EXPECT_EQ(net.StateDict().size(), 1u + 4u + 16u * 10u + 3u * 5u + 2u);
}

// torchvision's resnet18 / resnet34 (1000 classes): 11,689,512 and 21,797,672 parameters; ResNet-18's
// MACs at 224 × 224 (conv and fc): conv1 147·64·112² = 118,013,952; layer1 4 × 576·64·56² =
// 462,422,016; layers 2–4 each 57,802,752 (first conv) + 3 × 115,605,504 + 6,422,528 (downsample) =
// 411,041,792; fc 512,000 → 1,814,073,344 (the "1.8 GFLOPs" of the literature, counted as MACs).
TEST(ModelZoo, ImageNetResNetCountsMatchTorchvision) {
  Network r18 = BuildNetwork(ImageNetResNetSpec(18, 1000));
  EXPECT_EQ(CountParameters(r18), 11689512);
  EXPECT_EQ(r18.MacsPerImage({3, 224, 224}), 1814073344);
  Network r34 = BuildNetwork(ImageNetResNetSpec(34, 1000));
  EXPECT_EQ(CountParameters(r34), 21797672);
  // 10 classes: fc 512·10 + 10 instead of 512·1000 + 1000.
  Network small = BuildNetwork(ImageNetResNetSpec(18));
  EXPECT_EQ(CountParameters(small), 11689512 - 513000 + 5130);
}

TEST(ModelZoo, ImageNetResNetNamesAndShapesAreTorchvisions) {
  Network net = BuildNetwork(ImageNetResNetSpec(18, 1000));
  const std::map<std::string, Shape> sd = Shapes(net);
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"conv1.weight", {64, 3, 7, 7}},
      {"layer1.1.conv2.weight", {64, 64, 3, 3}},
      {"layer2.0.downsample.0.weight", {128, 64, 1, 1}},
      {"layer2.0.downsample.1.running_var", {128}},
      {"layer4.0.downsample.0.weight", {512, 256, 1, 1}},
      {"fc.weight", {1000, 512}},
      {"fc.bias", {1000}},
  };
  ExpectShapes(sd, expected);
  for (const std::string absent : {"linear.weight", "layer2.0.shortcut.0.weight", "layer1.0.downsample.0.weight"})
    EXPECT_EQ(sd.count(absent), 0u) << absent;
  // 224: 112 after conv1, 56 after the pool, 7 at the end; 64: 32, 16, 2.
  for (const auto& [side, pooled, last] : {std::tuple<int64_t, int64_t, int64_t>{224, 56, 7}, {64, 16, 2}}) {
    const Shape input{1, 3, side, side};
    EXPECT_EQ(NodeShape(net, "relu", input), (Shape{1, 64, side / 2, side / 2}));
    EXPECT_EQ(NodeShape(net, "maxpool", input), (Shape{1, 64, pooled, pooled}));
    EXPECT_EQ(NodeShape(net, "layer4.1.relu2", input), (Shape{1, 512, last, last}));
    EXPECT_EQ(net.NodeShapes(input).back(), (Shape{1, 1000}));
  }
}

TEST(ModelZoo, TinyVggCountsByHand) {
  Network net = BuildNetwork(TinyVggSpec());
  // "32,M,64,M,128,M": conv 3→32 (864 + 32) + BN 64; conv 32→64 (18,432 + 64) + BN 128;
  // conv 64→128 (73,728 + 128) + BN 256; classifier 128·10 + 10 → 94,986.
  EXPECT_EQ(CountParameters(net), 94986);
  // 864·32·32 + 18,432·16·16 + 73,728·8·8 + 1,280 = 10,323,200.
  EXPECT_EQ(net.MacsPerImage({3, 32, 32}), 10323200);
  // The preset and its spelled-out list build the same network.
  Network spelled = BuildVgg("32,M,64,M,128,M", 10);
  EXPECT_EQ(Shapes(net), Shapes(spelled));
  EXPECT_EQ(ExpandVggConfig("tiny"), "32,M,64,M,128,M");
  EXPECT_EQ(ExpandVggConfig("8,M,16"), "8,M,16");
}

// ---- names and shapes ----------------------------------------------------------------------------

TEST(ModelZoo, ResNet18StateDictFollowsThePyTorchPort) {
  Network net = BuildNetwork(ResNetSpec(18));
  const std::map<std::string, Shape> sd = Shapes(net);
  const std::vector<std::pair<std::string, Shape>> expected = {
      {"conv1.weight", {64, 3, 3, 3}},
      {"bn1.running_var", {64}},
      {"layer1.0.conv1.weight", {64, 64, 3, 3}},
      {"layer2.0.conv1.weight", {128, 64, 3, 3}},
      {"layer2.0.shortcut.0.weight", {128, 64, 1, 1}},
      {"layer2.0.shortcut.1.weight", {128}},
      {"layer2.0.shortcut.1.running_mean", {128}},
      {"layer3.0.shortcut.0.weight", {256, 128, 1, 1}},
      {"layer4.0.shortcut.0.weight", {512, 256, 1, 1}},
      {"layer4.1.conv2.weight", {512, 512, 3, 3}},
      {"layer4.1.bn2.bias", {512}},
      {"linear.weight", {10, 512}},
      {"linear.bias", {10}},
  };
  ExpectShapes(sd, expected);
  // No conv biases, no shortcut where the shape is kept, no fifth stage or third block.
  for (const std::string absent : {"conv1.bias", "layer1.0.shortcut.0.weight", "layer2.1.shortcut.0.weight",
                                   "layer1.2.conv1.weight", "layer5.0.conv1.weight", "layer1.0.conv1.bias"})
    EXPECT_EQ(sd.count(absent), 0u) << absent;
  EXPECT_EQ(net.StateDict().front().name, "conv1.weight");
  EXPECT_EQ(net.StateDict().back().name, "linear.bias");
}

TEST(ModelZoo, ResNet34HasTheDeeperStages) {
  Network net = BuildNetwork(ResNetSpec(34));
  const std::map<std::string, Shape> sd = Shapes(net);
  for (const std::string present : {"layer1.2.conv2.weight", "layer2.3.conv2.weight", "layer3.5.conv2.weight",
                                    "layer4.2.conv2.weight", "layer3.0.shortcut.0.weight"})
    EXPECT_EQ(sd.count(present), 1u) << present;
  for (const std::string absent : {"layer1.3.conv1.weight", "layer2.4.conv1.weight", "layer3.6.conv1.weight",
                                   "layer4.3.conv1.weight", "layer3.1.shortcut.0.weight"})
    EXPECT_EQ(sd.count(absent), 0u) << absent;
  EXPECT_EQ(sd.at("layer3.5.conv2.weight"), (Shape{256, 256, 3, 3}));
}

TEST(ModelZoo, OutputShapes) {
  const Shape input{2, 3, 32, 32};
  for (int depth : {18, 34}) {
    SCOPED_TRACE(depth);
    Network net = BuildNetwork(ResNetSpec(depth));
    EXPECT_EQ(net.NodeShapes(input).back(), (Shape{2, 10}));
    EXPECT_EQ(NodeShape(net, "relu", input), (Shape{2, 64, 32, 32}));  // no max pool after the stem
    EXPECT_EQ(NodeShape(net, "layer1.0.relu2", input), (Shape{2, 64, 32, 32}));
    EXPECT_EQ(NodeShape(net, "layer2.0.relu2", input), (Shape{2, 128, 16, 16}));
    EXPECT_EQ(NodeShape(net, "layer3.0.relu2", input), (Shape{2, 256, 8, 8}));
    EXPECT_EQ(NodeShape(net, "layer4.1.relu2", input), (Shape{2, 512, 4, 4}));
    EXPECT_EQ(NodeShape(net, "avgpool", input), (Shape{2, 512}));
  }
  Network hundred = BuildNetwork([] { ModelSpec s = ResNetSpec(18); s.num_classes = 100; return s; }());
  EXPECT_EQ(hundred.NodeShapes(input).back(), (Shape{2, 100}));
  Network vgg = BuildNetwork(TinyVggSpec());
  EXPECT_EQ(NodeShape(vgg, "features.0", input), (Shape{2, 32, 32, 32}));
  EXPECT_EQ(NodeShape(vgg, "features.3", input), (Shape{2, 32, 16, 16}));   // M
  EXPECT_EQ(NodeShape(vgg, "features.11", input), (Shape{2, 128, 4, 4}));   // last M
  EXPECT_EQ(NodeShape(vgg, "avgpool", input), (Shape{2, 128}));
  EXPECT_EQ(vgg.NodeShapes(input).back(), (Shape{2, 10}));
}

// ---- float forward -------------------------------------------------------------------------------

// side: the image size (the float64 reference is slow: ResNet-18 runs on 16×16 images, which its
// global average pool accepts, to keep the sanitizer build of the tests short).
void CheckAgainstReference(Network& net, double tolerance, int64_t side = 32) {
  const Tensor x = RandomTensor({1, 3, side, side}, 31);
  ThreadPool pool(2);
  Tensor y;
  net.Forward(x, y, pool);
  ASSERT_EQ(y.shape(), (Shape{1, 10}));
  const TensorD ref = net.ForwardReference(x.Cast<double>());
  EXPECT_LT(MaxRelativeError(y, ref), tolerance);
}

TEST(ModelZoo, ResNet18FastForwardMatchesReference) {
  Network net = BuildNetwork(ResNetSpec(18));
  RandomizeNetwork(net, 41);
  CheckAgainstReference(net, 1e-4, 16);
}

TEST(ModelZoo, ImageNetResNet18FastForwardMatchesReference) {
  Network net = BuildNetwork(ImageNetResNetSpec(18));
  RandomizeNetwork(net, 43);
  CheckAgainstReference(net, 1e-4, 40);  // 40 → 20 → 10 (pool) → 2 after layer4 (odd sides on the way)
}

TEST(ModelZoo, TinyVggFastForwardMatchesReference) {
  Network net = BuildNetwork(TinyVggSpec());
  RandomizeNetwork(net, 42);
  CheckAgainstReference(net, 1e-4);
}

// ---- ModelSpec -----------------------------------------------------------------------------------

TEST(ModelZoo, SpecValidationAndDescription) {
  EXPECT_NO_THROW(ResNetSpec(18).Validate("m.h5"));
  EXPECT_NO_THROW(ResNetSpec(34).Validate("m.h5"));
  EXPECT_NO_THROW(TinyVggSpec().Validate("m.h5"));
  EXPECT_EQ(ResNetSpec(18).Describe(), "resnet18 (shortcut B, 10 classes)");
  EXPECT_EQ(ResNetSpec(34).Describe(), "resnet34 (shortcut B, 10 classes)");
  EXPECT_EQ(TinyVggSpec().Describe(), "vgg tiny [32,M,64,M,128,M] (10 classes)");
  ModelSpec listed = TinyVggSpec();
  listed.vgg_config = "8,M,16";
  EXPECT_EQ(listed.Describe(), "vgg [8,M,16] (10 classes)");

  ModelSpec a18 = ResNetSpec(18);
  a18.shortcut = 'A';
  std::string msg = InputErrorOf([&] { a18.Validate("m.h5"); });
  EXPECT_TRUE(HasPart(msg, "m.h5"));
  EXPECT_TRUE(HasPart(msg, "'shortcut' = 'A'"));
  EXPECT_TRUE(HasPart(msg, "ResNet-18 always uses option-B shortcuts"));
  EXPECT_THROW(BuildCifarResNet(34, 'A', 10), std::invalid_argument);
  EXPECT_THROW(BuildFourStageCifarResNet(20, 10), std::invalid_argument);

  for (int depth : {16, 19, 24}) {
    msg = InputErrorOf([&] { ResNetSpec(depth).Validate("m.h5"); });
    EXPECT_TRUE(HasPart(msg, "'depth' = " + std::to_string(depth)));
    EXPECT_TRUE(HasPart(msg, "18 or 34"));
  }
  EXPECT_EQ(ImageNetResNetSpec(18).Describe(), "resnet18 (ImageNet stem, shortcut B, 10 classes)");
  ModelSpec stem20 = ResNetSpec(20);
  stem20.stem = "imagenet";
  msg = InputErrorOf([&] { stem20.Validate("m.h5"); });
  EXPECT_TRUE(HasPart(msg, "'stem' = 'imagenet'"));
  EXPECT_TRUE(HasPart(msg, "only ResNet-18 and ResNet-34"));
  ModelSpec odd = ResNetSpec(18);
  odd.stem = "coco";
  EXPECT_TRUE(HasPart(InputErrorOf([&] { odd.Validate("m.h5"); }), "\"cifar\" or \"imagenet\""));

  ModelSpec unknown = TinyVggSpec();
  unknown.vgg_config = "huge";
  msg = InputErrorOf([&] { unknown.Validate("m.h5"); });
  EXPECT_TRUE(HasPart(msg, "'vgg_config' = 'huge'"));
  EXPECT_TRUE(HasPart(msg, "\"tiny\""));
}

// ---- checkpoints ---------------------------------------------------------------------------------

void ExpectSameStateDict(Network& a, Network& b) {
  const auto sa = a.StateDict(), sb = b.StateDict();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    ASSERT_EQ(sa[i].name, sb[i].name);
    ASSERT_EQ(sa[i].tensor->shape(), sb[i].tensor->shape()) << sa[i].name;
    ASSERT_TRUE(std::equal(sa[i].tensor->data(), sa[i].tensor->data() + sa[i].tensor->size(), sb[i].tensor->data()))
        << sa[i].name;
  }
}

TEST(ModelZoo, SaveLoadRoundTrip) {
  testing::ScopedTempDir temp("zoo");
  ModelSpec resnet = ResNetSpec(18);
  resnet.num_classes = 7;
  resnet.input_norm = {{0.4, 0.5, 0.6}, {0.2, 0.25, 0.3}};
  ModelSpec vgg = TinyVggSpec();
  vgg.input_norm = resnet.input_norm;
  ModelSpec imagenet = ImageNetResNetSpec(18, 5);
  for (const ModelSpec& spec : {resnet, vgg, imagenet}) {
    SCOPED_TRACE(spec.Describe());
    Network net = BuildNetwork(spec);
    RandomizeNetwork(net, 17);
    const std::string path = temp.Path("m.h5");
    SaveModel(path, spec, net);
    {
      const H5File file = H5File::OpenRead(path);
      if (spec.arch == "resnet") {
        EXPECT_EQ(file.ReadIntAttribute("/", "depth"), 18);
        EXPECT_EQ(file.ReadStringAttribute("/", "shortcut"), "B");
        // Written only for the ImageNet stem: CIFAR files stay as they were.
        EXPECT_EQ(file.HasAttribute("/", "stem"), spec.stem == "imagenet");
      } else {
        EXPECT_EQ(file.ReadStringAttribute("/", "vgg_config"), "tiny");  // the preset name, as given
      }
    }
    LoadedModel loaded = LoadModel(path);
    EXPECT_EQ(loaded.spec.Describe(), spec.Describe());
    EXPECT_EQ(loaded.spec.vgg_config, spec.vgg_config);
    EXPECT_EQ(loaded.spec.stem, spec.stem);
    EXPECT_EQ(loaded.spec.input_norm.mean, spec.input_norm.mean);
    ExpectSameStateDict(net, loaded.net);
  }
}

// Root attributes only (ReadModelSpec does not look at /params).
std::string WriteAttributes(const std::string& path, const std::string& arch, int depth, const char* shortcut) {
  H5File f = H5File::CreateAtomic(path);
  f.WriteStringAttribute("/", "arch", arch);
  if (depth > 0) f.WriteIntAttribute("/", "depth", depth);
  if (shortcut != nullptr) f.WriteStringAttribute("/", "shortcut", shortcut);
  f.WriteIntAttribute("/", "num_classes", 10);
  f.WriteDoubleArrayAttribute("/", "input_mean", {0.5, 0.5, 0.5});
  f.WriteDoubleArrayAttribute("/", "input_std", {0.25, 0.25, 0.25});
  f.Commit();
  return path;
}

TEST(ModelZoo, FileConventionsForResNet18And34) {
  testing::ScopedTempDir temp("zoo_attr");
  // The depth in the arch name, no shortcut attribute: option B.
  ModelSpec spec = ReadModelSpec(H5File::OpenRead(WriteAttributes(temp.Path("a.h5"), "ResNet34", 0, nullptr)));
  EXPECT_EQ(spec.arch, "resnet");
  EXPECT_EQ(spec.depth, 34);
  EXPECT_EQ(spec.shortcut, 'B');
  spec = ReadModelSpec(H5File::OpenRead(WriteAttributes(temp.Path("b.h5"), "resnet", 18, "b")));
  EXPECT_EQ(spec.depth, 18);
  EXPECT_EQ(spec.shortcut, 'B');
  // An explicit "A" is rejected, naming the file.
  const std::string bad = WriteAttributes(temp.Path("c.h5"), "resnet18", 18, "A");
  const std::string msg = InputErrorOf([&] { ReadModelSpec(H5File::OpenRead(bad)); });
  EXPECT_TRUE(HasPart(msg, bad));
  EXPECT_TRUE(HasPart(msg, "option-B"));
  // The 6n+2 family still needs its shortcut attribute.
  EXPECT_TRUE(HasPart(InputErrorOf([&] {
                        ReadModelSpec(H5File::OpenRead(WriteAttributes(temp.Path("d.h5"), "resnet", 20, nullptr)));
                      }),
                      "missing attribute 'shortcut'"));
  // A VGG file may name the preset.
  H5File f = H5File::CreateAtomic(temp.Path("v.h5"));
  f.WriteStringAttribute("/", "arch", "vgg");
  f.WriteStringAttribute("/", "vgg_config", "tiny");
  f.WriteIntAttribute("/", "num_classes", 10);
  f.WriteDoubleArrayAttribute("/", "input_mean", {0.5, 0.5, 0.5});
  f.WriteDoubleArrayAttribute("/", "input_std", {0.25, 0.25, 0.25});
  f.Commit();
  EXPECT_EQ(ReadModelSpec(H5File::OpenRead(temp.Path("v.h5"))).vgg_config, "tiny");
}

// ---- quantization and the integer engine ---------------------------------------------------------

int Count(const QuantizedModel& m, QNodeKind kind) {
  return static_cast<int>(std::count_if(m.nodes.begin(), m.nodes.end(), [&](const QNode& n) { return n.kind == kind; }));
}

// Random weights as RandomizeNetwork gives them, but BatchNorm scales γ = 0.5 + 0.5·|z|: a γ near zero
// (common among ResNet-18's 4,800 random ones) shrinks its channel's folded weights while the folded
// bias stays, beyond the ±2^30 accumulator units QuantizeNetwork accepts (an InputError, rightly);
// trained networks have γ of order 1.
void RandomizeWithTrainedLikeBn(Network& net, uint64_t seed) {
  RandomizeNetwork(net, seed);
  for (const NamedTensor& t : net.StateDict()) {
    const int node = net.Find(t.name.substr(0, t.name.rfind('.')));
    if (node < 0 || net.nodes()[static_cast<size_t>(node)].layer->Kind() != "batch_norm") continue;
    if (t.name.size() < 7 || t.name.compare(t.name.size() - 7, 7, ".weight") != 0) continue;
    for (int64_t i = 0; i < t.tensor->size(); ++i) (*t.tensor)[i] = 0.5f + 2.5f * std::abs((*t.tensor)[i]);
  }
}

// W8A8 on random weights, `calibration` synthetic images; the fast engine's logits equal the slow
// integer reference's on `images` images.
void CheckIntegerEngine(const ModelSpec& spec, Network& net, int64_t calibration, int64_t images, QuantizedModel* out) {
  RandomizeWithTrainedLikeBn(net, 23);
  const Cifar10Set calib = RandomImages(calibration, 24);
  QuantizeOptions options;
  options.sample_capacity = 4096;
  QuantizedModel model =
      QuantizeNetwork(net, spec, Uniform(net, 8, 8), calib, testing::FirstN(calibration), options, nullptr);
  IntegerNetwork engine(model);
  const Cifar10Set data = RandomImages(images, 97);
  std::vector<int32_t> logits(static_cast<size_t>(images * model.num_classes));
  ThreadPool pool(2);
  engine.Forward(data.image(0), images, logits.data(), pool);
  for (int64_t i = 0; i < images; ++i) {
    const std::vector<int32_t> fast(logits.begin() + i * model.num_classes, logits.begin() + (i + 1) * model.num_classes);
    EXPECT_EQ(fast, IntegerReferenceForward(model, data.image(i))) << "image " << i;
    // Random weights still give distinct logits (the comparison is not between two zero vectors).
    EXPECT_GT(*std::max_element(fast.begin(), fast.end()), *std::min_element(fast.begin(), fast.end()));
  }
  *out = std::move(model);
}

TEST(ModelZoo, ResNet18W8A8IntegerEngineEqualsReference) {
  const ModelSpec spec = ResNetSpec(18);
  Network net = BuildNetwork(spec);
  QuantizedModel m;
  CheckIntegerEngine(spec, net, 2, 1, &m);
  // conv1 + 16 block convs + 3 shortcut convs (BN folded, ReLU fused), 8 adds, pool, linear.
  EXPECT_EQ(Count(m, QNodeKind::kConv), 20);
  EXPECT_EQ(Count(m, QNodeKind::kAdd), 8);
  EXPECT_EQ(Count(m, QNodeKind::kShortcutA), 0);
  EXPECT_EQ(Count(m, QNodeKind::kGlobalAvgPool), 1);
  EXPECT_EQ(m.nodes.back().name, "linear");
  EXPECT_EQ(m.MacsPerImage(), 555422720);
}

// The ImageNet stem's padded max pool on codes, in the fast engine and the slow reference (32 × 32
// random images: 16 after conv1, 8 after the pool, 1 at the end), and through the file format.
TEST(ModelZoo, ImageNetResNet18W8A8IntegerEngineEqualsReference) {
  const ModelSpec spec = ImageNetResNetSpec(18);
  Network net = BuildNetwork(spec);
  QuantizedModel m;
  CheckIntegerEngine(spec, net, 2, 2, &m);
  ASSERT_EQ(Count(m, QNodeKind::kMaxPool), 1);
  const QNode& pool = *std::find_if(m.nodes.begin(), m.nodes.end(), [](const QNode& n) { return n.kind == QNodeKind::kMaxPool; });
  EXPECT_EQ(pool.kernel, 3);
  EXPECT_EQ(pool.stride, 2);
  EXPECT_EQ(pool.padding, 1);
  EXPECT_EQ(m.nodes.back().name, "fc");
  testing::ScopedTempDir temp("zoo_q");
  SaveQuantizedModel(m, temp.Path("q.h5"));
  const QuantizedModel loaded = LoadQuantizedModel(temp.Path("q.h5"));
  const Cifar10Set data = RandomImages(1, 98);
  EXPECT_EQ(IntegerReferenceForward(loaded, data.image(0)), IntegerReferenceForward(m, data.image(0)));
  // A max pool padded beyond half its kernel is refused (the file is damaged).
  QuantizedModel bad = m;
  for (QNode& n : bad.nodes)
    if (n.kind == QNodeKind::kMaxPool) n.padding = 2;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { bad.Validate("q.h5"); }), "exceeds kernel/2"));
}

TEST(ModelZoo, TinyVggW8A8IntegerEngineEqualsReference) {
  const ModelSpec spec = TinyVggSpec();
  Network net = BuildNetwork(spec);
  QuantizedModel m;
  CheckIntegerEngine(spec, net, 4, 3, &m);
  EXPECT_EQ(Count(m, QNodeKind::kConv), 3);
  EXPECT_EQ(Count(m, QNodeKind::kMaxPool), 3);
  EXPECT_EQ(m.nodes.back().name, "classifier");
  EXPECT_EQ(m.MacsPerImage(), 10323200);
}

}  // namespace
}  // namespace cimsim
