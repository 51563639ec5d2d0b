// weight_rows_test_util.h — random weight matrices and upstream gradients for the weight-quantizer
// tests (train/fake_quantizer.h): one row per output channel with its own step.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng.h"

namespace cimsim::testing {

struct WeightRows {
  std::vector<float> w;     // [rows, cols], row o uniform in [−spread·s_o, spread·s_o)
  std::vector<float> grad;  // [rows, cols], N(0, 1): a dL/dŵ
};

// rows = scales.size(); per element in row-major order one Uniform (the weight) then one Normal (its
// gradient) from `rng`. spread > Q puts some weights outside a Q-code range (clipped).
inline WeightRows RandomWeightRows(int64_t cols, const std::vector<double>& scales, double spread, Rng& rng) {
  WeightRows r;
  const size_t n = scales.size() * static_cast<size_t>(cols);
  r.w.resize(n);
  r.grad.resize(n);
  for (size_t i = 0; i < n; ++i) {
    r.w[i] = static_cast<float>((2 * spread * rng.Uniform() - spread) * scales[i / static_cast<size_t>(cols)]);
    r.grad[i] = static_cast<float>(rng.Normal());
  }
  return r;
}

}  // namespace cimsim::testing
