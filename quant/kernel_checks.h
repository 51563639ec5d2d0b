// kernel_checks.h — the argument checks the QAT quantizer kernels (lsq.cc, dsq.cc) share, and their
// branch-free float helpers. Library preconditions: violations throw std::invalid_argument naming
// the function, the argument and the value.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>

namespace cimsim::kernel_checks {

// 1 for ±inf and NaN (exponent bits all ones), else 0: integer operations only (vectorizes).
inline int32_t NonFinite(float x) {
  return static_cast<int32_t>((std::bit_cast<uint32_t>(x) & 0x7f800000u) == 0x7f800000u);
}

inline std::string Num(double x) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", x);
  return buf;
}

// `name` must have as many values as the input `of` (its name in the message).
inline void CheckSize(const char* fn, const char* name, size_t got, size_t want, const char* of) {
  if (got != want) {
    throw std::invalid_argument(std::string(fn) + " " + name + " has " + std::to_string(got) +
                                " values: must have " + std::to_string(want) + " (the size of " + of + ")");
  }
}

template <typename T>
[[noreturn]] void ThrowNonFinite(const char* fn, const char* name, std::span<const T> a) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) {
      throw std::invalid_argument(std::string(fn) + " " + name + "[" + std::to_string(i) + "] = " + Num(a[i]) +
                                  ": must be finite");
    }
  }
  // Computed in place: the non-finite input has already been overwritten.
  throw std::invalid_argument(std::string(fn) + " " + name + ": contained a non-finite value (overwritten in place)");
}

template <typename T>
void CheckFinite(const char* fn, const char* name, std::span<const T> a) {
  for (T x : a) {
    if (!std::isfinite(x)) ThrowNonFinite(fn, name, a);
  }
}

}  // namespace cimsim::kernel_checks
