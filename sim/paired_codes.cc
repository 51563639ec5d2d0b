#include "sim/paired_codes.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace cimsim {

void PairedCodes::Resize(int64_t K, int64_t n) {
  if (K < 0 || n < 0) {
    throw std::invalid_argument("PairedCodes::Resize: K = " + std::to_string(K) + ", n = " + std::to_string(n) +
                                "; both must be >= 0");
  }
  K_ = K;
  n_ = n;
  n_stride_ = (n + kColumnAlign - 1) / kColumnAlign * kColumnAlign;
  const auto count = static_cast<size_t>(size());
  if (data_.size() < count) data_.resize(count);  // never shrinks: capacity is kept for reuse
  std::fill(data_.begin(), data_.begin() + static_cast<std::ptrdiff_t>(count), int16_t{0});
}

void FillPairedCodes(const InputCodes& x, PairedCodes& out) {
  const int64_t K = x.K, n = x.n;
  out.Resize(K, n);
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
