#include "sim/paired_codes.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cimsim {

void PairedCodes::SetShape(int64_t K, int64_t n, const char* fn) {
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

void PairedCodes::Resize(int64_t K, int64_t n) {
  SetShape(K, n, "PairedCodes::Resize");
  std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(size()), int16_t{0});
}

void PairedCodes::ReshapeForFill(int64_t K, int64_t n) {
  SetShape(K, n, "PairedCodes::ReshapeForFill");
  for (int64_t kp = 0; kp < pairs(); ++kp) {
    int16_t* row = PairRow(kp);
    std::fill(row + 2 * n_, row + 2 * n_stride_, int16_t{0});
  }
  if (K % 2 == 1) {
    int16_t* last = PairRow(pairs() - 1);
    for (int64_t j = 0; j < n; ++j) last[2 * j + 1] = 0;
  }
}

void FillPairedCodes(const InputCodes& x, PairedCodes& out) {
  const int64_t K = x.K, n = x.n;
  out.ReshapeForFill(K, n);
  for (int64_t kp = 0; kp < out.pairs(); ++kp) {
    int16_t* row = out.PairRow(kp);
    const int64_t k0 = 2 * kp;
    const bool has_second = k0 + 1 < K;
    if (x.j_stride == 1) {
      const int16_t* a = x.data + k0 * x.k_stride;
      if (has_second) {
        const int16_t* b = a + x.k_stride;
        for (int64_t j = 0; j < n; ++j) {
          row[2 * j] = a[j];
          row[2 * j + 1] = b[j];
        }
      } else {
        for (int64_t j = 0; j < n; ++j) row[2 * j] = a[j];
      }
      continue;
    }
    for (int64_t j = 0; j < n; ++j) {
      row[2 * j] = x(k0, j);
      if (has_second) row[2 * j + 1] = x(k0 + 1, j);
    }
  }
}

void FillPairedCodes(const int16_t* x, int64_t K, int64_t n, PairedCodes& out) {
  FillPairedCodes(InputCodes::VectorMajor(x, K, n), out);
}

}  // namespace cimsim
