// fake_quant_forward.h — the quantized network evaluated in real (float64) arithmetic.
//
// "Fake quantization": every tensor is a real number on its quantization grid, r = scale·code, but
// the arithmetic is ordinary floating point — the view of quantization-aware training and of most
// quantization papers. Per node, with Q_s(y) = s·clamp(round_half_away(y/s), lo, hi):
//   image  x̂ = input_scale · input_lut[c][pixel];
//   conv / linear  y = Σ_k (s_w[o]·w_code)(s_x·x̂_code) + s_w[o]·s_x·bias,  out = Q_out(y);
//   add    out = clamp(Σ_i Q_out(x̂_i)) (inputs already at the output scale pass unchanged);
//   global average pool  out = Q_out(mean x̂);  requant  out = Q_out(x̂);  shortcut / max pool as on codes.
// The integer engine computes the same thing with int32 accumulators and fixed-point multipliers
// (31-bit mantissas) instead of real scales, so the two agree except when a value falls within
// ~2^-31 (relative) of a rounding tie; predictions agreeing on every test image is the check that the
// integer engine implements the quantized network it claims to (acceptance of the quantization issue).
// Convolutions use im2col + an Eigen float64 GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "nets/quantized_model.h"

namespace cimsim {

// One image (uint8 CHW) → real logits [num_classes] (on the logit grid).
std::vector<double> FakeQuantForward(const QuantizedModel& model, const uint8_t* image);

}  // namespace cimsim
