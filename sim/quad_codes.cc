#include "sim/quad_codes.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cimsim {

void QuadCodes::SetShape(int64_t K, int64_t n, const char* fn) {
  if (K < 0 || n < 0) {
    throw std::invalid_argument(std::string(fn) + ": K = " + std::to_string(K) + ", n = " + std::to_string(n) +
                                "; both must be >= 0");
  }
  K_ = K;
  n_ = n;
  n_stride_ = (n + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
  const auto count = static_cast<size_t>(size());
  if (data_.size() < count) data_.resize(count);  // never shrinks: capacity is kept for reuse
}

void QuadCodes::Resize(int64_t K, int64_t n) {
  SetShape(K, n, "QuadCodes::Resize");
  std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(size()), uint32_t{0});
}

void QuadCodes::ReshapeForFill(int64_t K, int64_t n) {
  SetShape(K, n, "QuadCodes::ReshapeForFill");
  for (int64_t kq = 0; kq < quads(); ++kq) {
    uint32_t* row = QuadRow(kq);
    std::fill(row + n_, row + n_stride_, uint32_t{0});
  }
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
