// tar_gz.h — read and write gzip-compressed tar archives (.tar.gz), as used by the CIFAR-10 release.
//
// gzip (RFC 1952) is handled by zlib's inflate/deflate with windowBits 15+16; the gzip trailer's
// CRC-32 and length are verified, and concatenated gzip members are read as one stream.
//
// tar: a sequence of 512-byte blocks. Each entry is a header block followed by its data, padded with
// zeros to a multiple of 512 bytes. The archive ends with (at least) one all-zero block; writers emit
// two. Header fields (byte offset, length), text fields NUL-terminated unless full:
//   name (0, 100)   mode (100, 8)   uid (108, 8)    gid (116, 8)    size (124, 12)  mtime (136, 12)
//   chksum (148, 8) typeflag (156, 1) linkname (157, 100) magic (257, 6) version (263, 2)
//   uname (265, 32) gname (297, 32) devmajor (329, 8) devminor (337, 8) prefix (345, 155)
// Numbers are octal ASCII (GNU tar's base-256 form, first byte & 0x80, is accepted for size).
// chksum is the sum of all 512 header bytes as unsigned values with the chksum field counted as eight
// spaces (historic signed sums are also accepted). magic "ustar\0" + version "00" is POSIX ustar,
// where the full path is prefix + "/" + name; "ustar " + " \0" is GNU tar, whose prefix area holds
// other data and is ignored.
// typeflag: '0' or '\0' (and '7', contiguous) regular file; '5' directory; GNU 'L' gives the long
// name of the next entry and a pax 'x' header's "path"/"size" records override the next entry's name
// and size; every other type (links, devices, FIFOs, pax 'g' global headers, ...) is skipped.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace cimsim {

// Extracts the regular files (and directories) of `archive` into `out_dir` (created if missing).
// Returns the relative paths of the files written, in archive order, normalized ("./" and repeated
// '/' removed). Each file is written to "<dest>.partial" and renamed to <dest> only when complete.
// Throws InputError naming the entry for an absolute path or a path with a ".." component (checked
// before anything of that entry is written), and naming the archive if it is unreadable, not gzip,
// truncated or corrupt (bad gzip CRC, bad header checksum, bad number field, missing end marker).
// Files extracted before such an error stay in `out_dir`; extract into a staging directory if that
// matters (FetchCifar10 does). Symbolic and hard links are never created.
std::vector<std::string> ExtractTarGz(const std::string& archive, const std::string& out_dir);

// Writes `archive` as a POSIX ustar archive of regular files (path, contents) — mode 0644, uid/gid 0,
// mtime 0 — gzip-compressed, to "<archive>.partial" first and then renamed. Paths longer than 100
// bytes are split at a '/' into prefix (<= 155) and name (<= 100); a path that cannot be split so, an
// empty path, or contents of 8 GiB or more throw InputError. Paths are stored as given (not checked
// for ".." or a leading '/'), so tests can build hostile archives.
void WriteTarGz(const std::string& archive, const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace cimsim
