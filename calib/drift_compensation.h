// drift_compensation.h — global drift compensation: one factor per layer from a known input read at two
// times, as measured PCM chips and IBM's analog hardware kit (GlobalDriftCompensation) do it.
//
// After programming, PCM conductances decay as ((t + t0)/t0)^(−ν), so every analog column output
// shrinks with time, by a similar factor across the array. The chip keeps a fixed, known input x_c (here
// the layer's held-out calibration vectors, docs/lifetime.md) and reads it through the layer once at the
// reference time (right after calibration) and again at time t:
//     α = Σ_{o,j} |y_ref[o, j]| / Σ_{o,j} |y_t[o, j]|        (1 when Σ |y_t| = 0)
// and multiplies the layer's digital outputs by α. On a core with a ColumnReadout this is done where the
// digits are formed: every column correction (gain, offset) is multiplied by α (ScaleReadout), so
//     y'[o, j] = round(α · acc[o, j])                          (acc: sim/crossbar_core.h)
// — the analog part of the output. With the differential mapping y is that analog part, so y' ≈ α·y
// exactly as specified; the offset mapping's exact digital term w_max·Σx would not scale (the lifetime
// config refuses that combination).
//
// The relative error of a read against the exact integer products,
//     RelativeError(y, exact) = sqrt(Σ (y − exact)² / Σ exact²)   (0 when Σ exact² = 0),
// is what a lifetime run reports per layer and time, and one of the reprogram metrics.
//
// Reads are one Multiply over all vectors with the caller's stream (results depend only on the core, the
// inputs and the stream).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "calib/chip_calibration.h"
#include "common/rng.h"
#include "sim/mvm_core.h"

namespace cimsim {

// y = core(inputs), row-major [N, n]. rng: the read noise (may be null for a core without noise).
// std::invalid_argument when inputs.K != core.Depth().
std::vector<int32_t> ReadLayer(const MvmCore& core, const LayerInputs& inputs, Rng* rng);

// α = Σ|reference| / Σ|now| (1 when Σ|now| = 0). std::invalid_argument when the sizes differ.
double GlobalDriftFactor(std::span<const int32_t> reference, std::span<const int32_t> now);

// The twin of `core` whose every column correction is multiplied by alpha (ADC ranges kept). InputError
// naming `where` when the core has no ColumnReadout; std::invalid_argument when alpha is not finite and > 0.
std::unique_ptr<MvmCore> ScaleReadout(const MvmCore& core, double alpha, const std::string& where);

// sqrt(Σ (y − exact)² / Σ exact²), 0 when Σ exact² = 0. std::invalid_argument when the sizes differ.
double RelativeError(std::span<const int32_t> y, std::span<const int32_t> exact);

}  // namespace cimsim
