#include "data/tar_gz.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>

#include "common/error.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBlock = 512;
constexpr size_t kChunk = size_t{1} << 16;
constexpr int kGzipWindowBits = 15 + 16;           // 32 KiB window, gzip wrapper
constexpr uint64_t kMaxMetadataBytes = 1 << 20;    // cap on GNU long names and pax headers
constexpr uint64_t kMaxUstarSize = (uint64_t{1} << 33) - 1;  // 11 octal digits
constexpr size_t kRecordBlocks = 20;               // writers pad archives to 10240-byte records

using Block = std::array<uint8_t, kBlock>;

struct Field {
  size_t offset, length;
};
constexpr Field kName{0, 100}, kMode{100, 8}, kUid{108, 8}, kGid{116, 8}, kSize{124, 12},
    kMtime{136, 12}, kChksum{148, 8}, kMagic{257, 6}, kVersion{263, 2}, kDevMajor{329, 8},
    kDevMinor{337, 8}, kPrefix{345, 155};
constexpr size_t kTypeflag = 156;
constexpr char kPosixMagic[] = "ustar";  // with its NUL: the 6-byte POSIX magic

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

FilePtr OpenFile(const std::string& path, const char* mode) {
  FilePtr file(std::fopen(path.c_str(), mode));
  if (!file) {
    const char* what = mode[0] == 'r' ? "reading" : "writing";
    throw InputError(path + ": cannot open for " + what + " (" + std::strerror(errno) + ")");
  }
  return file;
}

void CloseFile(FilePtr file, const std::string& path) {
  if (std::fclose(file.release()) != 0) throw InputError(path + ": write error (" + std::strerror(errno) + ")");
}

void CreateDirectories(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) {
    throw InputError(dir.string() + ": cannot create directory (" +
                     (ec ? ec.message() : std::string("exists and is not a directory")) + ")");
  }
}

// Removes a file when it leaves scope unless Commit() was called: keeps ".partial" files from lingering.
class RemoveUnlessCommitted {
 public:
  explicit RemoveUnlessCommitted(std::string path) : path_(std::move(path)) {}
  ~RemoveUnlessCommitted() {
    if (!committed_) std::remove(path_.c_str());
  }
  RemoveUnlessCommitted(const RemoveUnlessCommitted&) = delete;
  RemoveUnlessCommitted& operator=(const RemoveUnlessCommitted&) = delete;
  const std::string& path() const { return path_; }
  void Commit() { committed_ = true; }

 private:
  std::string path_;
  bool committed_ = false;
};

void RenameInto(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec) throw InputError(to + ": cannot move " + from + " into place (" + ec.message() + ")");
}

uint64_t PaddingOf(uint64_t size) { return (kBlock - size % kBlock) % kBlock; }

// ---------------------------------------------------------------------------------------------
// gzip

// Decompresses a gzip file (one or more members) as a byte stream.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(OpenFile(path, "rb")), in_(kChunk) {
    if (inflateInit2(&zs_, kGzipWindowBits) != Z_OK) throw std::runtime_error("zlib inflateInit2 failed");
  }
  ~GzReader() { inflateEnd(&zs_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n <= kChunk bytes; returns fewer only at the (verified) end of the gzip stream.
  size_t Read(uint8_t* dst, size_t n) {
    zs_.next_out = dst;
    zs_.avail_out = static_cast<uInt>(n);
    while (zs_.avail_out > 0 && !finished_) {
      if (zs_.avail_in == 0 && !Refill()) Fail("truncated (the gzip stream ends early)");
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        finished_ = !StartNextMember();
      } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && zs_.avail_in == 0)) {
        const std::string detail = zs_.msg != nullptr ? zs_.msg : "error " + std::to_string(rc);
        Fail("not a valid gzip stream or corrupt (zlib: " + detail + ")");
      }
    }
    return n - zs_.avail_out;
  }

  [[noreturn]] void Fail(const std::string& what) const { throw InputError(path_ + ": " + what); }
  const std::string& path() const { return path_; }

 private:
  // Loads more compressed input; false at end of file.
  bool Refill() {
    const size_t got = std::fread(in_.data(), 1, in_.size(), file_.get());
    if (got == 0 && std::ferror(file_.get())) Fail(std::string("read error (") + std::strerror(errno) + ")");
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(got);
    return got > 0;
  }

  // After a member ends: continue if another gzip member (magic 0x1f) follows; trailing bytes that
  // are not gzip are ignored, as gzip(1) does.
  bool StartNextMember() {
    if (zs_.avail_in == 0 && !Refill()) return false;
    if (zs_.next_in[0] != 0x1f) return false;
    inflateReset(&zs_);
    return true;
  }

  std::string path_;
  FilePtr file_;
  std::vector<uint8_t> in_;
  z_stream zs_{};
  bool finished_ = false;
};

// Compresses a byte stream into a gzip file.
class GzWriter {
 public:
  explicit GzWriter(const std::string& path) : path_(path), file_(OpenFile(path, "wb")), out_(kChunk) {
    if (deflateInit2(&zs_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("zlib deflateInit2 failed");
    }
  }
  ~GzWriter() { deflateEnd(&zs_); }
  GzWriter(const GzWriter&) = delete;
  GzWriter& operator=(const GzWriter&) = delete;

  void Write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      const size_t take = std::min<size_t>(n, kChunk);
      zs_.next_in = const_cast<Bytef*>(p);
      zs_.avail_in = static_cast<uInt>(take);
      Deflate(Z_NO_FLUSH);
      p += take;
      n -= take;
    }
  }

  // Writes the gzip trailer and closes the file.
  void Finish() {
    Deflate(Z_FINISH);
    CloseFile(std::move(file_), path_);
  }

 private:
  void Deflate(int flush) {
    int rc;
    do {
      zs_.next_out = out_.data();
      zs_.avail_out = static_cast<uInt>(out_.size());
      rc = deflate(&zs_, flush);
      if (rc == Z_STREAM_ERROR) throw std::runtime_error("zlib deflate failed");
      const size_t have = out_.size() - zs_.avail_out;
      if (std::fwrite(out_.data(), 1, have, file_.get()) != have) {
        throw InputError(path_ + ": write error (" + std::strerror(errno) + ")");
      }
    } while (zs_.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }

  std::string path_;
  FilePtr file_;
  std::vector<uint8_t> out_;
  z_stream zs_{};
};

// ---------------------------------------------------------------------------------------------
// tar headers

std::string_view FieldText(const Block& b, Field f) {
  const char* p = reinterpret_cast<const char*>(b.data()) + f.offset;
  return {p, strnlen(p, f.length)};
}

bool IsZeroBlock(const Block& b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t c) { return c == 0; });
}

// Octal ASCII (leading spaces, digits, then spaces/NULs) or GNU base-256 (first byte 0x80).
std::optional<uint64_t> ParseNumber(const Block& b, Field f) {
  const uint8_t* p = b.data() + f.offset;
  if (p[0] == 0x80) {
    uint64_t value = 0;
    for (size_t i = 1; i < f.length; ++i) {
      if (value >> 56 != 0) return std::nullopt;
      value = (value << 8) | p[i];
    }
    return value;
  }
  size_t i = 0;
  while (i < f.length && p[i] == ' ') ++i;
  uint64_t value = 0;
  for (; i < f.length && p[i] >= '0' && p[i] <= '7'; ++i) {
    if (value >> 60 != 0) return std::nullopt;
    value = value * 8 + (p[i] - '0');
  }
  for (; i < f.length; ++i) {
    if (p[i] != ' ' && p[i] != '\0') return std::nullopt;
  }
  return value;
}

// Sum of the header bytes with the chksum field taken as spaces: {unsigned, signed (historic)}.
std::pair<uint64_t, int64_t> HeaderSums(const Block& b) {
  uint64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_chksum = i >= kChksum.offset && i < kChksum.offset + kChksum.length;
    const uint8_t c = in_chksum ? ' ' : b[i];
    unsigned_sum += c;
    signed_sum += static_cast<int8_t>(c);
  }
  return {unsigned_sum, signed_sum};
}

bool IsPosixUstar(const Block& b) { return std::memcmp(b.data() + kMagic.offset, kPosixMagic, 6) == 0; }

// name, or prefix + "/" + name for POSIX ustar.
std::string HeaderPath(const Block& b) {
  std::string name(FieldText(b, kName));
  const std::string_view prefix = FieldText(b, kPrefix);
  if (IsPosixUstar(b) && !prefix.empty()) return std::string(prefix) + "/" + name;
  return name;
}

struct Entry {
  std::string path;  // as stored (after long-name / pax overrides)
  uint64_t size = 0;
  char type = '0';
};

// Name and size given by a preceding GNU 'L' or pax 'x' header, applied to the next real entry.
struct Overrides {
  std::optional<std::string> path;
  std::optional<uint64_t> size;
};

// Returns the path normalized ("." and empty components dropped); throws for absolute paths and
// ".." components. May return "" (e.g. for "./").
std::string SafeRelativePath(const std::string& path, const std::string& archive) {
  if (!path.empty() && path.front() == '/') {
    throw InputError(archive + ": entry '" + path +
                     "' has an absolute path (only relative paths without '..' are allowed)");
  }
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part(path.data() + start, end - start);
    if (part == "..") {
      throw InputError(archive + ": entry '" + path +
                       "' has a '..' path component (only relative paths without '..' are allowed)");
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out.push_back('/');
      out.append(part);
    }
    start = end + 1;
  }
  return out;
}

// "<len> <key>=<value>\n" records; len counts the whole record in bytes.
void ParsePaxRecords(const std::string& data, Overrides& overrides, const GzReader& in) {
  size_t pos = 0;
  while (pos < data.size() && data[pos] != '\0') {
    const size_t space = data.find(' ', pos);
    size_t len = 0;
    try {
      len = space == std::string::npos ? 0 : std::stoull(data.substr(pos, space - pos));
    } catch (const std::exception&) {
      len = 0;
    }
    if (len == 0 || pos + len > data.size() || space >= pos + len || data[pos + len - 1] != '\n') {
      in.Fail("malformed pax extended header record at byte " + std::to_string(pos));
    }
    const std::string record = data.substr(space + 1, pos + len - 1 - (space + 1));
    const size_t eq = record.find('=');
    if (eq == std::string::npos) in.Fail("malformed pax extended header record '" + record + "'");
    const std::string key = record.substr(0, eq), value = record.substr(eq + 1);
    if (key == "path") overrides.path = value;
    if (key == "size") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 19) {
        in.Fail("pax size '" + value + "' is not a decimal byte count");
      }
      overrides.size = std::stoull(value);
    }
    pos += len;
  }
}

// ---------------------------------------------------------------------------------------------
// extraction

class Extractor {
 public:
  Extractor(const std::string& archive, const std::string& out_dir) : in_(archive), out_dir_(out_dir) {}

  std::vector<std::string> Run() {
    CreateDirectories(out_dir_);
    Block header;
    for (;;) {
      if (!ReadBlock(header)) in_.Fail("truncated (no end-of-archive block)");
      if (IsZeroBlock(header)) break;
      HandleEntry(ParseHeader(header));
    }
    // Read the remaining padding so zlib verifies the gzip trailer (CRC-32 and length).
    std::vector<uint8_t> sink(kChunk);
    while (in_.Read(sink.data(), sink.size()) > 0) {
    }
    return files_;
  }

 private:
  // Reads one 512-byte block; false at the clean end of the stream.
  bool ReadBlock(Block& b) {
    const size_t got = in_.Read(b.data(), b.size());
    if (got != 0 && got != b.size()) in_.Fail("truncated (ends inside a 512-byte block)");
    return got == b.size();
  }

  Entry ParseHeader(const Block& b) {
    const std::string raw_path = HeaderPath(b);
    const std::optional<uint64_t> chksum = ParseNumber(b, kChksum);
    const auto [unsigned_sum, signed_sum] = HeaderSums(b);
    if (!chksum || (*chksum != unsigned_sum && static_cast<int64_t>(*chksum) != signed_sum)) {
      in_.Fail("corrupt tar header for entry '" + raw_path + "': checksum " + std::string(FieldText(b, kChksum)) +
               " does not match the header (sum " + std::to_string(unsigned_sum) + ")");
    }
    const std::optional<uint64_t> size = ParseNumber(b, kSize);
    if (!size) in_.Fail("corrupt tar header for entry '" + raw_path + "': bad size field");
    return Entry{raw_path, *size, static_cast<char>(b[kTypeflag])};
  }

  void HandleEntry(Entry e) {
    const char type = e.type;
    if (type == 'L' || type == 'x') {
      const std::string data = ReadMetadata(e);
      if (type == 'L') overrides_.path = data.substr(0, data.find('\0'));
      if (type == 'x') ParsePaxRecords(data, overrides_, in_);
      return;
    }
    if (overrides_.path) e.path = *overrides_.path;
    if (overrides_.size) e.size = *overrides_.size;
    overrides_ = {};
    const bool is_dir = type == '5' || (IsRegular(type) && !e.path.empty() && e.path.back() == '/');
    if (is_dir) {
      CreateDirectories(fs::path(out_dir_) / SafeRelativePath(e.path, in_.path()));
      Skip(e.size + PaddingOf(e.size));
    } else if (IsRegular(type)) {
      ExtractFile(e);
    } else {
      Skip(e.size + PaddingOf(e.size));  // links, devices, FIFOs, pax globals, ...: not extracted
    }
  }

  static bool IsRegular(char type) { return type == '0' || type == '\0' || type == '7'; }

  std::string ReadMetadata(const Entry& e) {
    if (e.size > kMaxMetadataBytes) {
      in_.Fail("extended header of " + std::to_string(e.size) + " bytes (at most " +
               std::to_string(kMaxMetadataBytes) + " allowed)");
    }
    std::string data(e.size, '\0');
    ReadExact(reinterpret_cast<uint8_t*>(data.data()), data.size());
    Skip(PaddingOf(e.size));
    return data;
  }

  void ExtractFile(const Entry& e) {
    const std::string rel = SafeRelativePath(e.path, in_.path());
    if (rel.empty()) in_.Fail("regular file entry '" + e.path + "' has an empty name");
    const fs::path dest = fs::path(out_dir_) / rel;
    CreateDirectories(dest.parent_path());
    RemoveUnlessCommitted partial(dest.string() + ".partial");
    FilePtr file = OpenFile(partial.path(), "wb");
    CopyTo(file.get(), e.size, partial.path());
    CloseFile(std::move(file), partial.path());
    Skip(PaddingOf(e.size));
    RenameInto(partial.path(), dest.string());
    partial.Commit();
    if (seen_.insert(rel).second) files_.push_back(rel);
  }

  void ReadExact(uint8_t* dst, uint64_t n) {
    while (n > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
      if (in_.Read(dst, want) != want) in_.Fail("truncated (ends inside an entry's data)");
      dst += want;
      n -= want;
    }
  }

  void CopyTo(std::FILE* file, uint64_t n, const std::string& path) {
    std::vector<uint8_t> buffer(kChunk);
    while (n > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
      ReadExact(buffer.data(), want);
      if (std::fwrite(buffer.data(), 1, want, file) != want) {
        throw InputError(path + ": write error (" + std::strerror(errno) + ")");
      }
      n -= want;
    }
  }

  void Skip(uint64_t n) {
    std::vector<uint8_t> sink(static_cast<size_t>(std::min<uint64_t>(n, kChunk)));
    while (n > 0) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, kChunk));
      ReadExact(sink.data(), want);
      n -= want;
    }
  }

  GzReader in_;
  std::string out_dir_;
  Overrides overrides_;
  std::vector<std::string> files_;
  std::set<std::string> seen_;
};

// ---------------------------------------------------------------------------------------------
// writing

void PutText(Block& b, Field f, std::string_view text) {
  std::memcpy(b.data() + f.offset, text.data(), std::min(text.size(), f.length));
}

// f.length - 1 zero-padded octal digits and a NUL.
void PutOctal(Block& b, Field f, uint64_t value) {
  for (size_t i = f.length - 1; i-- > 0; value >>= 3) b[f.offset + i] = static_cast<uint8_t>('0' + (value & 7));
  b[f.offset + f.length - 1] = '\0';
}

// Splits a path into ustar (prefix, name): name <= 100 bytes, prefix <= 155, split at a '/'.
std::pair<std::string, std::string> SplitUstarPath(const std::string& path) {
  if (path.empty()) throw InputError("tar entry with an empty path (a path is required)");
  if (path.size() <= kName.length) return {"", path};
  for (size_t i = std::min(path.size() - 1, kPrefix.length); i > 0; --i) {
    const size_t name_len = path.size() - i - 1;
    if (name_len > kName.length) break;
    if (path[i] == '/' && name_len > 0) return {path.substr(0, i), path.substr(i + 1)};
  }
  throw InputError("tar entry '" + path + "' (" + std::to_string(path.size()) +
                   " bytes): too long for ustar (at most a 155-byte prefix + '/' + a 100-byte name)");
}

Block UstarHeader(const std::string& path, uint64_t size) {
  if (size > kMaxUstarSize) {
    throw InputError("tar entry '" + path + "': " + std::to_string(size) + " bytes (ustar allows at most " +
                     std::to_string(kMaxUstarSize) + ")");
  }
  const auto [prefix, name] = SplitUstarPath(path);
  Block b{};
  PutText(b, kName, name);
  PutOctal(b, kMode, 0644);
  PutOctal(b, kUid, 0);
  PutOctal(b, kGid, 0);
  PutOctal(b, kSize, size);
  PutOctal(b, kMtime, 0);
  b[kTypeflag] = '0';
  std::memcpy(b.data() + kMagic.offset, kPosixMagic, 6);
  PutText(b, kVersion, "00");
  PutOctal(b, kDevMajor, 0);
  PutOctal(b, kDevMinor, 0);
  PutText(b, kPrefix, prefix);
  // chksum: six octal digits, NUL, space (computed with the field as spaces).
  PutOctal(b, Field{kChksum.offset, 7}, HeaderSums(b).first);
  b[kChksum.offset + 7] = ' ';
  return b;
}

}  // namespace

std::vector<std::string> ExtractTarGz(const std::string& archive, const std::string& out_dir) {
  return Extractor(archive, out_dir).Run();
}

void WriteTarGz(const std::string& archive, const std::vector<std::pair<std::string, std::string>>& files) {
  RemoveUnlessCommitted partial(archive + ".partial");
  GzWriter out(partial.path());
  const Block zero{};
  uint64_t blocks = 0;
  for (const auto& [path, contents] : files) {
    const Block header = UstarHeader(path, contents.size());
    out.Write(header.data(), header.size());
    out.Write(contents.data(), contents.size());
    out.Write(zero.data(), PaddingOf(contents.size()));
    blocks += 1 + (contents.size() + PaddingOf(contents.size())) / kBlock;
  }
  for (int i = 0; i < 2; ++i, ++blocks) out.Write(zero.data(), zero.size());
  for (; blocks % kRecordBlocks != 0; ++blocks) out.Write(zero.data(), zero.size());
  out.Finish();
  RenameInto(partial.path(), archive);
  partial.Commit();
}

}  // namespace cimsim
