// The external (hardware-in-the-loop) core on real data: the pretrained ResNet-20 (CIMSIM_MODEL) at
// W8A8 on the lossless test images (CIMSIM_DATA), every conv/linear layer on the reference chip
// server (scripts/chip_server.py, ideal device) through a chip config's "external" section: the
// predictions and logits must be exactly the integer engine's. "results" mode (the chip returns dot
// products) on 300 images; "reads" mode (raw column ADC codes, the host's digital periphery) on 24,
// since the emulator's numpy column sums are slow. Skipped, with the reason, when the model or the
// data is missing; the server needs /usr/bin/python3 with numpy (installed by scripts/install_deps.sh).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/test_support.h"
#include "data/calibration_subset.h"
#include "data/cifar10.h"
#include "experiments/xbar_config.h"
#include "nets/checkpoint.h"
#include "nets/integer_network.h"
#include "nets/quantize_network.h"

namespace cimsim {
namespace {

std::vector<ResolvedLayer> W8A8(const Network& net) {
  std::vector<ResolvedLayer> layers;
  for (const std::string& name : MvmLayerNames(net)) {
    ResolvedLayer l;
    l.name = name;
    l.params.weight_bits = l.params.activation_bits = 8;
    l.mode = QuantMode::kPtq;
    layers.push_back(l);
  }
  return layers;
}

TEST(ExternalChipRealData, IdealServerGivesTheIntegerEnginesPredictionsOnLosslessImages) {
  testing::RealDataPaths paths;
  std::string skip;
  if (!testing::PretrainedModelAndData(paths, skip)) GTEST_SKIP() << skip;
  const LoadedModel loaded = LoadModel(paths.model);
  const Cifar10Set train = LoadCifar10(paths.data_dir + "/data_batch_1.bin", Cifar10Split::kTrain);
  const Cifar10Set test = LoadCifar10(paths.lossless_test, Cifar10Split::kTest);
  const QuantizedModel model = QuantizeNetwork(loaded.net, loaded.spec, W8A8(loaded.net), train,
                                               CalibrationSubset(train, 100, 1, true), QuantizeOptions{}, nullptr);
  ThreadPool pool(2);
  for (const char* result : {"results", "reads"}) {
    SCOPED_TRACE(result);
    const int64_t n = std::string(result) == "results" ? 300 : 24;
    std::vector<int32_t> expected(static_cast<size_t>(n * 10)), logits(expected.size(), -1);
    IntegerNetwork(model).Forward(test.image(0), n, expected.data(), pool);
    const nlohmann::json chip = {
        {"seed", 1},
        {"external",
         {{"command", {"/usr/bin/python3", std::string(CIMSIM_SOURCE_DIR) + "/scripts/chip_server.py", "--device", "ideal"}},
          {"timeout_s", 120},
          {"result", result}}}};
    IntegerNetwork external(model, ChipCoreFactory(ParseXbarConfig(chip, "chip")));
    ASSERT_EQ(external.core(0)->Name(), "external");
    EXPECT_EQ(external.core(0)->Readout() != nullptr, std::string(result) == "reads");
    external.Forward(test.image(0), n, logits.data(), pool);
    int64_t same = 0, correct = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int32_t* a = expected.data() + i * 10;
      const int32_t* b = logits.data() + i * 10;
      const int64_t pa = std::max_element(a, a + 10) - a, pb = std::max_element(b, b + 10) - b;
      same += pa == pb;
      correct += pb == test.labels[static_cast<size_t>(i)];
    }
    std::printf("external chip (%s, ideal device): %lld / %lld predictions equal the integer engine's, %lld correct\n",
                result, static_cast<long long>(same), static_cast<long long>(n), static_cast<long long>(correct));
    EXPECT_EQ(same, n);
    EXPECT_EQ(logits, expected);
  }
}

}  // namespace
}  // namespace cimsim
