// simd_variant.h — the SIMD variants of cimsim's portable build, and which of them this CPU runs.
//
// The portable build (CMake CIMSIM_ISA=portable, the default) compiles the whole program once per
// variant and installs a small launcher as `cimsim`, which runs the best variant the CPU supports
// (apps/cimsim/launcher.cc; docs/performance.md, "Portable builds"):
//   avx512   -march=x86-64-v4 -mavx512vnni  AVX-512 F/BW/DQ/VL/CD + VNNI: the u8×s8 and int16 VNNI kernels
//   avx2     -march=x86-64-v3               AVX2, FMA, BMI2 (every x86-64 server and desktop since ~2013)
//   scalar   -march=x86-64                  any x86-64: the portable C++ paths of every kernel
// Every variant computes the integer engine and the crossbar's ADC codes bit for bit alike (integer
// kernels are exact; no floating-point contraction, -ffp-contract=off); float paths may differ in the
// last bits (Eigen's vector width and FMA), not in predictions (simd_variants_cli_test).
#pragma once

#include <cstring>

namespace cimsim {

struct SimdVariant {
  const char* name;
  bool (*runs)();   // whether this CPU (and OS) supports the variant's instructions
};

inline bool RunsAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4") && __builtin_cpu_supports("avx512vnni");
}
inline bool RunsAvx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v3");
}
inline bool RunsScalar() { return true; }

// Best first.
inline constexpr SimdVariant kSimdVariants[] = {{"avx512", RunsAvx512}, {"avx2", RunsAvx2}, {"scalar", RunsScalar}};

// The variant named `name`, or nullptr.
inline const SimdVariant* FindSimdVariant(const char* name) {
  for (const SimdVariant& v : kSimdVariants)
    if (std::strcmp(v.name, name) == 0) return &v;
  return nullptr;
}

// The best variant this CPU runs.
inline const SimdVariant& BestSimdVariant() {
  for (const SimdVariant& v : kSimdVariants)
    if (v.runs()) return v;
  return kSimdVariants[2];
}

}  // namespace cimsim
