// Tests against the real CIFAR-10 binary files in the directory named by CIMSIM_DATA (in CI:
// /work/shared/data/cifar10). Without CIMSIM_DATA every test here is SKIPPED (reported as such).
// test_batch_exact*.bin are cimsim's own extracts (lossless records only, see PROVENANCE.txt in
// that directory); tests of them skip when the file is absent (e.g. a directory from the official
// archive).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "data/cifar10.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

constexpr char kNotSet[] =
    "CIMSIM_DATA is not set: set it to the CIFAR-10 binary directory (in CI "
    "/work/shared/data/cifar10) "
    "to run the real-data tests";

std::string DataDir() {
  const char* env = std::getenv("CIMSIM_DATA");
  return env == nullptr ? std::string() : std::string(env);
}

std::array<int, kCifarClasses> ClassCounts(const Cifar10Set& set) {
  std::array<int, kCifarClasses> counts{};
  for (const uint8_t l : set.labels) ++counts[l];
  return counts;
}

TEST(Cifar10RealData, TestSplitHas10000RecordsWith1000PerClass) {
  const std::string dir = DataDir();
  if (dir.empty()) GTEST_SKIP() << kNotSet;
  const Cifar10Set test = LoadCifar10(dir, Cifar10Split::kTest);
  ASSERT_EQ(test.size(), 10000);
  ASSERT_EQ(test.pixels.size(), 10000u * kCifarImageBytes);
  for (int c = 0; c < kCifarClasses; ++c) EXPECT_EQ(ClassCounts(test)[c], 1000) << "class " << c;
  EXPECT_EQ(test.sources, (std::vector<std::string>{(fs::path(dir) / "test_batch.bin").string()}));
}

TEST(Cifar10RealData, TestSplitStartsWithACat) {
  const std::string dir = DataDir();
  if (dir.empty()) GTEST_SKIP() << kNotSet;
  const Cifar10Set test = LoadCifar10(dir, Cifar10Split::kTest);
  ASSERT_GE(test.size(), 10);
  EXPECT_EQ(test.labels[0], 3);
  EXPECT_EQ(kCifarClassNames[test.labels[0]], "cat");
  // The first ten test labels of the official test_batch.
  EXPECT_EQ(std::vector<uint8_t>(test.labels.begin(), test.labels.begin() + 10),
            (std::vector<uint8_t>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}));
}

TEST(Cifar10RealData, TrainSplitHas50000ImagesWith5000PerClassInBatchOrder) {
  const std::string dir = DataDir();
  if (dir.empty()) GTEST_SKIP() << kNotSet;
  const Cifar10Set train = LoadCifar10(dir, Cifar10Split::kTrain);
  ASSERT_EQ(train.size(), 50000);
  for (int c = 0; c < kCifarClasses; ++c) EXPECT_EQ(ClassCounts(train)[c], 5000) << "class " << c;
  ASSERT_EQ(train.sources.size(), 5u);
  EXPECT_EQ(std::vector<uint8_t>(train.labels.begin(), train.labels.begin() + 10),
            (std::vector<uint8_t>{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}));
  // Train image 10000 * (j - 1) + k is record k of data_batch_j.
  for (int j = 1; j <= 5; ++j) {
    const Cifar10Set batch =
        LoadCifar10Files({(fs::path(dir) / ("data_batch_" + std::to_string(j) + ".bin")).string()});
    ASSERT_EQ(batch.size(), 10000);
    for (const int64_t k : {int64_t{0}, int64_t{4321}, int64_t{9999}}) {
      const int64_t i = 10000 * (j - 1) + k;
      EXPECT_EQ(train.labels[static_cast<size_t>(i)], batch.labels[static_cast<size_t>(k)]);
      EXPECT_TRUE(std::equal(batch.image(k), batch.image(k) + kCifarImageBytes, train.image(i)))
          << "train image " << i;
    }
  }
}

// Checks the R, G, B plane order: the per-channel means of pixel/255 over the train set are the
// widely published (0.4914, 0.4822, 0.4465); a swapped or interleaved layout would miss by > 0.03.
TEST(Cifar10RealData, TrainChannelMeansMatchThePublishedValues) {
  const std::string dir = DataDir();
  if (dir.empty()) GTEST_SKIP() << kNotSet;
  const Cifar10Set train = LoadCifar10(dir, Cifar10Split::kTrain);
  constexpr int kPlane = kCifarHeight * kCifarWidth;
  std::array<int64_t, kCifarChannels> sums{};
  for (int64_t i = 0; i < train.size(); ++i) {
    const uint8_t* img = train.image(i);
    for (int c = 0; c < kCifarChannels; ++c) {
      int64_t s = 0;
      for (int k = 0; k < kPlane; ++k) s += img[c * kPlane + k];
      sums[c] += s;
    }
  }
  const std::array<double, kCifarChannels> published = {0.4914, 0.4822, 0.4465};
  for (int c = 0; c < kCifarChannels; ++c) {
    const double mean = static_cast<double>(sums[c]) / (255.0 * kPlane * train.size());
    EXPECT_NEAR(mean, published[c], 1e-3) << "channel " << c;
  }
}

TEST(Cifar10RealData, ExactTestRecordsAreTheListedTestBatchRecords) {
  const std::string dir = DataDir();
  if (dir.empty()) GTEST_SKIP() << kNotSet;
  const fs::path exact_file = fs::path(dir) / "test_batch_exact.bin";
  const fs::path index_file = fs::path(dir) / "test_batch_exact_indices.txt";
  if (!fs::exists(exact_file) || !fs::exists(index_file)) {
    GTEST_SKIP() << exact_file << " or " << index_file
                 << " is absent (cimsim's own extract, not in "
                 << "the official archive)";
  }
  const Cifar10Set exact = LoadCifar10(exact_file.string(), Cifar10Split::kTest);
  ASSERT_EQ(exact.size(), 1228);
  std::vector<int64_t> indices;
  std::ifstream in(index_file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') indices.push_back(std::stoll(line));
  }
  ASSERT_EQ(indices.size(), 1228u);
  const Cifar10Set test = LoadCifar10(dir, Cifar10Split::kTest);
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t i = indices[k];
    ASSERT_GE(i, 0);
    ASSERT_LT(i, test.size());
    ASSERT_EQ(exact.labels[k], test.labels[static_cast<size_t>(i)]) << "exact record " << k;
    ASSERT_TRUE(std::equal(exact.image(static_cast<int64_t>(k)),
                           exact.image(static_cast<int64_t>(k)) + kCifarImageBytes, test.image(i)))
        << "exact record " << k << " vs test record " << i;
  }
  // The first 1000 are test records 0..999.
  EXPECT_EQ(indices[0], 0);
  EXPECT_EQ(indices[999], 999);
}

}  // namespace
}  // namespace cimsim
