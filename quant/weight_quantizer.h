// weight_quantizer.h — symmetric signed integer weights, per output channel or per tensor.
//
// A conv weight [O, C, kh, kw] (OIHW) or linear weight [out, in] is seen as a row-major matrix
// w[rows = O, cols = C·kh·kw]. With q_max = 2^(bits−1) − 1:
//   α      = ChooseClip(row o (per channel) or the whole tensor, abs_max = exact max |w|, bits, signed,
//            params.range)
//   scale  = α / q_max                      (α == 0, an all-zero row or tensor: scale 1, codes 0)
//   code   = clamp(round_half_away(w / scale), −q_max, q_max)          (w / scale in double)
//   w      ≈ scales[o] · code               (every row carries the same scale when per tensor)
//
// Bias correction (ACIQ's per-channel correction of the quantization bias, adapted so that the
// integer codes stay on their grid): per row o, with the row's float weights w_k and codes q_k,
//   scales[o]     ← std(w) / std(q)         (= s · std(w)/std(s·q); kept at s when std(q) == 0)
//   mean_shift[o] = mean(w) − scales[o] · mean(q)
// so that the corrected dequantized row scales[o]·q_k + mean_shift[o] has exactly the mean and the
// standard deviation (population, over the row's cols) of the float row. The caller folds the shift
// into the layer's bias: Σ_k w_k x_k ≈ scales[o]·Σ_k q_k x_k + mean_shift[o]·Σ_k x_k, i.e. the bias
// gains mean_shift[o]·E[Σ_k x_k]. The correction is per row by construction, so with
// bias_correction the scales differ between rows even when per_channel is false.
#pragma once

#include <cstdint>
#include <vector>

#include "quant/range_calibration.h"

namespace cimsim {

struct WeightQuantParams {
  int bits = 8;              // 2..8
  bool per_channel = true;   // one scale per output channel (row), else one per tensor
  RangeParams range;         // how α is chosen (default ACIQ, Laplace prior)
  bool bias_correction = false;
  // Throws std::invalid_argument naming the field (bits, or range.<field>), its value and range.
  void Validate() const;
};

struct QuantizedWeights {
  int64_t rows = 0, cols = 0;        // rows = output channels, cols = C·kh·kw (OIHW flattening)
  std::vector<int16_t> codes;        // [rows, cols] row-major, in [−(2^(bits−1)−1), 2^(bits−1)−1]
  std::vector<double> scales;        // [rows]: w ≈ scales[o]·codes (equal for all rows if per tensor)
  std::vector<double> mean_shift;    // [rows]: 0 unless bias_correction
};

// w: rows·cols floats, row-major. Throws std::invalid_argument for rows < 1, cols < 1, a null w,
// invalid params or a non-finite weight.
QuantizedWeights QuantizeWeights(const float* w, int64_t rows, int64_t cols, const WeightQuantParams& p);

}  // namespace cimsim
