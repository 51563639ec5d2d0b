// WeightQuantizer on the full weight grid (quant/weight_grid.h): the LSQ codes reach −2^(b−1), a
// mirrored row takes its codes in [−Q_P, Q_N] (what a channel with a negative BatchNorm γ deploys
// negated), codes and gradients equal the LSQ kernel's on the row's range, the symmetric grid is
// unchanged by mirroring, and the combinations the full grid does not support throw.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"
#include "quant/lsq.h"
#include "quant/weight_grid.h"
#include "train/fake_quantizer.h"
#include "train/weight_rows_test_util.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;
using ::cimsim::testing::InvalidArgumentOf;
using ::cimsim::testing::RandomWeightRows;

constexpr int64_t kCols = 300;
const std::vector<double> kScales = {0.05, 0.11, 0.02};

// Row 1 mirrored. Every row's codes and gradients are the LSQ kernel's on that row's range.
TEST(WeightQuantizerGrid, FullGridRowsMatchTheLsqKernelOnTheirRange) {
  for (int bits : {2, 3, 5}) {
    SCOPED_TRACE(bits);
    const WeightCodeRange full = WeightCodes(bits, WeightGrid::kFull);
    WeightQuantizer q(QatMethod::kLsq, full, static_cast<int64_t>(kScales.size()), kCols, kScales);
    EXPECT_EQ(q.codes().min, full.min);
    EXPECT_EQ(q.codes().max, full.max);
    q.SetRowMirrored(1, true);
    Rng rng(7);
    const testing::WeightRows r = RandomWeightRows(kCols, kScales, 1.5 * full.MaxAbs(), rng);
    std::vector<float> codes(r.w.size()), grad_w(r.w.size());
    q.Codes(r.w.data(), codes.data());
    q.Backward(r.w.data(), r.grad.data(), grad_w.data());
    float steps[3];
    int64_t at_min[3] = {0, 0, 0}, at_max[3] = {0, 0, 0};
    q.VisitParams("w", [&](const std::string& name, Tensor& p, Tensor& g) {
      if (name == "w_step")
        for (int o = 0; o < 3; ++o) steps[o] = g[o];
      (void)p;
    });
    for (int64_t o = 0; o < 3; ++o) {
      const LsqRange range = o == 1 ? LsqRange{full.max, -full.min} : LsqRange{-full.min, full.max};
      const size_t b = static_cast<size_t>(o * kCols);
      std::span<const float> w(r.w.data() + b, kCols), g(r.grad.data() + b, kCols);
      std::vector<int16_t> want(kCols);
      std::vector<float> want_grad(kCols);
      LsqCodes(w, static_cast<float>(kScales[static_cast<size_t>(o)]), range, want);
      const double step = LsqBackward(w, g, static_cast<float>(kScales[static_cast<size_t>(o)]), range, want_grad);
      for (int64_t k = 0; k < kCols; ++k) {
        ASSERT_EQ(codes[b + static_cast<size_t>(k)], want[static_cast<size_t>(k)]) << o << " " << k;
        ASSERT_EQ(grad_w[b + static_cast<size_t>(k)], want_grad[static_cast<size_t>(k)]) << o << " " << k;
        at_min[o] += codes[b + static_cast<size_t>(k)] == -range.q_n;
        at_max[o] += codes[b + static_cast<size_t>(k)] == range.q_p;
      }
      EXPECT_EQ(steps[o], static_cast<float>(step * LsqGradScale(kCols, full.max)));
      EXPECT_GT(at_min[o], 0);
      EXPECT_GT(at_max[o], 0);
    }
  }
}

TEST(WeightQuantizerGrid, MirroringTheSymmetricGridChangesNothing) {
  WeightQuantizer plain(QatMethod::kLsq, 2, 3, kCols, kScales), mirrored(QatMethod::kLsq, 2, 3, kCols, kScales);
  for (int64_t o = 0; o < 3; ++o) mirrored.SetRowMirrored(o, true);
  Rng rng(3);
  const testing::WeightRows r = RandomWeightRows(kCols, kScales, 2.5, rng);
  std::vector<float> a(r.w.size()), b(r.w.size()), ga(r.w.size()), gb(r.w.size());
  plain.Codes(r.w.data(), a.data());
  mirrored.Codes(r.w.data(), b.data());
  plain.Backward(r.w.data(), r.grad.data(), ga.data());
  mirrored.Backward(r.w.data(), r.grad.data(), gb.data());
  EXPECT_EQ(a, b);
  EXPECT_EQ(ga, gb);
}

TEST(WeightQuantizerGrid, UnsupportedCombinationsThrowNamingThem) {
  const WeightCodeRange full = WeightCodes(2, WeightGrid::kFull);
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { WeightQuantizer(QatMethod::kDsq, full, 1, 4, {0.1}); }),
                      "the full grid [-2, 1] is for LSQ; dsq takes the symmetric grid"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { WeightQuantizer(QatMethod::kLsq, WeightCodeRange{-3, 1}, 1, 4, {0.1}); }),
                      "codes [-3, 1] are not a symmetric or full grid"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { WeightQuantizer(QatMethod::kLsq, WeightCodeRange{-2, 2}, 1, 4, {0.1}); }),
                      "codes [-2, 2] are not a symmetric or full grid"));
  WeightQuantizer q(QatMethod::kLsq, full, 1, 4, {0.1});
  q.SetDampening(0);  // off is fine
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { q.SetDampening(0.1); }), "defined on the symmetric grid, not the full grid [-2, 1]"));
}

// A frozen weight of a row mirrored after it froze stays on the row's current range.
TEST(WeightQuantizerGrid, FrozenCodesStayOnTheRowsRange) {
  const WeightCodeRange full = WeightCodes(2, WeightGrid::kFull);
  WeightQuantizer q(QatMethod::kLsq, full, 1, 2, {1.0});
  const std::vector<float> w = {-2.0f, 0.0f};  // codes −2, 0
  std::vector<float> codes(2);
  q.Codes(w.data(), codes.data());
  EXPECT_EQ(codes, (std::vector<float>{-2, 0}));
  q.EnableFreezing(codes);
  // Oscillate weight 0 between −2 and −1 until it freezes at the rounded mean (−2 after a step at −2).
  const std::vector<std::vector<float>> steps = {{-1, 0}, {-2, 0}, {-1, 0}, {-2, 0}};
  int64_t frozen = 0;
  for (const auto& c : steps) frozen += q.TrackOscillations(c, 0.5, 0.3);
  ASSERT_EQ(frozen, 1);
  ASSERT_TRUE(q.freezing()->frozen(0));
  q.SetRowMirrored(0, true);  // the row's range is now [−1, 2]
  q.Codes(w.data(), codes.data());
  EXPECT_EQ(codes[0], -1.0f);  // −2 clamped to the mirrored range
  EXPECT_EQ(codes[1], 0.0f);
}

}  // namespace
}  // namespace cimsim
