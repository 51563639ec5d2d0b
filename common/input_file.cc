#include "common/input_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace cimsim {
namespace {

const char* KindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

uint64_t RequireRegularFile(const std::string& path, const std::string& what) {
  if (path.empty()) throw InputError("an empty path was given for the " + what);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw InputError(path + ": " + what + " not found");
    throw InputError(path + ": cannot access the " + what + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode))
    throw InputError(path + ": is " + KindOf(st.st_mode) + "; expected the " + what + " (a regular file)");
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace cimsim
