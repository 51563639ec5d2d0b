// pool_window.h — the input rows (or columns) one output position of a max pool reads.
//
// Output row i of a pool with kernel k, stride s and padding p covers input rows i·s−p .. i·s−p+k−1.
// The padding is −∞ (PyTorch's), so only the rows inside the map count:
//   [lo, hi) = [max(i·s − p, 0), min(i·s − p + k, size)),
// never empty when p <= k/2. The fast max pools (float, nets/pooling.h, and on codes,
// nets/integer_network.h) loop over it; their references test each position instead.
#pragma once

#include <algorithm>
#include <cstdint>

namespace cimsim {

struct PoolWindow {
  int64_t lo, hi;
};

inline PoolWindow ClippedPoolWindow(int64_t i, int stride, int padding, int kernel, int64_t size) {
  const int64_t start = i * stride - padding;
  return {std::max<int64_t>(start, 0), std::min<int64_t>(start + kernel, size)};
}

}  // namespace cimsim
