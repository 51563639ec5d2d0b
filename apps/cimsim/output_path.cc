#include "apps/cimsim/output_path.h"

#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "experiments/eval_report.h"

namespace cimsim::cli {

void CheckWritableParent(const std::string& flag, const std::string& path) {
  if (path == "-") return;
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  std::error_code ec;
  if (!std::filesystem::is_directory(parent, ec))
    throw InputError(flag + " " + path + ": directory " + parent.string() + " does not exist");
}

void WriteJsonReport(const std::string& path, const nlohmann::json& report) {
  if (path == "-") {
    std::cout << report.dump(2) << '\n' << std::flush;
    return;
  }
  WriteJsonAtomically(path, report);
}

Provenance CommandProvenance(const std::string& command, const std::vector<std::string>& args) {
  std::vector<std::string> all = {command};
  all.insert(all.end(), args.begin(), args.end());
  return CurrentProvenance(all);
}

std::ostream& SummaryStream(const std::string& json_path) { return json_path == "-" ? std::cerr : std::cout; }

}  // namespace cimsim::cli
