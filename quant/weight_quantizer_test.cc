// Weight quantization: hand-worked matrices per channel and per tensor (values chosen so every
// w/scale is exact in binary, ties included), code ranges at 2..8 bits, agreement with ChooseClip,
// bias correction by hand and on random rows, and the errors.
#include "quant/weight_quantizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/rng.h"
#include "common/test_support.h"

namespace cimsim {
namespace {

using ::cimsim::testing::HasPart;

using ::cimsim::testing::InvalidArgumentOf;

WeightQuantParams MaxParams(int bits, bool per_channel) {
  WeightQuantParams p;
  p.bits = bits;
  p.per_channel = per_channel;
  p.range.method = RangeMethod::kMax;
  return p;
}

// Three rows of four: row 0 has α = 1.75, row 1 α = 3.5, row 2 is zero.
const std::vector<float> kHand = {1.75f, -0.875f, 0.125f, 0.0f,    //
                                  3.5f,  -1.25f,  0.75f,  -0.25f,  //
                                  0.0f,  0.0f,    0.0f,   0.0f};

TEST(QuantizeWeights, PerChannelHandWorked) {
  // 4 bits: q_max = 7. Row 0: s = 1.75/7 = 0.25, w/s = 7, −3.5, 0.5, 0 → 7, −4, 1, 0 (ties away).
  // Row 1: s = 3.5/7 = 0.5, w/s = 7, −2.5, 1.5, −0.5 → 7, −3, 2, −1. Row 2: α = 0 → scale 1, codes 0.
  const QuantizedWeights q = QuantizeWeights(kHand.data(), 3, 4, MaxParams(4, true));
  EXPECT_EQ(q.rows, 3);
  EXPECT_EQ(q.cols, 4);
  EXPECT_EQ(q.codes, (std::vector<int16_t>{7, -4, 1, 0, 7, -3, 2, -1, 0, 0, 0, 0}));
  EXPECT_EQ(q.scales, (std::vector<double>{0.25, 0.5, 1.0}));
  EXPECT_EQ(q.mean_shift, (std::vector<double>{0, 0, 0}));
}

TEST(QuantizeWeights, PerTensorHandWorked) {
  // α = 3.5 for the whole tensor, s = 0.5. Row 0: w/s = 3.5, −1.75, 0.25, 0 → 4, −2, 0, 0.
  const QuantizedWeights q = QuantizeWeights(kHand.data(), 3, 4, MaxParams(4, false));
  EXPECT_EQ(q.codes, (std::vector<int16_t>{4, -2, 0, 0, 7, -3, 2, -1, 0, 0, 0, 0}));
  EXPECT_EQ(q.scales, (std::vector<double>{0.5, 0.5, 0.5}));
  // All-zero tensor: scale 1, codes 0.
  const std::vector<float> zeros(6, 0.0f);
  const QuantizedWeights z = QuantizeWeights(zeros.data(), 2, 3, MaxParams(4, false));
  EXPECT_EQ(z.codes, std::vector<int16_t>(6, 0));
  EXPECT_EQ(z.scales, (std::vector<double>{1, 1}));
}

TEST(QuantizeWeights, CodeRangeAtEveryWidth) {
  Rng rng(31);
  std::vector<float> w(8 * 50);
  for (float& x : w) x = static_cast<float>(rng.Normal());
  for (int bits = 2; bits <= 8; ++bits) {
    SCOPED_TRACE(bits);
    const int q_max = (1 << (bits - 1)) - 1;
    // kMax: each row's largest |w| maps to ±q_max exactly; nothing beyond.
    const QuantizedWeights q = QuantizeWeights(w.data(), 8, 50, MaxParams(bits, true));
    for (int64_t o = 0; o < 8; ++o) {
      const auto first = q.codes.begin() + o * 50, last = first + 50;
      const int lo = *std::min_element(first, last), hi = *std::max_element(first, last);
      EXPECT_EQ(std::max(-lo, hi), q_max);
      EXPECT_GE(lo, -q_max);
    }
    // A 90th-percentile clip: the codes saturate at ±q_max, never beyond, and a dequantized weight
    // is within half a step of the clipped weight.
    WeightQuantParams p = MaxParams(bits, true);
    p.range.method = RangeMethod::kPercentile;
    p.range.percentile = 90;
    const QuantizedWeights c = QuantizeWeights(w.data(), 8, 50, p);
    int saturated = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      ASSERT_LE(std::abs(c.codes[i]), q_max);
      saturated += std::abs(c.codes[i]) == q_max;
      const double s = c.scales[i / 50], alpha = s * q_max;
      EXPECT_LE(std::fabs(std::clamp<double>(w[i], -alpha, alpha) - s * c.codes[i]), 0.5 * s * (1 + 1e-12));
    }
    EXPECT_GE(saturated, 8 * 5);   // at least the top 10 % of each row
  }
}

TEST(QuantizeWeights, ScalesComeFromChooseClip) {
  Rng rng(32);
  const int64_t rows = 6, cols = 72;
  std::vector<float> w(rows * cols);
  for (float& x : w) x = static_cast<float>(0.1 * rng.Normal());
  for (RangeMethod method : {RangeMethod::kPercentile, RangeMethod::kMse, RangeMethod::kAciq}) {
    WeightQuantParams p;
    p.bits = 5;
    p.range.method = method;
    p.range.percentile = 99;
    const double q_max = 15;
    p.per_channel = true;
    const QuantizedWeights q = QuantizeWeights(w.data(), rows, cols, p);
    for (int64_t o = 0; o < rows; ++o) {
      const std::span<const float> row(w.data() + o * cols, cols);
      double abs_max = 0;
      for (float x : row) abs_max = std::max(abs_max, std::fabs(static_cast<double>(x)));
      EXPECT_DOUBLE_EQ(q.scales[o], ChooseClip(row, abs_max, 5, true, p.range) / q_max);
    }
    p.per_channel = false;
    const QuantizedWeights t = QuantizeWeights(w.data(), rows, cols, p);
    double abs_max = 0;
    for (float x : w) abs_max = std::max(abs_max, std::fabs(static_cast<double>(x)));
    for (int64_t o = 0; o < rows; ++o) EXPECT_DOUBLE_EQ(t.scales[o], ChooseClip(w, abs_max, 5, true, p.range) / q_max);
  }
}

TEST(QuantizeWeights, BiasCorrectionHandWorked) {
  // Row [1, 1, 1, 5], 2 bits (codes −1..1), max clip: s = 5, codes [0, 0, 0, 1].
  // mean(w) = 2, std(w) = √((1+1+1+9)/4) = √3; mean(q) = 1/4, std(q) = √(1/4·3/4) = √3/4.
  // Corrected scale = √3 / (√3/4) = 4, mean_shift = 2 − 4·1/4 = 1: 4·q + 1 = [1, 1, 1, 5] exactly.
  // Row [2, 2, 2]: codes all 1 (std 0), scale kept at 2, shift 2 − 2·1 = 0.
  const std::vector<float> w = {1, 1, 1, 5, 2, 2, 2, 2, 0, 0, 0, 0};
  WeightQuantParams p = MaxParams(2, true);
  p.bias_correction = true;
  const QuantizedWeights q = QuantizeWeights(w.data(), 3, 4, p);
  EXPECT_EQ(q.codes, (std::vector<int16_t>{0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0}));
  EXPECT_NEAR(q.scales[0], 4.0, 1e-12);
  EXPECT_NEAR(q.mean_shift[0], 1.0, 1e-12);
  EXPECT_EQ(q.scales[1], 2.0);
  EXPECT_NEAR(q.mean_shift[1], 0.0, 1e-12);
  EXPECT_EQ(q.scales[2], 1.0);   // zero row: untouched
  EXPECT_EQ(q.mean_shift[2], 0.0);
}

TEST(QuantizeWeights, BiasCorrectionMatchesRowMeansAndStds) {
  // Rows of shifted Laplace weights, 4-bit ACIQ clipping (which clips, so the dequantized rows are
  // biased and too narrow). After correction, scales[o]·q + mean_shift[o] has the float row's mean and
  // standard deviation (to float rounding); the codes themselves do not change.
  Rng rng(33);
  const int64_t rows = 16, cols = 144;
  std::vector<float> w(rows * cols);
  for (int64_t o = 0; o < rows; ++o) {
    const double offset = 0.01 * static_cast<double>(o) - 0.05;
    for (int64_t k = 0; k < cols; ++k) {
      const double e1 = -std::log(1 - rng.Uniform()), e2 = -std::log(1 - rng.Uniform());
      w[o * cols + k] = static_cast<float>(offset + 0.02 * (e1 - e2));
    }
  }
  for (bool per_channel : {true, false}) {
    SCOPED_TRACE(per_channel);
    WeightQuantParams p;
    p.bits = 4;
    p.per_channel = per_channel;
    const QuantizedWeights plain = QuantizeWeights(w.data(), rows, cols, p);
    p.bias_correction = true;
    const QuantizedWeights q = QuantizeWeights(w.data(), rows, cols, p);
    EXPECT_EQ(q.codes, plain.codes);
    double worst_plain_mean_error = 0;
    for (int64_t o = 0; o < rows; ++o) {
      double wm = 0, dm = 0, pm = 0;
      for (int64_t k = 0; k < cols; ++k) {
        wm += w[o * cols + k];
        dm += q.scales[o] * q.codes[o * cols + k] + q.mean_shift[o];
        pm += plain.scales[o] * plain.codes[o * cols + k];
      }
      wm /= cols;
      dm /= cols;
      pm /= cols;
      double wv = 0, dv = 0;
      for (int64_t k = 0; k < cols; ++k) {
        wv += std::pow(w[o * cols + k] - wm, 2);
        dv += std::pow(q.scales[o] * q.codes[o * cols + k] + q.mean_shift[o] - dm, 2);
      }
      EXPECT_NEAR(dm, wm, 1e-7);
      EXPECT_NEAR(std::sqrt(dv / cols), std::sqrt(wv / cols), 1e-7);
      worst_plain_mean_error = std::max(worst_plain_mean_error, std::fabs(pm - wm));
    }
    // Without correction the means are visibly off (clipping + rounding): the correction did something.
    EXPECT_GT(worst_plain_mean_error, 1e-4);
  }
}

TEST(QuantizeWeights, Errors) {
  const std::vector<float> w = {1, 2, 3, 4};
  WeightQuantParams p;
  p.bits = 1;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { p.Validate(); }), "bits = 1"));
  p.bits = 9;
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { QuantizeWeights(w.data(), 2, 2, p); }), "bits = 9"));
  p = WeightQuantParams{};
  p.range.percentile = 0;
  const std::string range_message = InvalidArgumentOf([&] { p.Validate(); });
  EXPECT_TRUE(HasPart(range_message, "range"));
  EXPECT_TRUE(HasPart(range_message, "percentile = 0"));
  p = WeightQuantParams{};
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { QuantizeWeights(w.data(), 0, 2, p); }), "[0, 2]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { QuantizeWeights(w.data(), 2, 0, p); }), "[2, 0]"));
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { QuantizeWeights(nullptr, 2, 2, p); }), "null"));
  const std::vector<float> bad = {1, 2, std::numeric_limits<float>::quiet_NaN(), 4};
  EXPECT_TRUE(HasPart(InvalidArgumentOf([&] { QuantizeWeights(bad.data(), 2, 2, p); }), "weight 2 (row 1)"));
}

}  // namespace
}  // namespace cimsim
