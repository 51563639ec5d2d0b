#include "common/h5_file.h"

#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "common/error.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;


TEST(H5File, RoundTripAttributesAndArrays) {
  const testing::ScopedTempDir temp("h5_rt");
  const fs::path& dir = temp.path();
  const std::string path = (dir / "a.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteStringAttribute("/", "arch", "resnet");
    f.WriteIntAttribute("/", "depth", 20);
    f.WriteDoubleArrayAttribute("/", "mean", {0.1, 0.2, 0.3});
    const float values[6] = {1, 2, 3, 4, 5, 6.5f};
    f.WriteFloatArray("/params/layer1.0.conv1.weight", {2, 3}, values);
    EXPECT_FALSE(fs::exists(path));  // not visible before Commit
    f.Commit();
  }
  const H5File r = H5File::OpenRead(path);
  EXPECT_EQ(r.ReadStringAttribute("/", "arch"), "resnet");
  EXPECT_EQ(r.ReadIntAttribute("/", "depth"), 20);
  EXPECT_EQ(r.ReadDoubleArrayAttribute("/", "mean"), (std::vector<double>{0.1, 0.2, 0.3}));
  EXPECT_EQ(r.ListDatasets("/params"), (std::vector<std::string>{"/params/layer1.0.conv1.weight"}));
  const H5Array a = r.ReadArray("/params/layer1.0.conv1.weight");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6.5}));
  EXPECT_FALSE(r.Exists("/params/nothing"));
  EXPECT_FALSE(r.Exists("/nogroup/x"));
}

TEST(H5File, ErrorsNameTheFile) {
  const testing::ScopedTempDir temp("h5_err");
  const fs::path& dir = temp.path();
  const std::string text = (dir / "t.h5").string();
  std::ofstream(text) << "plain text";
  try {
    H5File::OpenRead(text);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(text + ": not an HDF5 file"), std::string::npos);
  }
  EXPECT_THROW(H5File::OpenRead((dir / "none.h5").string()), InputError);
  const std::string path = (dir / "a.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    f.Commit();
  }
  const H5File r = H5File::OpenRead(path);
  EXPECT_THROW(r.ReadStringAttribute("/", "arch"), InputError);
  EXPECT_THROW(r.ReadArray("/params/x"), InputError);
}

// An integer attribute stored as a double beyond int64's range, inf or NaN (a damaged or edited file;
// found by the calibration and quantized-model fuzzers) is refused, not converted (undefined behaviour).
TEST(H5File, IntegerAttributesOutsideInt64AreRefused) {
  const testing::ScopedTempDir temp("h5_int_range");
  const std::string path = (temp.path() / "a.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteDoubleAttribute("/", "huge", 1.29511e42);
    f.WriteDoubleAttribute("/", "edge", 9223372036854775808.0);  // 2^63: one past the largest int64
    f.WriteDoubleAttribute("/", "inf", std::numeric_limits<double>::infinity());
    f.WriteDoubleAttribute("/", "nan", std::numeric_limits<double>::quiet_NaN());
    f.WriteDoubleAttribute("/", "half", 2.5);
    f.WriteDoubleAttribute("/", "lowest", -9223372036854775808.0);  // -2^63: an int64
    f.Commit();
  }
  const H5File r = H5File::OpenRead(path);
  for (const char* name : {"huge", "edge", "inf", "nan", "half"}) {
    try {
      r.ReadIntAttribute("/", name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("attribute '") + name + "' on / must be a single integer"),
                std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(r.ReadIntAttribute("/", "lowest"), std::numeric_limits<int64_t>::min());
}

// A dataset that declares 2^40 elements (chunked, nothing stored: a few hundred bytes on disk) is
// refused from its shape, before any allocation; so is a FIFO, without blocking.
// Attributes live in the object header, which is limited in the HDF5 format cimsim writes: a point
// file's summary of 1,000 chip instances used to be a root attribute, and then the file's
// content_checksum attribute could not be written (exit 2 after the whole run). Long texts go into
// string datasets, which have no such limit (PointFile.AThousandInstancesAreWrittenAndReadBackWhole).
TEST(H5File, TextsBeyond64KiBGoIntoStringDatasets) {
  const testing::ScopedTempDir temp("h5_big_text");
  const std::string path = (temp.path() / "a.h5").string();
  const std::string big(1 << 20, 'x');
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteStringArray("/summary", {big, "short"});
    f.WriteStringAttribute("/", "config", "{}");
    f.Commit();  // with its content_checksum attribute
  }
  const H5File r = H5File::OpenRead(path);
  EXPECT_EQ(r.ReadStringArray("/summary"), (std::vector<std::string>{big, "short"}));
  EXPECT_TRUE(r.HasContentChecksum());
}

TEST(H5File, HugeDeclaredDatasetsAndNonRegularFilesAreRefusedBeforeAnyRead) {
  const testing::ScopedTempDir temp("h5_huge");
  const std::string path = (temp.path() / "huge.h5").string();
  {
    const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[1] = {hsize_t{1} << 40}, chunk[1] = {1024};
    const hid_t space = H5Screate_simple(1, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 1, chunk);
    const hid_t ds = H5Dcreate2(f, "/x", H5T_NATIVE_FLOAT, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(ds, 0);
    H5Dclose(ds);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
  }
  ASSERT_LT(std::filesystem::file_size(path), 100000u);
  // OpenRead's isolated first read meets the declared size; so does a reader of the dataset itself.
  for (const bool isolated : {true, false}) {
    try {
      const H5File r = isolated ? H5File::OpenRead(path) : H5File::OpenReadInProcess(path);
      r.ReadArray("/x");
      FAIL();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("/x declares more than"), std::string::npos) << e.what();
    }
  }
  const std::string fifo = (temp.path() / "fifo.h5").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  try {
    H5File::OpenRead(fifo);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("FIFO"), std::string::npos) << e.what();
  }
}

TEST(H5File, UncommittedWriterLeavesExistingFileAlone) {
  const testing::ScopedTempDir temp("h5_keep");
  const fs::path& dir = temp.path();
  const std::string path = (dir / "k.h5").string();
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteIntAttribute("/", "version", 1);
    f.Commit();
  }
  {
    H5File f = H5File::CreateAtomic(path);
    f.WriteIntAttribute("/", "version", 2);
    // destroyed without Commit, as when an exception unwinds
  }
  EXPECT_EQ(H5File::OpenRead(path).ReadIntAttribute("/", "version"), 1);
  EXPECT_FALSE(fs::exists(path + ".partial." + std::to_string(getpid())));
}

}  // namespace
}  // namespace cimsim
