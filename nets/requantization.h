// requantization.h — the fixed-point multipliers of a quantized model from its real scales.
//
// Given every node's out_scale (and a conv/linear node's weight_scales, weights and bias codes), sets
// what the integer engine multiplies by (nets/quantized_model.h), with QuantizeNetwork's formulas:
//   conv / linear  M_o = s_w[o]·s_in / s_out, headroom for |acc + bias| <= K·q_w·x_max + |bias_o|
//                  (q_w = 2^(weight_bits−1) − 1, x_max = 127 for the image, else max(|lo|, |hi|) of the input);
//   add            input i not at the output scale (rescale_identity[i] == 0): M = s_i / s_out,
//                  headroom for |x| <= max(|lo_i|, |hi_i|);
//   global pool    M = s_in / (H·W·s_out), headroom for H·W·max(|lo|, |hi|).
//   requant        M = s_in / s_out (in `pool`), headroom for |x| <= max(|lo|, |hi|) of the input.
// Throws InputError naming `where`, the node and the multiplier when a ratio is outside [0, 2^30).
#pragma once

#include <string>

#include "nets/quantized_model.h"

namespace cimsim {

void SetMultipliers(QuantizedModel& model, const std::string& where);

// The pieces SetMultipliers is made of, for code that must requantize exactly as the engine does
// (the QAT network's inference, train/qat_layers.h):
// The largest |code| of a node's input `input` (QNode::kImage: 127, else max(|out_min|, |out_max|)).
int64_t MaxInputCode(const QuantizedModel& model, int input);
// A conv/linear output channel: M = weight_scale·in_scale/out_scale (evaluated in that order), headroom
// for |acc + bias| <= depth·max_weight_code·max_input_code + |bias| (max_weight_code = the largest |weight
// code|, QNode::WeightRange().MaxAbs(): 2^(b−1) − 1 symmetric, 2^(b−1) on the full grid).
FixedPointMultiplier MvmOutputMultiplier(double weight_scale, double in_scale, double out_scale, int64_t depth,
                                         int64_t max_weight_code, int64_t max_input_code, int64_t bias,
                                         const std::string& where, const std::string& node);
// An add input, a pool or a requant: M = real, headroom for |x| <= max_abs_input; `what` names it in
// the error ("rescale", "pool", "requant").
FixedPointMultiplier RescaleMultiplier(double real, int64_t max_abs_input, const std::string& where,
                                       const std::string& node, const char* what);

}  // namespace cimsim
