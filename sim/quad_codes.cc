#include "sim/quad_codes.h"

#include <algorithm>

namespace cimsim {

void QuadCodes::Resize(int64_t K, int64_t n) {
  SetShape(K, n, "QuadCodes::Resize");
  ZeroAll();
}

void QuadCodes::ReshapeForFill(int64_t K, int64_t n) {
  SetShape(K, n, "QuadCodes::ReshapeForFill");
  ZeroColumnPadding();
}

void FillQuadCodes(const InputCodes& x, QuadCodes& out) {
  const int64_t K = x.K, n = x.n;
  out.ReshapeForFill(K, n);
  for (int64_t kq = 0; kq < out.quads(); ++kq) {
    uint32_t* row = out.QuadRow(kq);
    const int64_t k0 = 4 * kq, present = std::min<int64_t>(4, K - k0);
    if (x.j_stride == 1 && present == 4) {
      // Four full rows: a plain loop over j that GCC vectorizes (zero-extend, shift, or).
      const int16_t* a = x.data + k0 * x.k_stride;
      const int16_t* b = a + x.k_stride;
      const int16_t* c = b + x.k_stride;
      const int16_t* d = c + x.k_stride;
      for (int64_t j = 0; j < n; ++j) {
        row[j] = QuadCodes::PackQuad(static_cast<uint8_t>(a[j]), static_cast<uint8_t>(b[j]), static_cast<uint8_t>(c[j]),
                                     static_cast<uint8_t>(d[j]));
      }
      continue;
    }
    for (int64_t j = 0; j < n; ++j) {
      uint8_t c[4] = {0, 0, 0, 0};  // codes past K stay 0
      for (int64_t b = 0; b < present; ++b) c[b] = static_cast<uint8_t>(x(k0 + b, j));
      row[j] = QuadCodes::PackQuad(c[0], c[1], c[2], c[3]);
    }
  }
}

}  // namespace cimsim
