// storage_error.h — the reason to give when writing a file fails.
//
// Libraries that fail a write (libhdf5, std::ofstream) leave the system's reason in errno. When it is a
// storage error — ENOSPC (disk full), EFBIG (file too large, e.g. a file-size limit), EDQUOT (quota),
// EIO — the message says so; cimsim writes every file to a temporary name and renames it only when
// whole (common/atomic_file.h, H5File::Commit), so a failed write never replaces an existing file.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

namespace cimsim {

// ": <strerror> (nothing was replaced: an existing file of that name is intact)" for a storage errno,
// "" otherwise (a stale errno of another kind says nothing about this write).
inline std::string StorageFailureReason() {
  const int e = errno;
  if (e != ENOSPC && e != EFBIG && e != EDQUOT && e != EIO) return "";
  return std::string(": ") + std::strerror(e) + " (nothing was replaced: an existing file of that name is intact)";
}

}  // namespace cimsim
