// augment.h — CIFAR-10 training augmentation, as torchvision's
//   RandomCrop(H, padding=4) followed by RandomHorizontalFlip(p=0.5),
// applied to uint8 CHW images before normalization (H = W = 32 for CIFAR; any size for the in-memory
// views of an image folder).
//
// Maths: pad the [3, H, W] image with zeros (pixel value 0) by 4 on every side -> [3, H+8, W+8]
// (padded(c, Y, X) = src(c, Y-4, X-4) inside, 0 outside); crop the H×W window at offset (dy, dx),
// dy, dx uniform in {0..8}; then mirror left-right with probability 1/2:
//   dst(c, y, x) = padded(c, y + dy, xs + dx),   xs = flip ? W-1 - x : x.
// (dy, dx) = (4, 4) without flip is the identity.
// Draws: DrawAugment takes dy = Below(9), dx = Below(9), flip = (Below(2) == 1), in that order.
#pragma once

#include <cstdint>

#include "common/rng.h"

namespace cimsim {

constexpr int kAugmentPad = 4;                      // zero padding on each side
constexpr int kAugmentMaxOffset = 2 * kAugmentPad;  // dy, dx in [0, 8]

struct AugmentDraw {
  int dy = kAugmentPad;  // crop row offset into the padded image, 0..8
  int dx = kAugmentPad;  // crop column offset, 0..8
  bool flip = false;     // mirror left-right after cropping
};

// One draw; advances rng by exactly three Below() calls.
AugmentDraw DrawAugment(Rng& rng);

// src, dst: [3, 32, 32] uint8 (or [3, height, width]), must not overlap. Offsets outside 0..8 are a
// programming error (asserted in debug builds); they are clamped so memory is never read out of bounds.
void ApplyAugment(const uint8_t* src, const AugmentDraw& draw, uint8_t* dst);
void ApplyAugment(const uint8_t* src, int height, int width, const AugmentDraw& draw, uint8_t* dst);

}  // namespace cimsim
