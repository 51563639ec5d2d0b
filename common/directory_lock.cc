#include "common/directory_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/error.h"

namespace cimsim {

DirectoryLock::DirectoryLock(const std::string& dir, const std::string& what, Mode mode, const std::string& name) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) throw InputError(what + " " + dir + ": cannot create the lock file " + path + ": " + std::strerror(errno));
  if (::flock(fd_, (mode == Mode::kShared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) throw InputError(what + " " + dir + ": cannot lock " + path + ": " + std::strerror(err));
    const std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("unknown");
    throw InputError(what + " " + dir + " is in use by another cimsim run (pid " + pid + ", lock file " + path +
                     "): wait for it to finish, or choose another output directory");
  }
  if (mode == Mode::kShared) return;  // the holders' pids are in their own exclusive locks
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    ::close(fd_);
    fd_ = -1;
    throw InputError(what + " " + dir + ": cannot write the lock file " + path);
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace cimsim
