// init.h — seeded initialization of a network's parameters (PyTorch defaults of the CIFAR ports).
//
// Conv and linear weights: Kaiming-normal, W ~ N(0, 2 / fan_in) with fan_in = C·K·K (conv) or I
// (linear); linear bias ~ U(−1/√I, 1/√I); conv bias 0; BN γ = 1, β = 0, μ = 0, σ² = 1.
// Each tensor draws from WeightInitStream(seed, tensor index) (common/streams.h), so the result
// depends on the seed only.
#pragma once

#include <cstdint>

#include "nets/network.h"

namespace cimsim {

void InitializeKaiming(Network& net, uint64_t seed);

}  // namespace cimsim
