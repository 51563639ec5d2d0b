#include "sim/paired_codes.h"

namespace cimsim {

void PairedCodes::Resize(int64_t K, int64_t n) {
  SetShape(K, n, "PairedCodes::Resize");
  ZeroAll();
}

void PairedCodes::ReshapeForFill(int64_t K, int64_t n) {
  SetShape(K, n, "PairedCodes::ReshapeForFill");
  ZeroColumnPadding();
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
