// Prints the best SIMD variant this machine runs (apps/cimsim/simd_variant.h): the variant the
// portable build compiles its libraries, tests and benchmarks for (CMakeLists.txt).
#include <cstdio>

#include "apps/cimsim/simd_variant.h"

int main() { std::printf("%s", cimsim::BestSimdVariant().name); }
