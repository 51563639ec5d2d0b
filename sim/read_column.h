// read_column.h — the scalar maths of one crossbar column read: analog value → ADC code → correction.
//
// Part of CrossbarCore (sim/crossbar_core.h, the overview). The one copy of this maths: the fast path's
// vectorized loop, its trace loop and the reference (crossbar_reference.cc) all call ReadColumn, so
// equal column sums give equal codes. In integer units, for a read with column sums
//     mean = Σ_k x_t[k]·(g+[k] − g−[k])      var = Σ_k x_t[k]²·(σ+²[k] + σ−²[k])     (µS, µS²)
//     (offset mapping: g[k] − g_ref[k] and σ²[k] + σ_ref²[k]; sim/programmed_array.h)
// and sd = sqrt(var) (correctly rounded: std::sqrt, never Eigen's approximate vector sqrt):
//     v    = mean / Δg                                    without read noise
//     v    = fma(sd, z, mean) / Δg, z = rng.Normal()      with read noise (exact in distribution for
//            independent cells, docs/crossbar.md; the reference column's noise is drawn per column)
//     v'   = fma(a, v, b)     the column's analog periphery (a, b) (sim/crossbar_readout.h); v' is what
//            the ADC sees and what a trace records as the analog value
//     code = clamp(round_half_away(v' / lsb), −2^(B−1), 2^(B−1) − 1),   B = adc.bits
//     corrected = fma(gain, code·lsb, offset)              the digital correction of the column
// Inline and free of libm calls (std::fma compiles to an instruction with -march=native), so that a loop
// over ReadColumn vectorizes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace cimsim {

// What one readout column applies to its reads: analog periphery, ADC step, digital correction
// (sim/crossbar_readout.h). Not to be confused with ColumnReadout, the capability of a core whose column
// reads can be seen and recalibrated (sim/column_readout.h).
struct ColumnPeriphery {
  double a = 1, b = 0;          // analog periphery: v' = fma(a, v, b)
  double lsb = 1;               // ADC step, integer units
  double gain = 1, offset = 0;  // digital correction
};

// One read: v' (the analog value), the ADC code (an integer held as a double) and the corrected value.
struct ColumnRead {
  double analog, code, corrected;
};

// clamp(round_half_away(q), lo, hi) for integers lo < hi within ±2^62, without a libm call so that
// loops over it vectorize: q is first clamped to [lo − 1, hi + 1] (which changes no result), then
// truncated through int64 (exact there) and q − trunc(q), exact, decides the rounding.
inline double RoundHalfAway(double q, double lo, double hi) {
  q = std::min(std::max(q, lo - 1), hi + 1);
  double r = static_cast<double>(static_cast<int64_t>(q));
  const double f = q - r;
  r += (f >= 0.5 ? 1.0 : 0.0) - (f <= -0.5 ? 1.0 : 0.0);
  return std::min(std::max(r, lo), hi);
}

// sat_int32(round_half_away(value)): the final y of a crossbar core.
inline int32_t RoundSaturate(double value) {
  return static_cast<int32_t>(RoundHalfAway(value, -2147483648.0, 2147483647.0));
}

// The read (see above). `noisy` false ignores sd and z; code_min = −2^(B−1), code_max = 2^(B−1) − 1.
inline ColumnRead ReadColumn(double mean, double sd, double z, bool noisy, double delta_g, const ColumnPeriphery& col,
                             double code_min, double code_max) {
  ColumnRead r;
  r.analog = std::fma(col.a, (noisy ? std::fma(sd, z, mean) : mean) / delta_g, col.b);
  r.code = RoundHalfAway(r.analog / col.lsb, code_min, code_max);
  r.corrected = std::fma(col.gain, r.code * col.lsb, col.offset);
  return r;
}

}  // namespace cimsim
