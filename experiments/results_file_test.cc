// Point files at the scale a Monte Carlo study uses: 1,000 chip instances of a 21-layer network.
#include "experiments/results_file.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/h5_file.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

TEST(PointFile, AThousandInstancesAreWrittenAndReadBackWhole) {
  const testing::ScopedTempDir temp("point_file");
  constexpr int64_t kInstances = 1000, kLayers = 21;
  PointData p;
  p.summary.index = 0;
  p.summary.params = nlohmann::json::object();
  for (int64_t l = 0; l < kLayers; ++l) p.summary.layers.push_back("layer" + std::to_string(l) + ".conv");
  for (int64_t k = 0; k < kInstances; ++k) {
    p.summary.accuracy.push_back(0.9 - 1e-4 * static_cast<double>(k));
    p.correct.push_back(900 - k / 10);
    for (int64_t l = 0; l < kLayers; ++l) {
      p.summary.dot_relative.push_back(0.01 * static_cast<double>(l + 1) + 1e-6 * static_cast<double>(k));
      p.dot_rmse.push_back(1.5 * static_cast<double>(l + 1));
    }
  }
  p.summary.accuracy_mean = 0.85;
  p.images = 1000;
  p.xbar_json = "{}";
  const std::string file = temp.Path("0000.h5");
  WritePointFile(file, p, "{\"key\": 1}", 1);
  const PointSummary back = ReadPointSummary(file, "{\"key\": 1}");
  EXPECT_EQ(back.accuracy, p.summary.accuracy);
  EXPECT_EQ(back.dot_relative, p.summary.dot_relative);
  EXPECT_EQ(back.layers, p.summary.layers);
  WriteResultsFile(temp.Path("results.h5"), "{\"key\": 1}", 1, kInstances, nlohmann::json::array(), {file}, {back}, "", nullptr);
  const H5File results = H5File::OpenRead(temp.Path("results.h5"));
  EXPECT_EQ(results.DatasetShape(PointGroup(0, 1) + "/dot_relative"), (std::vector<int64_t>{kInstances, kLayers}));
}

}  // namespace
}  // namespace cimsim
