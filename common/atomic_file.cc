#include "common/atomic_file.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/storage_error.h"

namespace cimsim {

void WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".partial." + std::to_string(getpid());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(path + ": cannot write (is the directory writable?)");
    out << text;
    out.close();
    if (!out) {
      const std::string reason = StorageFailureReason();
      std::remove(temp.c_str());
      throw InputError(path + ": write failed" + reason);
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::remove(temp.c_str());
    throw InputError(path + ": cannot rename into place: " + ec.message());
  }
}

}  // namespace cimsim
