#include "data/augment.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "data/cifar10.h"

namespace cimsim {

AugmentDraw DrawAugment(Rng& rng) {
  AugmentDraw d;
  d.dy = static_cast<int>(rng.Below(kAugmentMaxOffset + 1));
  d.dx = static_cast<int>(rng.Below(kAugmentMaxOffset + 1));
  d.flip = rng.Below(2) == 1;
  return d;
}

void ApplyAugment(const uint8_t* src, const AugmentDraw& draw, uint8_t* dst) {
  ApplyAugment(src, kCifarHeight, kCifarWidth, draw, dst);
}

void ApplyAugment(const uint8_t* src, int H, int W, const AugmentDraw& draw, uint8_t* dst) {
  assert(draw.dy >= 0 && draw.dy <= kAugmentMaxOffset);
  assert(draw.dx >= 0 && draw.dx <= kAugmentMaxOffset);
  const int sy0 = std::clamp(draw.dy, 0, kAugmentMaxOffset) - kAugmentPad;  // source row of y = 0
  const int sx0 = std::clamp(draw.dx, 0, kAugmentMaxOffset) - kAugmentPad;  // source col of xs = 0
  // Crop columns xs whose source column xs + sx0 lies inside [0, W).
  const int xs_begin = std::max(0, -sx0), xs_end = std::min(W, W - sx0);
  for (int c = 0; c < kCifarChannels; ++c) {
    for (int y = 0; y < H; ++y) {
      uint8_t* out = dst + (c * H + y) * W;
      const int sy = y + sy0;
      if (sy < 0 || sy >= H) {
        std::memset(out, 0, W);
        continue;
      }
      const uint8_t* row = src + (c * H + sy) * W;
      if (!draw.flip) {
        std::memset(out, 0, xs_begin);
        std::memcpy(out + xs_begin, row + xs_begin + sx0, xs_end - xs_begin);
        std::memset(out + xs_end, 0, W - xs_end);
      } else {
        // out[x] = crop[W - 1 - x]
        for (int x = 0; x < W; ++x) {
          const int xs = W - 1 - x;
          out[x] = (xs >= xs_begin && xs < xs_end) ? row[xs + sx0] : uint8_t{0};
        }
      }
    }
  }
}

}  // namespace cimsim
