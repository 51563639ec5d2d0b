// HDF5 checkpoints: save -> load round trip, and every kind of bad file gives one InputError that
// names the file and the offending tensor or attribute.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <unistd.h>

#include "common/test_support.h"
#include "common/error.h"
#include "nets/builders.h"
#include "nets/checkpoint.h"
#include "nets/test_util.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return temp_.Path(name); }

  // How a test file departs from a valid ResNet-8 checkpoint.
  struct Edits {
    std::string prefix;             // prepended to every key
    std::string omit;               // tensor left out
    std::string reshape;            // tensor written with an extra leading dimension of 1... and 2
    std::string extra;              // an unknown tensor added
    std::string nan_in;             // tensor whose first value is NaN
    std::string drop_attribute;     // root attribute left out
    std::string arch = "resnet";
    int64_t depth = 8;
    std::vector<double> mean = {0.5, 0.5, 0.5};
    bool num_batches_tracked = false;
  };

  std::string WriteModel(const std::string& name, const Edits& e) {
    Network net = BuildCifarResNet(8, 'A', 10);
    testing::RandomizeNetwork(net, 3);
    H5File f = H5File::CreateAtomic(Path(name));
    if (e.drop_attribute != "arch") f.WriteStringAttribute("/", "arch", e.arch);
    if (e.drop_attribute != "depth") f.WriteIntAttribute("/", "depth", e.depth);
    if (e.drop_attribute != "shortcut") f.WriteStringAttribute("/", "shortcut", "A");
    if (e.drop_attribute != "num_classes") f.WriteIntAttribute("/", "num_classes", 10);
    if (e.drop_attribute != "input_mean") f.WriteDoubleArrayAttribute("/", "input_mean", e.mean);
    if (e.drop_attribute != "input_std") f.WriteDoubleArrayAttribute("/", "input_std", {0.25, 0.25, 0.25});
    for (const NamedTensor& t : net.StateDict()) {
      if (t.name == e.omit) continue;
      Tensor copy = *t.tensor;
      if (t.name == e.nan_in) copy[0] = std::nanf("");
      Shape shape = copy.shape();
      if (t.name == e.reshape) {
        shape = {2, copy.size() / 2};
      }
      f.WriteFloatArray("/params/" + e.prefix + t.name, shape, copy.data());
    }
    if (!e.extra.empty()) {
      const float v[2] = {1, 2};
      f.WriteFloatArray("/params/" + e.prefix + e.extra, {2}, v);
    }
    if (e.num_batches_tracked) {
      const int64_t count = 1234;
      f.WriteInt64Array("/params/" + e.prefix + "bn1.num_batches_tracked", {}, &count);
    }
    f.Commit();
    return Path(name);
  }

  void ExpectLoadError(const std::string& path, const std::vector<std::string>& fragments) {
    try {
      LoadModel(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const InputError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(path), std::string::npos) << msg;
      for (const std::string& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
    }
  }

  testing::ScopedTempDir temp_{"ckpt"};
};

TEST_F(CheckpointTest, SaveLoadRoundTripIsIdentical) {
  for (const ModelSpec& spec : {ModelSpec{"resnet", 20, 'A', 10, "", {{0.4, 0.5, 0.6}, {0.2, 0.25, 0.3}}},
                                ModelSpec{"resnet", 14, 'B', 7, "", {{0.4, 0.5, 0.6}, {0.2, 0.25, 0.3}}},
                                ModelSpec{"vgg", 0, 'A', 10, "8,M,16", {{0.4, 0.5, 0.6}, {0.2, 0.25, 0.3}}}}) {
    Network net = BuildNetwork(spec);
    testing::RandomizeNetwork(net, 9);
    SaveModel(Path("m.h5"), spec, net);
    LoadedModel loaded = LoadModel(Path("m.h5"));
    EXPECT_EQ(loaded.spec.Describe(), spec.Describe());
    EXPECT_EQ(loaded.spec.input_norm.mean, spec.input_norm.mean);
    EXPECT_EQ(loaded.spec.input_norm.std, spec.input_norm.std);
    const auto a = net.StateDict(), b = loaded.net.StateDict();
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].name, b[i].name);
      ASSERT_EQ(a[i].tensor->shape(), b[i].tensor->shape());
      for (int64_t j = 0; j < a[i].tensor->size(); ++j) ASSERT_EQ((*a[i].tensor)[j], (*b[i].tensor)[j]) << a[i].name;
    }
  }
}

TEST_F(CheckpointTest, AcceptsPyTorchConventions) {
  Edits e;
  e.prefix = "module.";
  e.num_batches_tracked = true;
  EXPECT_NO_THROW(LoadModel(WriteModel("pt.h5", e)));
  Edits named;
  named.arch = "ResNet8";  // depth in the name, agreeing with the depth attribute
  EXPECT_EQ(LoadModel(WriteModel("named.h5", named)).spec.depth, 8);
}

TEST_F(CheckpointTest, MissingTensor) {
  Edits e;
  e.omit = "layer2.0.conv1.weight";
  ExpectLoadError(WriteModel("missing.h5", e), {"missing tensor 'layer2.0.conv1.weight'", "[32, 16, 3, 3]"});
}

TEST_F(CheckpointTest, ExtraTensor) {
  Edits e;
  e.extra = "layer9.0.conv1.weight";
  ExpectLoadError(WriteModel("extra.h5", e), {"does not use", "'layer9.0.conv1.weight'"});
}

TEST_F(CheckpointTest, WrongShape) {
  Edits e;
  e.reshape = "linear.weight";
  ExpectLoadError(WriteModel("shape.h5", e), {"'linear.weight'", "[2, 320]", "[10, 64]"});
}

TEST_F(CheckpointTest, NonFiniteValue) {
  Edits e;
  e.nan_in = "bn1.running_var";
  ExpectLoadError(WriteModel("nan.h5", e), {"'bn1.running_var'", "non-finite"});
}

TEST_F(CheckpointTest, BadAttributes) {
  Edits depth;
  depth.depth = 21;
  ExpectLoadError(WriteModel("depth.h5", depth), {"'depth' = 21", "6n+2"});
  Edits arch;
  arch.arch = "transformer";
  ExpectLoadError(WriteModel("arch.h5", arch), {"'arch'", "transformer"});
  Edits clash;
  clash.arch = "resnet20";
  ExpectLoadError(WriteModel("clash.h5", clash), {"depth 20", "'depth' = 8"});
  Edits mean;
  mean.mean = {0.5, 0.5};
  ExpectLoadError(WriteModel("mean2.h5", mean), {"'input_mean'", "2 values"});
  Edits mean_range;
  mean_range.mean = {125.3, 123.0, 113.9};
  ExpectLoadError(WriteModel("mean255.h5", mean_range), {"mean", "125.3"});
  for (const std::string attr : {"arch", "depth", "shortcut", "num_classes", "input_std"}) {
    Edits drop;
    drop.drop_attribute = attr;
    ExpectLoadError(WriteModel("drop_" + attr + ".h5", drop), {"missing attribute '" + attr + "'"});
  }
}

TEST_F(CheckpointTest, NotHdf5AndMissingFile) {
  std::ofstream(Path("text.h5")) << "this is not HDF5\n";
  ExpectLoadError(Path("text.h5"), {"not an HDF5 file"});
  ExpectLoadError(Path("absent.h5"), {"file not found"});
  // A truncated HDF5 file.
  Edits e;
  const std::string good = WriteModel("good.h5", e);
  const auto size = fs::file_size(good);
  fs::copy_file(good, Path("cut.h5"));
  fs::resize_file(Path("cut.h5"), size / 2);
  EXPECT_THROW(LoadModel(Path("cut.h5")), InputError);
}

TEST_F(CheckpointTest, FailedSaveKeepsExistingFile) {
  Edits e;
  const std::string path = WriteModel("keep.h5", e);
  const auto before = fs::file_size(path);
  ModelSpec bad{"resnet", 21, 'A', 10, "", {{0.5, 0.5, 0.5}, {0.25, 0.25, 0.25}}};
  Network net = BuildCifarResNet(8, 'A', 10);
  EXPECT_THROW(SaveModel(path, bad, net), InputError);
  EXPECT_EQ(fs::file_size(path), before);
  EXPECT_NO_THROW(LoadModel(path));
  EXPECT_FALSE(fs::exists(path + ".partial"));
}

}  // namespace
}  // namespace cimsim
