#include "apps/cimsim/output_path.h"

#include <filesystem>

#include "common/error.h"

namespace cimsim::cli {

void CheckWritableParent(const std::string& flag, const std::string& path) {
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec))
    throw InputError(flag + " " + path + ": directory " + parent.string() + " does not exist");
}

}  // namespace cimsim::cli
