// Tests of the CIFAR-10 binary reader on small synthetic files written to a fresh temp directory.
#include "common/test_support.h"
#include "data/cifar10.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using cimsim::testing::HasPart;
using cimsim::testing::InputErrorOf;

// Pixel byte j of synthetic record `tag` (distinct per record, so records can be told apart).
uint8_t PixelOf(int tag, int j) {
  return static_cast<uint8_t>((tag * 31 + j * 7 + j / 256) & 0xff);
}

void WriteBytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Records with the given labels; record k gets pixels PixelOf(first_tag + k, j).
std::vector<uint8_t> Records(const std::vector<int>& labels, int first_tag) {
  std::vector<uint8_t> bytes;
  for (size_t k = 0; k < labels.size(); ++k) {
    bytes.push_back(static_cast<uint8_t>(labels[k]));
    for (int j = 0; j < kCifarImageBytes; ++j) {
      bytes.push_back(PixelOf(first_tag + static_cast<int>(k), j));
    }
  }
  return bytes;
}


// Expects the "how to get the data" hint in a message.
void ExpectDownloadHint(const std::string& msg) {
  EXPECT_TRUE(HasPart(msg, "cifar-10-binary.tar.gz"));
  EXPECT_TRUE(HasPart(msg, "https://www.cs.toronto.edu/~kriz/cifar.html"));
  EXPECT_TRUE(HasPart(msg, "cimsim data fetch"));
  EXPECT_TRUE(HasPart(msg, "--data"));
  EXPECT_TRUE(HasPart(msg, "CIMSIM_DATA"));
}

// Sets (or unsets, with nullopt) an environment variable for the scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      setenv(name, value->c_str(), 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class Cifar10Test : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return temp_.Path(name); }

  cimsim::testing::ScopedTempDir temp_{"cifar10_test"};
  const fs::path dir_ = temp_.path();
};

TEST_F(Cifar10Test, ParsesLabelsAndPixelsOfEachRecord) {
  WriteBytes(Path("a.bin"), Records({0, 9, 5}, 100));
  const Cifar10Set set = LoadCifar10Files({Path("a.bin")});
  ASSERT_EQ(set.size(), 3);
  EXPECT_EQ(set.labels, (std::vector<uint16_t>{0, 9, 5}));
  ASSERT_EQ(set.pixels.size(), 3u * kCifarImageBytes);
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < kCifarImageBytes; ++j) {
      ASSERT_EQ(set.image(i)[j], PixelOf(100 + i, j)) << "image " << i << " byte " << j;
    }
  }
  EXPECT_EQ(set.sources, (std::vector<std::string>{Path("a.bin")}));
}

TEST_F(Cifar10Test, SingleFilePathIgnoresSplit) {
  WriteBytes(Path("one.bin"), Records({4, 2}, 7));
  const Cifar10Set train = LoadCifar10(Path("one.bin"), Cifar10Split::kTrain);
  const Cifar10Set test = LoadCifar10(Path("one.bin"), Cifar10Split::kTest);
  EXPECT_EQ(train.labels, (std::vector<uint16_t>{4, 2}));
  EXPECT_EQ(train.labels, test.labels);
  EXPECT_EQ(train.pixels, test.pixels);
}

TEST_F(Cifar10Test, DirectoryTestSplitReadsTestBatchOnly) {
  for (int j = 1; j <= 5; ++j) {
    WriteBytes(Path("data_batch_" + std::to_string(j) + ".bin"), Records({1}, j));
  }
  WriteBytes(Path("test_batch.bin"), Records({7, 8}, 50));
  const Cifar10Set set = LoadCifar10(dir_.string(), Cifar10Split::kTest);
  EXPECT_EQ(set.labels, (std::vector<uint16_t>{7, 8}));
  EXPECT_EQ(set.image(1)[0], PixelOf(51, 0));
  EXPECT_EQ(set.sources, (std::vector<std::string>{Path("test_batch.bin")}));
}

TEST_F(Cifar10Test, DirectoryTrainSplitConcatenatesBatches1To5InOrder) {
  // data_batch_j holds j records, labels j-1, pixel tags 10*j + k.
  std::vector<int> want_labels, want_tags;
  for (int j = 1; j <= 5; ++j) {
    const std::vector<int> labels(static_cast<size_t>(j), j - 1);
    WriteBytes(Path("data_batch_" + std::to_string(j) + ".bin"), Records(labels, 10 * j));
    for (int k = 0; k < j; ++k) {
      want_labels.push_back(j - 1);
      want_tags.push_back(10 * j + k);
    }
  }
  WriteBytes(Path("test_batch.bin"), Records({9}, 99));
  const Cifar10Set set = LoadCifar10(dir_.string(), Cifar10Split::kTrain);
  ASSERT_EQ(set.size(), 15);
  for (int i = 0; i < 15; ++i) {
    EXPECT_EQ(set.labels[i], want_labels[i]) << "image " << i;
    for (int j = 0; j < kCifarImageBytes; j += 97) {
      ASSERT_EQ(set.image(i)[j], PixelOf(want_tags[i], j)) << "image " << i << " byte " << j;
    }
  }
  ASSERT_EQ(set.sources.size(), 5u);
  EXPECT_EQ(set.sources[0], Path("data_batch_1.bin"));
  EXPECT_EQ(set.sources[4], Path("data_batch_5.bin"));
}

TEST_F(Cifar10Test, LoadFilesKeepsTheGivenOrder) {
  WriteBytes(Path("a.bin"), Records({1}, 1));
  WriteBytes(Path("b.bin"), Records({2, 3}, 2));
  const Cifar10Set set = LoadCifar10Files({Path("b.bin"), Path("a.bin")});
  EXPECT_EQ(set.labels, (std::vector<uint16_t>{2, 3, 1}));
  EXPECT_EQ(set.image(2)[5], PixelOf(1, 5));
}

TEST_F(Cifar10Test, MaxImagesReadsOnlyTheFirstRecordsAcrossFiles) {
  WriteBytes(Path("a.bin"), Records({1, 2}, 10));
  // A bad label after the cut is never read: only the first max_images records are validated.
  WriteBytes(Path("b.bin"), Records({3, 4, 12}, 20));
  const Cifar10Set cut = LoadCifar10Files({Path("a.bin"), Path("b.bin")}, 3);
  EXPECT_EQ(cut.labels, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(cut.available, 5);
  EXPECT_EQ(cut.image(2)[7], PixelOf(20, 7));
  EXPECT_EQ(cut.sources, (std::vector<std::string>{Path("a.bin"), Path("b.bin")}));
  const Cifar10Set first_file_only = LoadCifar10Files({Path("a.bin"), Path("b.bin")}, 2);
  EXPECT_EQ(first_file_only.labels, (std::vector<uint16_t>{1, 2}));
  EXPECT_EQ(first_file_only.sources, (std::vector<std::string>{Path("a.bin")}));
  EXPECT_EQ(LoadCifar10Files({Path("a.bin")}, 99).size(), 2);
  EXPECT_EQ(LoadCifar10Files({Path("a.bin")}).available, 2);
  EXPECT_THROW(LoadCifar10Files({Path("a.bin"), Path("b.bin")}), InputError);
}

TEST_F(Cifar10Test, MissingFileSaysHowToGetTheData) {
  const std::string file = Path("nope.bin");
  const std::string msg = InputErrorOf([&] { LoadCifar10Files({file}); });
  EXPECT_TRUE(HasPart(msg, file));
  EXPECT_TRUE(HasPart(msg, "does not exist"));
  ExpectDownloadHint(msg);
}

TEST_F(Cifar10Test, MissingPathSaysHowToGetTheData) {
  const std::string path = Path("no_such_dir");
  const std::string msg = InputErrorOf([&] { LoadCifar10(path, Cifar10Split::kTest); });
  EXPECT_TRUE(HasPart(msg, path));
  EXPECT_TRUE(HasPart(msg, "does not exist"));
  ExpectDownloadHint(msg);
}

TEST_F(Cifar10Test, DirectoryWithoutABatchFileNamesIt) {
  WriteBytes(Path("data_batch_1.bin"), Records({1}, 1));
  WriteBytes(Path("data_batch_2.bin"), Records({1}, 2));
  const std::string train_msg =
      InputErrorOf([&] { LoadCifar10(dir_.string(), Cifar10Split::kTrain); });
  EXPECT_TRUE(HasPart(train_msg, dir_.string()));
  EXPECT_TRUE(HasPart(train_msg, "data_batch_3.bin"));
  ExpectDownloadHint(train_msg);
  const std::string test_msg =
      InputErrorOf([&] { LoadCifar10(dir_.string(), Cifar10Split::kTest); });
  EXPECT_TRUE(HasPart(test_msg, "test_batch.bin"));
}

TEST_F(Cifar10Test, EmptyFileIsRejected) {
  WriteBytes(Path("empty.bin"), {});
  const std::string msg = InputErrorOf([&] { LoadCifar10Files({Path("empty.bin")}); });
  EXPECT_TRUE(HasPart(msg, Path("empty.bin")));
  EXPECT_TRUE(HasPart(msg, "empty"));
}

TEST_F(Cifar10Test, SizeNotAMultipleOfTheRecordIsRejectedWithCounts) {
  std::vector<uint8_t> bytes = Records({1, 2}, 0);
  bytes.resize(bytes.size() + 5, 0);  // 2 * 3073 + 5 = 6151 bytes
  WriteBytes(Path("long.bin"), bytes);
  const std::string msg = InputErrorOf([&] { LoadCifar10Files({Path("long.bin")}); });
  EXPECT_TRUE(HasPart(msg, Path("long.bin")));
  EXPECT_TRUE(HasPart(msg, "6151 bytes"));
  EXPECT_TRUE(HasPart(msg, "2 whole record(s) + 5 leftover byte(s)"));

  WriteBytes(Path("short.bin"), std::vector<uint8_t>(100, 1));
  const std::string short_msg = InputErrorOf([&] { LoadCifar10Files({Path("short.bin")}); });
  EXPECT_TRUE(HasPart(short_msg, "100 bytes"));
  EXPECT_TRUE(HasPart(short_msg, "0 whole record(s) + 100 leftover byte(s)"));
}

TEST_F(Cifar10Test, LabelAbove9IsRejectedWithFileRecordAndValue) {
  for (const int bad : {10, 255}) {
    const std::string file = Path("label" + std::to_string(bad) + ".bin");
    WriteBytes(file, Records({0, 9, bad, 1}, 0));
    const std::string msg = InputErrorOf([&] { LoadCifar10Files({file}); });
    EXPECT_TRUE(HasPart(msg, file));
    EXPECT_TRUE(HasPart(msg, "record 2"));
    EXPECT_TRUE(HasPart(msg, "label " + std::to_string(bad)));
    EXPECT_TRUE(HasPart(msg, "0..9"));
  }
}

TEST_F(Cifar10Test, ErrorInALaterFileNamesThatFile) {
  WriteBytes(Path("good.bin"), Records({1}, 0));
  WriteBytes(Path("bad.bin"), Records({3, 12}, 0));
  const std::string msg = InputErrorOf([&] {
    LoadCifar10Files({Path("good.bin"), Path("bad.bin")});
  });
  EXPECT_TRUE(HasPart(msg, Path("bad.bin")));
  EXPECT_TRUE(HasPart(msg, "record 1"));
  EXPECT_TRUE(HasPart(msg, "label 12"));
}

TEST_F(Cifar10Test, EmptyFileListIsRejected) { EXPECT_THROW(LoadCifar10Files({}), InputError); }

TEST_F(Cifar10Test, ResolveDataPathPrefersFlagThenEnvironment) {
  {
    const ScopedEnv env("CIMSIM_DATA", std::string("/from/env"));
    EXPECT_EQ(ResolveDataPath("/from/flag"), "/from/flag");
    EXPECT_EQ(ResolveDataPath(""), "/from/env");
  }
  {
    const ScopedEnv env("CIMSIM_DATA", std::nullopt);
    EXPECT_EQ(ResolveDataPath("/from/flag"), "/from/flag");
    const std::string msg = InputErrorOf([] { ResolveDataPath(""); });
    ExpectDownloadHint(msg);
  }
  {
    const ScopedEnv env("CIMSIM_DATA", std::string(""));
    EXPECT_THROW(ResolveDataPath(""), InputError);
  }
}

TEST(Cifar10Constants, ShapesAndClassNames) {
  EXPECT_EQ(kCifarImageBytes, 3072);
  EXPECT_EQ(kCifarChannels * kCifarHeight * kCifarWidth, kCifarImageBytes);
  EXPECT_EQ(kCifarClassNames[0], "airplane");
  EXPECT_EQ(kCifarClassNames[3], "cat");
  EXPECT_EQ(kCifarClassNames[9], "truck");
}

}  // namespace
}  // namespace cimsim
