#include "data/tar_gz.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/error.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

struct ReadCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string Reason(archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

// `path` without "." components and empty ones; InputError naming the entry when it is absolute or
// has a ".." component.
std::string SafeRelativePath(const std::string& path, const std::string& archive_path) {
  if (!path.empty() && path[0] == '/')
    throw InputError(archive_path + ": entry '" + path + "' has an absolute path; refusing to extract it");
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..")
      throw InputError(archive_path + ": entry '" + path + "' has a '..' component; refusing to extract it");
    if (!part.empty() && part != ".") out += (out.empty() ? "" : "/") + part;
    start = end + 1;
  }
  return out;
}

// The current entry's data into dest, through "<dest>.partial".
void ExtractFile(archive* a, const fs::path& dest, const std::string& archive_path, const std::string& name) {
  const fs::path partial = dest.string() + ".partial";
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  if (ec) throw InputError(archive_path + ": cannot create " + dest.parent_path().string() + ": " + ec.message());
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) throw InputError(archive_path + ": cannot write " + partial.string());
    char buf[1 << 16];
    for (;;) {
      const la_ssize_t n = archive_read_data(a, buf, sizeof buf);
      if (n == 0) break;
      if (n < 0) {
        const std::string reason = Reason(a);
        out.close();
        fs::remove(partial, ec);
        throw InputError(archive_path + ": entry '" + name + "': truncated or corrupt archive: " + reason);
      }
      out.write(buf, n);
    }
    out.close();
    if (!out) {
      fs::remove(partial, ec);
      throw InputError(archive_path + ": write failed for " + dest.string());
    }
  }
  fs::rename(partial, dest, ec);
  if (ec) {
    fs::remove(partial, ec);
    throw InputError(archive_path + ": cannot rename into " + dest.string());
  }
}

// Whether the file starts with the gzip magic bytes 1f 8b.
bool StartsLikeGzip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[2] = {0, 0};
  in.read(magic, 2);
  return in.gcount() == 2 && static_cast<unsigned char>(magic[0]) == 0x1f && static_cast<unsigned char>(magic[1]) == 0x8b;
}

}  // namespace

std::vector<std::string> ExtractTarGz(const std::string& archive_path, const std::string& out_dir) {
  std::error_code ec;
  if (!fs::is_regular_file(archive_path, ec)) throw InputError(archive_path + ": no such archive file");
  fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir))
    throw InputError(out_dir + ": cannot create the output directory" + (ec ? ": " + ec.message() : std::string()));
  std::unique_ptr<archive, ReadCloser> a(archive_read_new());
  archive_read_support_filter_gzip(a.get());
  archive_read_support_format_tar(a.get());   // ustar, pax, GNU tar, v7
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    if (!StartsLikeGzip(archive_path)) throw InputError(archive_path + ": not a gzip file (expected a .tar.gz archive)");
    throw InputError(archive_path + ": not a tar archive, or its first header is corrupt: " + Reason(a.get()));
  }
  std::vector<std::string> files;
  for (;;) {
    archive_entry* entry = nullptr;
    const int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_GZIP)
      throw InputError(archive_path + ": not a gzip file (expected a .tar.gz archive)");
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)   // RETRY (a damaged header) included: never skip ahead
      throw InputError(archive_path + ": truncated or corrupt archive" +
                       (files.empty() ? std::string() : " after '" + files.back() + "'") + ": " + Reason(a.get()));
    const char* raw = archive_entry_pathname(entry);
    const std::string name = raw != nullptr ? raw : "";
    const mode_t type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR) continue;   // links, devices, FIFOs: never created
    const std::string rel = SafeRelativePath(name, archive_path);
    if (rel.empty()) continue;   // "./"
    const fs::path dest = fs::path(out_dir) / rel;
    if (type == AE_IFDIR) {
      fs::create_directories(dest, ec);
      if (ec) throw InputError(archive_path + ": cannot create " + dest.string() + ": " + ec.message());
      continue;
    }
    ExtractFile(a.get(), dest, archive_path, name);
    files.push_back(rel);
  }
  if (archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_GZIP)
    throw InputError(archive_path + ": not a gzip file (expected a .tar.gz archive)");
  return files;
}

void WriteTarGz(const std::string& archive_path, const std::vector<std::pair<std::string, std::string>>& files) {
  const std::string partial = archive_path + ".partial";
  std::unique_ptr<archive, WriteCloser> a(archive_write_new());
  if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK || archive_write_set_format_ustar(a.get()) != ARCHIVE_OK ||
      archive_write_open_filename(a.get(), partial.c_str()) != ARCHIVE_OK)
    throw InputError(archive_path + ": cannot write: " + Reason(a.get()));
  const auto fail = [&](const std::string& why) {
    a.reset();
    std::remove(partial.c_str());
    throw InputError(archive_path + ": " + why);
  };
  for (const auto& [path, contents] : files) {
    if (path.empty()) fail("an entry has an empty path");
    std::unique_ptr<archive_entry, EntryFree> e(archive_entry_new());
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_size(e.get(), static_cast<la_int64_t>(contents.size()));
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_mtime(e.get(), 0, 0);
    if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) fail("entry '" + path + "': " + Reason(a.get()));
    if (!contents.empty() &&
        archive_write_data(a.get(), contents.data(), contents.size()) != static_cast<la_ssize_t>(contents.size()))
      fail("entry '" + path + "': " + Reason(a.get()));
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) fail("cannot finish: " + Reason(a.get()));
  a.reset();
  std::error_code ec;
  fs::rename(partial, archive_path, ec);
  if (ec) {
    std::remove(partial.c_str());
    throw InputError(archive_path + ": cannot rename into place: " + ec.message());
  }
}

}  // namespace cimsim
