// tar_gz.h — read and write gzip-compressed tar archives (.tar.gz), as used by the CIFAR-10 release,
// through libarchive (gzip, and the tar variants: POSIX ustar and pax, GNU long names, old v7 headers;
// header checksums and number fields are checked by libarchive).
//
// Extraction keeps these guarantees of its own, whatever the archive holds:
//   - only regular files and directories are created: symbolic and hard links, devices, FIFOs are
//     skipped, so no later entry can be written through a link;
//   - an entry whose path is absolute or has a ".." component is refused before anything of it is
//     written (InputError naming the entry and the archive);
//   - each file is written to "<dest>.partial" and renamed to <dest> only when its data is complete, so a
//     truncated or corrupt archive never leaves a half file under its real name (the .partial is removed).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cimsim {

// Extracts the regular files (and directories) of `archive` into `out_dir` (created if missing).
// Returns the relative paths of the files written, in archive order, normalized ("./" and repeated
// '/' removed). Throws InputError naming the archive if it is unreadable, not gzip, truncated or corrupt
// (libarchive's reason appended), and naming the entry for the path checks above. Files extracted
// before such an error stay in `out_dir`; extract into a staging directory if that matters
// (FetchCifar10 does).
std::vector<std::string> ExtractTarGz(const std::string& archive, const std::string& out_dir);

// Writes `archive` as a POSIX ustar archive of regular files (path, contents) — mode 0644, mtime 0 —
// gzip-compressed, to "<archive>.partial" first and then renamed. An empty path, or one that ustar
// cannot hold (longer than 100 bytes without a '/' that splits it into a prefix <= 155 and a name
// <= 100), throws InputError and leaves nothing. Paths are stored as given (not checked for ".." or a
// leading '/'), so tests can build hostile archives.
void WriteTarGz(const std::string& archive, const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace cimsim
