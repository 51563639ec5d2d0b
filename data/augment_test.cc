// Tests of RandomCrop(32, padding=4) + RandomHorizontalFlip against a naive padded-buffer
// reference.
#include "data/augment.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <vector>

#include "common/rng.h"
#include "data/cifar10.h"

namespace cimsim {
namespace {

constexpr int kH = kCifarHeight, kW = kCifarWidth, kC = kCifarChannels;
constexpr int kPadded = kH + 2 * kAugmentPad;  // 40

// A random image with every pixel in 1..255, so a 0 in the output can only come from the padding.
std::vector<uint8_t> NonZeroImage(uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> img(kCifarImageBytes);
  for (uint8_t& p : img) p = static_cast<uint8_t>(1 + rng.Below(255));
  return img;
}

// Naive reference: build the explicit zero-padded [3, 40, 40] image, crop at (dy, dx), then mirror.
std::vector<uint8_t> ReferenceAugment(const std::vector<uint8_t>& src, const AugmentDraw& d) {
  std::vector<uint8_t> padded(kC * kPadded * kPadded, 0);
  for (int c = 0; c < kC; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        padded[(c * kPadded + y + kAugmentPad) * kPadded + x + kAugmentPad] =
            src[(c * kH + y) * kW + x];
      }
    }
  }
  std::vector<uint8_t> crop(kCifarImageBytes);
  for (int c = 0; c < kC; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        crop[(c * kH + y) * kW + x] = padded[(c * kPadded + y + d.dy) * kPadded + x + d.dx];
      }
    }
  }
  if (!d.flip) return crop;
  std::vector<uint8_t> out(kCifarImageBytes);
  for (int c = 0; c < kC; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x)
        out[(c * kH + y) * kW + x] = crop[(c * kH + y) * kW + (kW - 1 - x)];
    }
  }
  return out;
}

std::vector<uint8_t> Apply(const std::vector<uint8_t>& src, const AugmentDraw& d) {
  std::vector<uint8_t> out(kCifarImageBytes, 0xAA);  // poison: every byte must be written
  ApplyAugment(src.data(), d, out.data());
  return out;
}

TEST(Augment, CenteredWithoutFlipIsIdentity) {
  const std::vector<uint8_t> img = NonZeroImage(1);
  EXPECT_EQ(Apply(img, {4, 4, false}), img);
}

TEST(Augment, FlipTwiceIsIdentityAndFlipMirrorsRows) {
  const std::vector<uint8_t> img = NonZeroImage(2);
  const std::vector<uint8_t> once = Apply(img, {4, 4, true});
  EXPECT_NE(once, img);
  for (int c = 0; c < kC; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        ASSERT_EQ(once[(c * kH + y) * kW + x], img[(c * kH + y) * kW + (kW - 1 - x)]);
      }
    }
  }
  EXPECT_EQ(Apply(once, {4, 4, true}), img);
}

TEST(Augment, CornerOffsetsShiftContentAndZeroTheBorder) {
  const std::vector<uint8_t> img = NonZeroImage(3);
  // dy = dx = 0: the window starts 4 rows/cols above-left of the image.
  const std::vector<uint8_t> tl = Apply(img, {0, 0, false});
  // dy = dx = 8: 4 rows/cols below-right.
  const std::vector<uint8_t> br = Apply(img, {8, 8, false});
  for (int c = 0; c < kC; ++c) {
    for (int y = 0; y < kH; ++y) {
      for (int x = 0; x < kW; ++x) {
        const int i = (c * kH + y) * kW + x;
        if (y < 4 || x < 4) {
          ASSERT_EQ(tl[i], 0) << c << "," << y << "," << x;
        } else {
          ASSERT_EQ(tl[i], img[(c * kH + y - 4) * kW + x - 4]);
        }
        if (y >= kH - 4 || x >= kW - 4) {
          ASSERT_EQ(br[i], 0) << c << "," << y << "," << x;
        } else {
          ASSERT_EQ(br[i], img[(c * kH + y + 4) * kW + x + 4]);
        }
      }
    }
  }
}

TEST(Augment, EveryDrawMatchesThePaddedBufferReference) {
  const std::vector<uint8_t> img = NonZeroImage(4);
  for (int dy = 0; dy <= kAugmentMaxOffset; ++dy) {
    for (int dx = 0; dx <= kAugmentMaxOffset; ++dx) {
      for (const bool flip : {false, true}) {
        const AugmentDraw d{dy, dx, flip};
        ASSERT_EQ(Apply(img, d), ReferenceAugment(img, d))
            << "dy=" << dy << " dx=" << dx << " flip=" << flip;
      }
    }
  }
}

// Statistical test (fixed seed): n = 81000 draws. Each of the 81 offsets has expected count
// n/81 = 1000 and standard deviation sqrt(n p (1-p)) ~ 31.4; we require every count within 5 sd
// (|count - 1000| <= 157), which also proves all 81 occur. Flip rate: |rate - 1/2| <= 5 *
// 0.5/sqrt(n).
TEST(Augment, DrawsAreUniformOverOffsetsAndFlipIsFair) {
  constexpr int n = 81000;
  Rng rng(12345);
  std::array<int, 81> counts{};
  int flips = 0;
  for (int i = 0; i < n; ++i) {
    const AugmentDraw d = DrawAugment(rng);
    ASSERT_GE(d.dy, 0);
    ASSERT_LE(d.dy, 8);
    ASSERT_GE(d.dx, 0);
    ASSERT_LE(d.dx, 8);
    ++counts[d.dy * 9 + d.dx];
    flips += d.flip ? 1 : 0;
  }
  const double p = 1.0 / 81.0;
  const double sd = std::sqrt(n * p * (1 - p));
  for (int k = 0; k < 81; ++k) {
    EXPECT_GT(counts[k], 0) << "offset (" << k / 9 << ", " << k % 9 << ") never drawn";
    EXPECT_LE(std::fabs(counts[k] - n * p), 5 * sd) << "offset (" << k / 9 << ", " << k % 9 << ")";
  }
  const double rate = static_cast<double>(flips) / n;
  EXPECT_LE(std::fabs(rate - 0.5), 5 * 0.5 / std::sqrt(static_cast<double>(n)))
      << "flip rate " << rate;
}

TEST(Augment, DrawIsAPureFunctionOfTheStream) {
  Rng a = Rng(7).Derive(3), b = Rng(7).Derive(3);
  for (int i = 0; i < 100; ++i) {
    const AugmentDraw da = DrawAugment(a), db = DrawAugment(b);
    ASSERT_EQ(da.dy, db.dy);
    ASSERT_EQ(da.dx, db.dx);
    ASSERT_EQ(da.flip, db.flip);
  }
}

}  // namespace
}  // namespace cimsim
