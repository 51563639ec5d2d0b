// integer_reference.h — the slow, obvious integer engine: the oracle for IntegerNetwork.
//
// The same arithmetic as integer_network.h written as plain loops straight from the formulas in
// quantized_model.h: direct convolution (no im2col, no MvmCore, no packing), int64 accumulation
// checked to fit int32, MultiplyByQuantizedMultiplierReference for every requantization. Its logits
// must equal the fast engine's bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "nets/quantized_model.h"

namespace cimsim {

// One image (uint8 CHW) → int32 logits [num_classes]. The model must be valid (Validate()).
// Throws std::logic_error if an accumulator leaves int32 (validation rules that out).
std::vector<int32_t> IntegerReferenceForward(const QuantizedModel& model, const uint8_t* image);

// Every node's output codes for one image (for tests that locate a first difference).
std::vector<std::vector<int32_t>> IntegerReferenceActivations(const QuantizedModel& model, const uint8_t* image);

}  // namespace cimsim
