// device_presets.h — named device parameter sets, each from a published model.
//
//   ideal  no programming or read noise, no drift, no faults, continuous levels; g in [0, 25] µS.
//   pcm    the statistical PCM model of Nandakumar et al. (ICECS 2019) and Joshi et al. (Nature
//          Communications 11, 2473, 2020), with the constants of IBM's analog hardware kit
//          (PCMLikeNoiseModel): g in [0, 25] µS, continuous levels, ĝ = g / 25 µS;
//            programming σ = max(0, 0.26348 + 1.9650·ĝ − 1.1731·ĝ²) µS (scaled by g_max / 25 µS);
//            drift ν ~ |N(μ_ν, σ_ν)|, μ_ν = clip(−0.0155·ln ĝ + 0.0244, 0.049, 0.1),
//                  σ_ν = clip(−0.0125·ln ĝ − 0.0059, 0.008, 0.045), t0 = 20 s;
//            1/f read noise Q_s = min(0.0088 / max(ĝ^0.65, 1e−3), 0.2), t_read = 250 ns, t0 = 20 s.
//   rram   Sandia CrossSim's RRAM_Milo model, a linear fit to Fig. 4 (IGVVA-100 programming; the figure
//          as CrossSim's source names it) of Milo et al., "Optimized programming algorithms for multilevel
//          RRAM in hardware neural networks", IRPS 2021: g in [50, 225] µS (on/off ratio 4.5),
//          σ = max(−0.009107·g + 4.782321, 0) µS with g in µS; 64 levels (our choice: the fit gives no
//          level count); no read noise, no drift (the source models programming error only).
// No faults and no g_max variation in any preset; set them on top (docs/devices.md). Which constant comes
// from which source, where the model departs from the kit and from CrossSim, and how the presets are
// checked against the formulas: docs/devices.md, "Where the numbers come from" and "How the presets are
// checked".
#pragma once

#include <span>
#include <string_view>

#include "devices/device_params.h"

namespace cimsim {

// "ideal", "pcm", "rram".
std::span<const std::string_view> DevicePresetNames();

// The preset's parameters (preset = name). InputError for an unknown name, listing the presets.
DeviceParams DevicePreset(std::string_view name);

}  // namespace cimsim
