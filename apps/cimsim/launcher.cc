// launcher.cc — `cimsim` of the portable build: runs the SIMD variant of the program that this CPU
// supports best (apps/cimsim/simd_variant.h), or the one CIMSIM_ISA names (avx512, avx2, scalar; auto
// or unset: the best). The variants live beside the launcher, in cimsim-variants/cimsim-<variant>;
// the launcher replaces itself with the chosen one (execv: same arguments, environment, exit code and
// signals). A variant this CPU cannot run, or one missing from the installation, is an error (exit 2),
// never a silent fallback.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "apps/cimsim/simd_variant.h"

int main(int argc, char** argv) {
  (void)argc;
  const char* forced = std::getenv("CIMSIM_ISA");
  const cimsim::SimdVariant* variant = &cimsim::BestSimdVariant();
  if (forced != nullptr && *forced != '\0' && std::strcmp(forced, "auto") != 0) {
    variant = cimsim::FindSimdVariant(forced);
    if (variant == nullptr) {
      std::fprintf(stderr, "cimsim: error: CIMSIM_ISA=%s is not a SIMD variant; use avx512, avx2, scalar or auto\n", forced);
      return 2;
    }
    if (!variant->runs()) {
      std::fprintf(stderr, "cimsim: error: CIMSIM_ISA=%s: this CPU does not support the %s variant's instructions; "
                           "the best it runs is %s\n", forced, forced, cimsim::BestSimdVariant().name);
      return 2;
    }
  }
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::fprintf(stderr, "cimsim: error: cannot locate the launcher itself (/proc/self/exe): %s\n", std::strerror(errno));
    return 2;
  }
  self[n] = '\0';
  std::string dir(self);
  dir.resize(dir.rfind('/'));
  const std::string program = dir + "/cimsim-variants/cimsim-" + variant->name;
  argv[0] = const_cast<char*>(program.c_str());
  execv(program.c_str(), argv);
  std::fprintf(stderr, "cimsim: error: cannot run the %s variant %s: %s (is the installation complete?)\n", variant->name,
               program.c_str(), std::strerror(errno));
  return 2;
}
