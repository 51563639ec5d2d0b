// Evaluate: accuracy bookkeeping on a hand-built classifier whose answers are known, and
// independence of predictions from batch size, thread count and precision on a random ResNet.
#include "experiments/evaluate.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/rng.h"
#include "experiments/eval_report.h"
#include "nets/builders.h"
#include "nets/linear.h"
#include "nets/pooling.h"

namespace cimsim {
namespace {

constexpr double kStep = 25.0 / 255.0;  // pixel value 25·k encodes class k

// avgpool -> linear(3, 10) with logits_k = k·a·x_R − (k·a)²/2, maximal at k = x_R / a.
Network NearestClassifier() {
  Network net;
  int x = net.Add("avgpool", std::make_unique<GlobalAvgPool>(), {Network::kInput});
  auto linear = std::make_unique<Linear>(3, 10);
  linear->weight().Fill(0.0f);
  for (int k = 0; k < 10; ++k) {
    linear->weight()[k * 3 + 0] = static_cast<float>(k * kStep);
    linear->bias()[k] = static_cast<float>(-(k * kStep) * (k * kStep) / 2);
  }
  net.Add("linear", std::move(linear), {x});
  return net;
}

// Image i shows class (i % 10) in its red plane; its label is that class except every 4th image,
// labelled (class + 1) % 10.
Cifar10Set EncodedSet(int64_t n) {
  Cifar10Set set;
  set.labels.resize(static_cast<size_t>(n));
  set.pixels.assign(static_cast<size_t>(n * kCifarImageBytes), 0);
  for (int64_t i = 0; i < n; ++i) {
    const int cls = static_cast<int>(i % 10);
    set.labels[static_cast<size_t>(i)] = static_cast<uint8_t>(i % 4 == 3 ? (cls + 1) % 10 : cls);
    std::fill_n(set.pixels.begin() + i * kCifarImageBytes, 1024, static_cast<uint8_t>(25 * cls));
  }
  return set;
}

const ChannelNorm kIdentityNorm{{0, 0, 0}, {1, 1, 1}};

TEST(Evaluate, CountsAgainstKnownAnswers) {
  Network net = NearestClassifier();
  const Cifar10Set set = EncodedSet(40);  // 10 of 40 mislabelled
  EvalParams p;
  p.batch_size = 7;
  const EvalResult r = Evaluate(net, kIdentityNorm, set, p, nullptr);
  EXPECT_EQ(r.total, 40);
  EXPECT_EQ(r.correct, 30);
  EXPECT_DOUBLE_EQ(r.Top1Percent(), 75.0);
  for (int64_t i = 0; i < 40; ++i) EXPECT_EQ(r.predictions[static_cast<size_t>(i)], i % 10);
  int64_t sum = 0;
  for (int k = 0; k < 10; ++k) sum += r.class_total[static_cast<size_t>(k)];
  EXPECT_EQ(sum, 40);
  // Label 0: class-0 images 0, 10, 20, 30 (none has i % 4 == 3, all correct) and the class-9
  // images 19 and 39, mislabelled as 0 (predicted 9).
  EXPECT_EQ(r.class_total[0], 6);
  EXPECT_EQ(r.class_correct[0], 4);

  p.limit = 12;
  const EvalResult limited = Evaluate(net, kIdentityNorm, set, p, nullptr);
  EXPECT_EQ(limited.total, 12);
  EXPECT_EQ(limited.correct, 9);
}

TEST(Evaluate, PredictionsIndependentOfBatchThreadsAndPrecision) {
  Network net = BuildCifarResNet(8, 'A', 10);
  Rng rng(5);
  for (const NamedTensor& t : net.StateDict()) {
    const bool var = t.name.find("running_var") != std::string::npos;
    for (int64_t i = 0; i < t.tensor->size(); ++i) (*t.tensor)[i] = static_cast<float>(var ? 1.0 + rng.Uniform() : 0.3 * rng.Normal());
  }
  Cifar10Set set;
  const int64_t n = 23;
  set.labels.resize(n);
  set.pixels.resize(static_cast<size_t>(n * kCifarImageBytes));
  for (auto& l : set.labels) l = static_cast<uint8_t>(rng.Below(10));
  for (auto& px : set.pixels) px = static_cast<uint8_t>(rng.Below(256));
  const ChannelNorm norm{{0.49, 0.48, 0.45}, {0.25, 0.24, 0.26}};
  EvalParams p;
  p.batch_size = 23;
  const EvalResult base = Evaluate(net, norm, set, p, nullptr);
  for (int64_t batch : {1, 5}) {
    for (int threads : {1, 2}) {
      p.batch_size = batch;
      p.threads = threads;
      EXPECT_EQ(Evaluate(net, norm, set, p, nullptr).predictions, base.predictions) << batch << " " << threads;
    }
  }
  p.precision = Precision::kFloat64Reference;
  EXPECT_EQ(Evaluate(net, norm, set, p, nullptr).predictions, base.predictions);
}

TEST(Evaluate, RejectsBadParameters) {
  Network net = NearestClassifier();
  const Cifar10Set set = EncodedSet(10);
  EvalParams p;
  p.limit = -1;
  EXPECT_THROW(Evaluate(net, kIdentityNorm, set, p, nullptr), InputError);
  p.limit = 0;
  p.batch_size = 0;
  EXPECT_THROW(Evaluate(net, kIdentityNorm, set, p, nullptr), InputError);
  Network small;
  small.Add("avgpool", std::make_unique<GlobalAvgPool>(), {Network::kInput});
  small.Add("linear", std::make_unique<Linear>(3, 5), {0});
  EXPECT_THROW(Evaluate(small, kIdentityNorm, set, EvalParams{}, nullptr), InputError);
}

TEST(EvalReport, JsonHasTheDocumentedFields) {
  Network net = NearestClassifier();
  const EvalResult r = Evaluate(net, kIdentityNorm, EncodedSet(20), EvalParams{}, nullptr);
  const nlohmann::json j = EvalReportJson(r, EvalContext{"m.h5", "test", "d.bin", EvalParams{}});
  EXPECT_EQ(j["correct"], 15);
  EXPECT_EQ(j["total"], 20);
  EXPECT_DOUBLE_EQ(j["top1"].get<double>(), 75.0);
  EXPECT_TRUE(j.contains("seconds"));
  EXPECT_EQ(j["per_class"].size(), 10u);
  EXPECT_EQ(j["per_class"][3]["name"], "cat");
  EXPECT_EQ(j["precision"], "float32");
}

}  // namespace
}  // namespace cimsim
