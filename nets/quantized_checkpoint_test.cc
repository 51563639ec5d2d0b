// The quantized model file: round trip and strict loading.
#include "nets/quantized_checkpoint.h"

#include <gtest/gtest.h>

#include "common/h5_file.h"
#include "common/test_support.h"
#include "nets/quant_test_util.h"

namespace cimsim {
namespace {

using testing::HasPart;
using testing::InputErrorOf;

QuantizedModel SmallModel() {
  const ModelSpec spec = testing::SpecFor("resnet", 8, 'B');
  Network net = BuildNetwork(spec);
  QuantizedModel m = testing::QuantizedRandomNet(spec, net, testing::Uniform(net, 5, 6), 21);
  m.description = "test model";
  return m;
}

void ExpectSame(const QuantizedModel& a, const QuantizedModel& b) {
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.input_lut, b.input_lut);
  EXPECT_EQ(a.input_scale, b.input_scale);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const QNode &x = a.nodes[i], &y = b.nodes[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.out_scale, y.out_scale);
    EXPECT_EQ(x.out_min, y.out_min);
    EXPECT_EQ(x.out_max, y.out_max);
    EXPECT_EQ(x.out_bits, y.out_bits);
    EXPECT_EQ(x.weights, y.weights);
    EXPECT_EQ(x.weight_grid, y.weight_grid);
    EXPECT_EQ(x.weight_scales, y.weight_scales);
    EXPECT_EQ(x.bias, y.bias);
    EXPECT_EQ(x.multipliers, y.multipliers);
    EXPECT_EQ(x.shifts, y.shifts);
    EXPECT_EQ(x.headrooms, y.headrooms);
    EXPECT_EQ(x.rescale_headrooms, y.rescale_headrooms);
    EXPECT_EQ(x.pool.headroom, y.pool.headroom);
    EXPECT_EQ(x.rescale_identity, y.rescale_identity);
    EXPECT_EQ(x.rescale_multipliers, y.rescale_multipliers);
    EXPECT_EQ(x.rescale_shifts, y.rescale_shifts);
    EXPECT_EQ(x.pool.multiplier, y.pool.multiplier);
    EXPECT_EQ(x.pool.shift, y.pool.shift);
    EXPECT_EQ(x.stride, y.stride);
    EXPECT_EQ(x.pad, y.pad);
    EXPECT_EQ(x.input_bits, y.input_bits);
    EXPECT_EQ(x.input_signed, y.input_signed);
  }
}

TEST(QuantizedCheckpointTest, RoundTripIsExact) {
  testing::ScopedTempDir dir("qckpt");
  const QuantizedModel m = SmallModel();
  const std::string path = (dir.path() / "q.h5").string();
  SaveQuantizedModel(m, path, {{"quant_config", "{}"}});
  ExpectSame(m, LoadQuantizedModel(path));
  EXPECT_EQ(H5File::OpenRead(path).ReadStringAttribute("/", "quant_config"), "{}");
}

TEST(QuantizedCheckpointTest, MissingDatasetIsNamed) {
  testing::ScopedTempDir dir("qckpt");
  const QuantizedModel m = SmallModel();
  const std::string path = (dir.path() / "q.h5").string();
  SaveQuantizedModel(m, path);
  {
    // The root attributes of a valid file, but no /input and no nodes.
    const H5File src = H5File::OpenRead(path);
    H5File dst = H5File::CreateAtomic((dir.path() / "missing.h5").string());
    for (const char* attr : {"format", "description"}) dst.WriteStringAttribute("/", attr, src.ReadStringAttribute("/", attr));
    for (const char* attr : {"format_version", "num_classes", "node_count"})
      dst.WriteIntAttribute("/", attr, src.ReadIntAttribute("/", attr));
    dst.WriteDoubleArrayAttribute("/", "input_shape", src.ReadDoubleArrayAttribute("/", "input_shape"));
    dst.Commit();
  }
  const std::string msg = InputErrorOf([&] { LoadQuantizedModel((dir.path() / "missing.h5").string()); });
  EXPECT_TRUE(HasPart(msg, "missing.h5")) << msg;
  EXPECT_TRUE(HasPart(msg, "/input/lut")) << msg;
}

TEST(QuantizedCheckpointTest, RejectsAFloatModelFile) {
  testing::ScopedTempDir dir("qckpt");
  const std::string path = (dir.path() / "float.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteStringAttribute("/", "arch", "resnet");
    f.Commit();
  }
  const std::string msg = InputErrorOf([&] { LoadQuantizedModel(path); });
  EXPECT_TRUE(HasPart(msg, "not a cimsim quantized model")) << msg;
}

TEST(QuantizedCheckpointTest, RejectsOutOfRangeCodes) {
  testing::ScopedTempDir dir("qckpt");
  QuantizedModel m = SmallModel();
  m.nodes[1].weights[3] = 100;  // 5-bit weights allow ±15
  const std::string msg = InputErrorOf([&] { SaveQuantizedModel(m, (dir.path() / "bad.h5").string()); });
  EXPECT_TRUE(HasPart(msg, "weight code 100")) << msg;
}

// The full weight grid: −2^(b−1) is a valid code there (and round-trips with the grid), not on the
// symmetric grid; an 8-bit full grid is rejected.
TEST(QuantizedCheckpointTest, FullWeightGridKeepsItsMostNegativeCode) {
  testing::ScopedTempDir dir("qckpt");
  QuantizedModel m = SmallModel();
  QNode& n = m.nodes[1];
  ASSERT_EQ(n.kind, QNodeKind::kConv);
  ASSERT_EQ(n.weight_bits, 5);
  n.weights[3] = -16;
  const std::string bad = (dir.path() / "bad.h5").string();
  EXPECT_TRUE(HasPart(InputErrorOf([&] { SaveQuantizedModel(m, bad); }), "weight code -16 is outside [-15, 15] (symmetric grid)"));
  n.weight_grid = WeightGrid::kFull;
  const std::string path = (dir.path() / "full.h5").string();
  SaveQuantizedModel(m, path);
  const QuantizedModel back = LoadQuantizedModel(path);
  ExpectSame(m, back);
  EXPECT_EQ(back.nodes[1].WeightRange().min, -16);
  EXPECT_EQ(back.nodes[1].CoreWeightBits(), 6);
  EXPECT_EQ(back.nodes[2].weight_grid, WeightGrid::kSymmetric);  // no attribute: symmetric
  n.weights[3] = 16;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { SaveQuantizedModel(m, bad); }), "weight code 16 is outside [-16, 15] (full grid)"));
  n.weights[3] = 0;
  n.weight_bits = 8;
  EXPECT_TRUE(HasPart(InputErrorOf([&] { SaveQuantizedModel(m, bad); }), "weight_bits 8 with the full weight grid; allowed 2..7"));
}

TEST(QuantizedCheckpointTest, MissingFileIsAnInputError) {
  EXPECT_THROW(LoadQuantizedModel("/nonexistent/q.h5"), InputError);
}

}  // namespace
}  // namespace cimsim
