#include "common/test_support.h"
#include "data/tar_gz.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;
using Files = std::vector<std::pair<std::string, std::string>>;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& contents) {
  std::ofstream(path, std::ios::binary) << contents;
}

// Whole-file gzip helpers built directly on zlib's gz* API (independent of the code under test).
std::string Gunzip(const fs::path& path) {
  gzFile in = gzopen(path.c_str(), "rb");
  std::string out;
  char buffer[4096];
  int n;
  while ((n = gzread(in, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  gzclose(in);
  return out;
}

void Gzip(const fs::path& path, const std::string& data) {
  gzFile out = gzopen(path.c_str(), "wb");
  gzwrite(out, data.data(), static_cast<unsigned>(data.size()));
  gzclose(out);
}

// A hand-built tar header, for the entry types WriteTarGz does not produce.
std::string RawHeader(const std::string& name, size_t size, char type, bool gnu_magic = false,
                      const std::string& prefix = "") {
  std::string h(512, '\0');
  name.copy(&h[0], 100);
  std::snprintf(&h[100], 8, "%07o", 0644u);
  std::snprintf(&h[108], 8, "%07o", 0u);
  std::snprintf(&h[116], 8, "%07o", 0u);
  std::snprintf(&h[124], 12, "%011zo", size);
  std::snprintf(&h[136], 12, "%011o", 0u);
  h[156] = type;
  if (gnu_magic) {
    std::memcpy(&h[257], "ustar  ", 8);
  } else {
    std::memcpy(&h[257], "ustar", 6);
    std::memcpy(&h[263], "00", 2);
  }
  prefix.copy(&h[345], 155);
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  std::snprintf(&h[148], 7, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string RawEntry(const std::string& name, const std::string& data, char type, bool gnu_magic = false) {
  std::string entry = RawHeader(name, data.size(), type, gnu_magic) + data;
  entry.resize((entry.size() + 511) / 512 * 512, '\0');
  return entry;
}

// "<len> key=value\n" with len counting the whole record.
std::string PaxRecord(const std::string& key, const std::string& value) {
  const std::string body = " " + key + "=" + value + "\n";
  size_t len = body.size() + 1;
  while (std::to_string(len).size() + body.size() != len) ++len;
  return std::to_string(len) + body;
}

const std::string kEndOfArchive(1024, '\0');

class TarGzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    archive_ = (root_ / "a.tar.gz").string();
    out_ = (root_ / "out").string();
  }

  // Asserts that extraction throws InputError whose message contains every one of `needles`.
  void ExpectExtractError(const std::vector<std::string>& needles) {
    try {
      ExtractTarGz(archive_, out_);
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      for (const std::string& needle : needles) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what() << "\nlacks: " << needle;
      }
    }
  }

  std::vector<std::string> PartialFilesUnder(const fs::path& dir) {
    std::vector<std::string> partial;
    if (!fs::exists(dir)) return partial;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".partial") partial.push_back(entry.path().string());
    }
    return partial;
  }

  testing::ScopedTempDir temp_{"tar_gz_test"};
  const fs::path root_ = temp_.path();
  std::string archive_, out_;
};

TEST_F(TarGzTest, RoundTripSmallFiles) {
  const Files files = {{"hello.txt", "hello\n"},
                       {"dir/sub/binary.bin", std::string("\0\x01\xff\x80zz", 6)},
                       {"dir/empty", ""},
                       {"exactly512", std::string(512, 'e')}};
  WriteTarGz(archive_, files);
  const std::vector<std::string> extracted = ExtractTarGz(archive_, out_);
  ASSERT_EQ(extracted.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(extracted[i], files[i].first);
    EXPECT_EQ(ReadFile(fs::path(out_) / files[i].first), files[i].second) << files[i].first;
  }
  EXPECT_TRUE(PartialFilesUnder(root_).empty());
}

TEST_F(TarGzTest, RoundTripLongNamesUsePrefix) {
  const std::string prefix = std::string(100, 'p') + "/" + std::string(54, 'q');  // 155 bytes
  const std::string name(100, 'n');
  const std::string longest = prefix + "/" + name;            // 256 bytes: the ustar maximum
  const std::string medium = std::string(60, 'a') + "/" + std::string(60, 'b') + "/c.txt";  // 127 bytes
  WriteTarGz(archive_, {{longest, "L"}, {medium, "M"}});

  const std::vector<std::string> extracted = ExtractTarGz(archive_, out_);
  EXPECT_EQ(extracted, (std::vector<std::string>{longest, medium}));
  EXPECT_EQ(ReadFile(fs::path(out_) / longest), "L");
  EXPECT_EQ(ReadFile(fs::path(out_) / medium), "M");
}

TEST_F(TarGzTest, PathTooLongForUstarIsRejected) {
  EXPECT_THROW(WriteTarGz(archive_, {{std::string(101, 'x'), ""}}), InputError);  // no '/' to split at
  EXPECT_THROW(WriteTarGz(archive_, {{std::string(156, 'p') + "/n", ""}}), InputError);  // prefix 156
  EXPECT_THROW(WriteTarGz(archive_, {{"p/" + std::string(101, 'n'), ""}}), InputError);  // name 101
  EXPECT_THROW(WriteTarGz(archive_, {{"", "x"}}), InputError);
  EXPECT_FALSE(fs::exists(archive_));
  EXPECT_FALSE(fs::exists(archive_ + ".partial"));
}

TEST_F(TarGzTest, EmptyArchive) {
  WriteTarGz(archive_, {});
  EXPECT_TRUE(ExtractTarGz(archive_, out_).empty());
  EXPECT_TRUE(fs::is_directory(out_));
}

TEST_F(TarGzTest, OneMegabyteFile) {
  std::string big(1 << 20, '\0');
  uint32_t x = 12345;
  for (char& c : big) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  WriteTarGz(archive_, {{"big/one_mb.bin", big}, {"after", "tail"}});
  EXPECT_EQ(ExtractTarGz(archive_, out_).size(), 2u);
  EXPECT_EQ(ReadFile(fs::path(out_) / "big/one_mb.bin"), big);
  EXPECT_EQ(ReadFile(fs::path(out_) / "after"), "tail");
}

TEST_F(TarGzTest, RejectsParentDirectoryEntries) {
  for (const std::string evil : {"../evil", "a/../../evil", "ok/.."}) {
    WriteTarGz(archive_, {{"fine.txt", "ok"}, {evil, "pwned"}});
    ExpectExtractError({evil, "..", archive_});
  }
  EXPECT_FALSE(fs::exists(root_ / "evil"));
  EXPECT_TRUE(PartialFilesUnder(root_).empty());
}

TEST_F(TarGzTest, RejectsAbsolutePaths) {
  const std::string evil = "/tmp/cimsim_tar_gz_test_abs_" + std::to_string(::getpid());
  WriteTarGz(archive_, {{evil, "pwned"}});
  ExpectExtractError({evil, "absolute", archive_});
  EXPECT_FALSE(fs::exists(evil));
}

TEST_F(TarGzTest, TruncatedArchiveNamesArchive) {
  WriteTarGz(archive_, {{"a.bin", std::string(100000, 'a')}, {"b.bin", std::string(3000, 'b')}});
  const std::string whole = ReadFile(archive_);
  for (size_t keep : {size_t{0}, size_t{5}, whole.size() / 2, whole.size() - 4, whole.size() - 1}) {
    WriteFile(archive_, whole.substr(0, keep));
    ExpectExtractError({archive_});
  }
  EXPECT_TRUE(PartialFilesUnder(root_).empty());
}

// A tar stream that ends after a complete entry, without the two zero blocks, is accepted as GNU tar
// and libarchive accept it: the archive's SHA-256, checked before extraction (data/fetch.h), is what
// proves a download whole.
TEST_F(TarGzTest, TarWithoutEndMarkerIsReadUpToItsLastWholeEntry) {
  Gzip(archive_, RawEntry("a", "data", '0'));
  EXPECT_EQ(ExtractTarGz(archive_, out_), std::vector<std::string>{"a"});
  EXPECT_EQ(ReadFile(fs::path(out_) / "a"), "data");
}

TEST_F(TarGzTest, TarEndingInsideEntryDataIsTruncated) {
  Gzip(archive_, RawHeader("a", 5000, '0') + std::string(1000, 'x'));
  ExpectExtractError({archive_, "truncated"});
  EXPECT_FALSE(fs::exists(fs::path(out_) / "a"));
  EXPECT_TRUE(PartialFilesUnder(root_).empty());
}

TEST_F(TarGzTest, NotGzipNamesArchive) {
  WriteFile(archive_, std::string(2048, 'z'));
  ExpectExtractError({archive_, "gzip"});
}

// A damaged deflate stream is refused. (libarchive does not check the gzip trailer's CRC-32, so a
// change inside stored, uncompressed deflate blocks would pass; FetchCifar10 checks the archive's
// SHA-256 before extracting, which is what catches any change.)
TEST_F(TarGzTest, CorruptDeflateStreamIsRejected) {
  std::string text;
  for (int i = 0; text.size() < 200000; ++i) text += "line " + std::to_string(i * 7919 % 1000) + " of a compressible file\n";
  WriteTarGz(archive_, {{"a.txt", text}, {"b.txt", "b"}});
  std::string bytes = ReadFile(archive_);
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 64; ++i) bytes[i] = '\xff';
  WriteFile(archive_, bytes);
  ExpectExtractError({archive_});
  EXPECT_TRUE(PartialFilesUnder(root_).empty());
}

TEST_F(TarGzTest, BadHeaderChecksumIsRejected) {
  WriteTarGz(archive_, {{"good.txt", "g"}, {"next.txt", "n"}});
  std::string raw = Gunzip(archive_);
  raw[0] = 'G';  // the first name changes, its stored checksum does not
  Gzip(archive_, raw);
  ExpectExtractError({archive_, "header"});
  raw[0] = 'g';
  raw[1024] = 'N';  // the second header
  Gzip(archive_, raw);
  ExpectExtractError({archive_, "after 'good.txt'"});
}

TEST_F(TarGzTest, ReadsGnuAndPaxExtensionsAndSkipsOtherTypes) {
  // Longer than ustar's name field; components stay below the usual 255-byte file-name limit.
  const std::string gnu_long = "gnu/" + std::string(150, 'g') + "/" + std::string(100, 'h') + ".bin";
  const std::string pax_long = "pax/" + std::string(200, 'x') + "/" + std::string(200, 'y') + ".bin";
  std::string raw;
  raw += RawEntry("./", "", '5');                                             // "./" directory
  raw += RawEntry("./top/dir/", "", '5');                                     // directory
  raw += RawEntry("././@LongLink", gnu_long + '\0', 'L', /*gnu_magic=*/true);  // GNU long name
  raw += RawEntry(gnu_long.substr(0, 100), "from gnu", '0', /*gnu_magic=*/true);
  raw += RawEntry("PaxHeaders/x", PaxRecord("mtime", "1.5") + PaxRecord("path", pax_long), 'x');
  raw += RawEntry("truncated-name", "from pax", '0');
  raw += RawEntry("PaxHeaders/g", PaxRecord("comment", "global"), 'g');       // skipped
  raw += RawEntry("link", "", '2');                                           // symlink: skipped
  raw += RawEntry(".//top//file.txt", "plain", '\0');                         // old-style regular
  raw += kEndOfArchive;
  Gzip(archive_, raw);

  const std::vector<std::string> extracted = ExtractTarGz(archive_, out_);
  EXPECT_EQ(extracted, (std::vector<std::string>{gnu_long, pax_long, "top/file.txt"}));
  EXPECT_TRUE(fs::is_directory(fs::path(out_) / "top/dir"));
  EXPECT_EQ(ReadFile(fs::path(out_) / gnu_long), "from gnu");
  EXPECT_EQ(ReadFile(fs::path(out_) / pax_long), "from pax");
  EXPECT_EQ(ReadFile(fs::path(out_) / "top/file.txt"), "plain");
  EXPECT_FALSE(fs::exists(fs::path(out_) / "link"));
  EXPECT_FALSE(fs::exists(fs::path(out_) / "truncated-name"));
}

TEST_F(TarGzTest, OutDirThatIsAFileIsRejected) {
  WriteTarGz(archive_, {{"a", "b"}});
  WriteFile(out_, "i am a file");
  ExpectExtractError({out_});
}

TEST_F(TarGzTest, MissingArchiveIsRejected) {
  ExpectExtractError({archive_});
}

}  // namespace
}  // namespace cimsim
