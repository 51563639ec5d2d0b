// build_info.h — what build of cimsim this is: version, git commit and build settings (compiler, build
// type, SIMD target), for `cimsim --version` and the provenance every output file records
// (common/provenance.h). Defined in a source file that cmake/write_build_info.cmake writes at every
// build, so the commit is the one the binary was built from.
#pragma once

#include <string_view>

namespace cimsim {

std::string_view BuildVersion();    // the project version, e.g. "0.15.0"
std::string_view BuildCommit();     // 40 hex digits, with "-dirty" for uncommitted changes, or "unknown"
std::string_view BuildSettings();   // e.g. "GNU 12.2.0, Release, -march=native"

}  // namespace cimsim
