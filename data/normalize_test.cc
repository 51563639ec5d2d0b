// Tests of input normalization: validation, the reference formula, and the table fast path against
// it.
#include "common/test_support.h"
#include "data/normalize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"

namespace cimsim {
namespace {

using cimsim::testing::HasPart;
using cimsim::testing::InputErrorOf;

constexpr int kPlane = kCifarHeight * kCifarWidth;

ChannelNorm Norm(double m0, double m1, double m2, double s0, double s1, double s2) {
  ChannelNorm n;
  n.mean = {m0, m1, m2};
  n.std = {s0, s1, s2};
  return n;
}

// An image whose every channel holds all 256 byte values (4 times each), differently shifted per
// channel.
std::vector<uint8_t> AllValuesImage() {
  std::vector<uint8_t> img(kCifarImageBytes);
  for (int c = 0; c < kCifarChannels; ++c) {
    for (int k = 0; k < kPlane; ++k) img[c * kPlane + k] = static_cast<uint8_t>((k + 85 * c) % 256);
  }
  return img;
}

std::string ValidateMessage(const ChannelNorm& n) {
  return InputErrorOf([&] { n.Validate("model.h5"); });
}

TEST(ChannelNorm, AcceptsTheUsualCifarValuesAndTheRangeEnds) {
  EXPECT_NO_THROW(Norm(0.4914, 0.4822, 0.4465, 0.2470, 0.2435, 0.2616).Validate("x"));
  EXPECT_NO_THROW(Norm(0, 1, 0.5, 1, 1e-6, 1).Validate("x"));
}

TEST(ChannelNorm, RejectsOutOfRangeValuesNamingWhereFieldAndValue) {
  std::string msg = ValidateMessage(Norm(0.5, 1.5, 0.5, 0.2, 0.2, 0.2));
  EXPECT_TRUE(HasPart(msg, "model.h5"));
  EXPECT_TRUE(HasPart(msg, "mean[1]"));
  EXPECT_TRUE(HasPart(msg, "1.5"));
  EXPECT_TRUE(HasPart(msg, "[0, 1]"));

  msg = ValidateMessage(Norm(-0.25, 0.5, 0.5, 0.2, 0.2, 0.2));
  EXPECT_TRUE(HasPart(msg, "mean[0]"));
  EXPECT_TRUE(HasPart(msg, "-0.25"));

  msg = ValidateMessage(Norm(0.5, 0.5, 0.5, 0.2, 0.2, 0));
  EXPECT_TRUE(HasPart(msg, "std[2]"));
  EXPECT_TRUE(HasPart(msg, "(0, 1]"));

  msg = ValidateMessage(Norm(0.5, 0.5, 0.5, 0.2, -0.2, 0.2));
  EXPECT_TRUE(HasPart(msg, "std[1]"));
  EXPECT_TRUE(HasPart(msg, "-0.2"));

  msg = ValidateMessage(Norm(0.5, 0.5, 0.5, 1.25, 0.2, 0.2));
  EXPECT_TRUE(HasPart(msg, "std[0]"));
  EXPECT_TRUE(HasPart(msg, "1.25"));

  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_TRUE(HasPart(ValidateMessage(Norm(nan, 0.5, 0.5, 0.2, 0.2, 0.2)), "mean[0]"));
  EXPECT_TRUE(HasPart(ValidateMessage(Norm(0.5, 0.5, 0.5, 0.2, nan, 0.2)), "std[1]"));
}

TEST(ChannelNorm, NormalizerValidatesWithTheGivenOrigin) {
  try {
    Normalizer n(Norm(0.5, 0.5, 0.5, 0.2, 0.2, 2.0), "ckpt.h5");
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_TRUE(HasPart(e.what(), "ckpt.h5"));
    EXPECT_TRUE(HasPart(e.what(), "std[2]"));
  }
}

TEST(NormalizeImage, ReferenceFollowsTheFormulaPerChannel) {
  // Values chosen so the results are exact in binary: (p/255 - m) / s.
  const ChannelNorm n = Norm(0.5, 0.0, 1.0, 0.25, 0.5, 1.0);
  std::vector<uint8_t> img(kCifarImageBytes, 0);
  img[0] = 255;               // R: (1 - 0.5) / 0.25 = 2
  img[kPlane] = 255;          // G: (1 - 0) / 0.5 = 2
  img[2 * kPlane] = 0;        // B: (0 - 1) / 1 = -1
  img[2 * kPlane + 1] = 255;  // B: 0
  std::vector<double> out(kCifarImageBytes);
  NormalizeImage(img.data(), n, out.data());
  EXPECT_EQ(out[0], 2.0);
  EXPECT_EQ(out[1], -2.0);  // R pixel 0: (0 - 0.5) / 0.25
  EXPECT_EQ(out[kPlane], 2.0);
  EXPECT_EQ(out[kPlane + 1], 0.0);
  EXPECT_EQ(out[2 * kPlane], -1.0);
  EXPECT_EQ(out[2 * kPlane + 1], 0.0);
  // An arbitrary pixel against the formula written out here.
  img[kPlane + 77] = 123;
  NormalizeImage(img.data(), n, out.data());
  EXPECT_DOUBLE_EQ(out[kPlane + 77], (123.0 / 255.0 - 0.0) / 0.5);
}

// Tolerance: 0 ulps. The table holds, for each byte value, the same double expression the reference
// evaluates per pixel (and for float, that double rounded once), so the fast path must be
// bit-identical. Separately, the float reference must be the double value correctly rounded
// (|f - d| <= 0.5 ulp(f)).
TEST(Normalizer, TableMatchesReferenceExactlyForAllByteValues) {
  const std::vector<ChannelNorm> norms = {
      Norm(0.4914, 0.4822, 0.4465, 0.2470, 0.2435, 0.2616),
      Norm(0.0, 1.0, 0.3, 1.0, 0.01, 0.333),
  };
  const std::vector<uint8_t> img = AllValuesImage();
  for (const ChannelNorm& n : norms) {
    const Normalizer fast(n);
    std::vector<float> ref_f(kCifarImageBytes), fast_f(kCifarImageBytes);
    std::vector<double> ref_d(kCifarImageBytes), fast_d(kCifarImageBytes);
    NormalizeImage(img.data(), n, ref_f.data());
    NormalizeImage(img.data(), n, ref_d.data());
    fast.Apply(img.data(), fast_f.data());
    fast.Apply(img.data(), fast_d.data());
    for (int i = 0; i < kCifarImageBytes; ++i) {
      ASSERT_EQ(fast_f[i], ref_f[i]) << "float, index " << i << " pixel " << int{img[i]};
      ASSERT_EQ(fast_d[i], ref_d[i]) << "double, index " << i << " pixel " << int{img[i]};
      const float f = ref_f[i];
      const double half_ulp =
          0.5 *
          (std::nextafter(std::fabs(f), std::numeric_limits<float>::infinity()) - std::fabs(f));
      ASSERT_LE(std::fabs(static_cast<double>(f) - ref_d[i]), half_ulp) << "index " << i;
    }
  }
}

TEST(Normalizer, KeepsItsNorm) {
  const ChannelNorm n = Norm(0.1, 0.2, 0.3, 0.4, 0.5, 0.6);
  const Normalizer fast(n);
  EXPECT_EQ(fast.norm().mean, n.mean);
  EXPECT_EQ(fast.norm().std, n.std);
}

}  // namespace
}  // namespace cimsim
