// output_path.h — early checks on output paths, so a long run never fails at its very end.
#pragma once

#include <string>

namespace cimsim::cli {

// Throws InputError naming `flag` and the path when its directory does not exist.
void CheckWritableParent(const std::string& flag, const std::string& path);

}  // namespace cimsim::cli
