#include "apps/cimsim/output_path.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "common/input_file.h"
#include "experiments/eval_report.h"

namespace cimsim::cli {

namespace {

void RequireWritableDirectory(const std::string& flag, const std::string& path, const std::filesystem::path& dir) {
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw InputError(flag + " " + path + ": directory " + dir.string() + " is not writable");
}

}  // namespace

void CheckWritableParent(const std::string& flag, const std::string& path) {
  if (path == "-") return;
  if (path.empty()) throw InputError(flag + ": an empty path; give a file name");
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_regular_file(st))
    throw InputError(flag + " " + path + ": is " + std::string(FileTypeName(st.type())) + "; give the path of a new or regular file");
  const std::filesystem::path parent = std::filesystem::absolute(path).parent_path();
  if (!std::filesystem::is_directory(parent, ec))
    throw InputError(flag + " " + path + ": directory " + parent.string() + " does not exist");
  RequireWritableDirectory(flag, path, parent);
}

void CheckOutputDirectory(const std::string& flag, const std::string& path) {
  if (path.empty()) throw InputError(flag + ": an empty path; give a directory name");
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path);
  const std::filesystem::file_status st = std::filesystem::status(p, ec);
  if (std::filesystem::exists(st)) {
    if (!std::filesystem::is_directory(st))
      throw InputError(flag + " " + path + ": is " + std::string(FileTypeName(st.type())) + "; give a directory (it is created if absent)");
    RequireWritableDirectory(flag, path, p);
    return;
  }
  // Created with its missing parents: the nearest existing ancestor must be a writable directory.
  while (p.has_parent_path() && p != p.parent_path() && !std::filesystem::exists(p, ec)) p = p.parent_path();
  if (!std::filesystem::is_directory(p, ec))
    throw InputError(flag + " " + path + ": " + p.string() + " is not a directory");
  RequireWritableDirectory(flag, path, p);
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
