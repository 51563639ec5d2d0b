// directory_lock.h — one live run per output directory (docs/hardening.md).
//
// A run that writes into a directory holds an exclusive flock(2) on DIR/<name> for its lifetime; a
// second run into the same directory is refused at once with a message naming the holder's pid. The
// kernel drops the lock when the holder exits in any way (including SIGKILL), so a lock left by a dead
// run is never in the way: "stale" locks cannot exist. The file itself stays (removing it would race
// with a new holder); it holds the last holder's pid as text.
#pragma once

#include <string>

namespace cimsim {

class DirectoryLock {
 public:
  // Locks DIR/<name> (created if absent). Throws InputError "<what> <dir> is in use by another cimsim
  // run (pid P, lock file F): wait for it to finish, or choose another output directory", or if the
  // lock file cannot be created.
  // shared: a shared lock (many holders, e.g. the shards of one sharded run) that still excludes an
  // exclusive holder.
  enum class Mode { kExclusive, kShared };
  DirectoryLock(const std::string& dir, const std::string& what, Mode mode = Mode::kExclusive,
                const std::string& name = ".cimsim.lock");
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cimsim
