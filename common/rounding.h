// rounding.h — round half away from zero (std::round's rule), in a form compilers vectorize.
//
// std::round, std::floor and std::trunc stay scalar library calls under GCC 12 without
// -fno-trapping-math. Here x + (the largest value below 1/2, with x's sign) is rounded to the type
// and then truncated by an integer conversion (vcvttps2dq / vcvttpd2qq): for |x| < 2^31 (float) and
// |x| < 2^62 (double) the result equals std::round(x) exactly (x + 0.5 would be wrong for the largest
// value below 1/2: the sum rounds up to 1). Callers keep to that range, e.g. by clamping to integer
// bounds first — clamp(round(x), lo, hi) == round(clamp(x, lo, hi)) for integers lo, hi.
#pragma once

#include <cmath>
#include <cstdint>

namespace cimsim {

inline float RoundHalfAway(float x) {
  return static_cast<float>(static_cast<int32_t>(x + std::copysign(0.49999997f, x)));
}

inline double RoundHalfAway(double x) {
  return static_cast<double>(static_cast<int64_t>(x + std::copysign(0.49999999999999994, x)));
}

}  // namespace cimsim
