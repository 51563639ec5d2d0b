#include "data/fetch.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <optional>
#include <string_view>

#include "common/error.h"
#include "data/http_get.h"
#include "data/tar_gz.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPartialName = ".cifar10-download.partial";
constexpr const char* kStagingName = ".cifar10-staging";
constexpr std::array<std::string_view, 6> kRequiredFiles = {"data_batch_1.bin", "data_batch_2.bin",
                                                            "data_batch_3.bin", "data_batch_4.bin",
                                                            "data_batch_5.bin", "test_batch.bin"};

// Removes a path (recursively) when it leaves scope; errors are ignored (best-effort cleanup).
class ScopedRemoveAll {
 public:
  explicit ScopedRemoveAll(fs::path path) : path_(std::move(path)) {}
  ~ScopedRemoveAll() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScopedRemoveAll(const ScopedRemoveAll&) = delete;
  ScopedRemoveAll& operator=(const ScopedRemoveAll&) = delete;

 private:
  fs::path path_;
};

// Removes out_dir when it leaves scope if we created it, the fetch failed and it is empty.
class RemoveCreatedDirOnFailure {
 public:
  RemoveCreatedDirOnFailure(fs::path dir, bool created) : dir_(std::move(dir)), created_(created) {}
  ~RemoveCreatedDirOnFailure() {
    std::error_code ec;
    if (created_ && !succeeded_ && fs::is_empty(dir_, ec)) fs::remove(dir_, ec);
  }
  RemoveCreatedDirOnFailure(const RemoveCreatedDirOnFailure&) = delete;
  RemoveCreatedDirOnFailure& operator=(const RemoveCreatedDirOnFailure&) = delete;
  void Succeeded() { succeeded_ = true; }

 private:
  fs::path dir_;
  bool created_;
  bool succeeded_ = false;
};

// Creates out_dir; returns whether it was newly created.
bool CreateOutDir(const fs::path& out_dir) {
  if (out_dir.empty()) throw InputError("--out: empty path (a directory is required)");
  std::error_code ec;
  const bool created = fs::create_directories(out_dir, ec);
  if (ec || !fs::is_directory(out_dir)) {
    throw InputError("--out " + out_dir.string() + ": cannot create directory (" +
                     (ec ? ec.message() : std::string("exists and is not a directory")) + ")");
  }
  return created;
}

void RequireAbsentOrEmpty(const fs::path& data_dir) {
  std::error_code ec;
  if (!fs::exists(data_dir, ec)) return;
  if (!fs::is_directory(data_dir, ec)) {
    throw InputError(data_dir.string() + ": exists and is not a directory; refusing to overwrite it");
  }
  if (!fs::is_empty(data_dir, ec)) {
    throw InputError(data_dir.string() + ": directory exists and is not empty; refusing to overwrite it "
                     "(remove it or choose another --out)");
  }
}

// The directory (relative to the staging root, "" for the root) holding all required files.
std::optional<std::string> FindBatchDir(const std::vector<std::string>& files) {
  for (const std::string& file : files) {
    const fs::path path(file);
    if (path.filename() != "test_batch.bin") continue;
    const fs::path dir = path.parent_path();
    const bool complete = std::all_of(kRequiredFiles.begin(), kRequiredFiles.end(), [&](std::string_view name) {
      return std::find(files.begin(), files.end(), (dir / name).generic_string()) != files.end();
    });
    if (complete) return dir.generic_string();
  }
  return std::nullopt;
}

// Names of the required files that appear nowhere in the archive (by file name).
std::string MissingFiles(const std::vector<std::string>& files) {
  std::string missing;
  for (std::string_view name : kRequiredFiles) {
    const bool found = std::any_of(files.begin(), files.end(),
                                   [&](const std::string& f) { return fs::path(f).filename() == name; });
    if (!found) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  return missing.empty() ? "no directory holds all of them together" : "missing " + missing;
}

void CheckBinSizes(const fs::path& dir, const std::string& url) {
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".bin") continue;
    const auto size = static_cast<int64_t>(entry.file_size());
    if (size == 0 || size % kCifarRecordBytes != 0) {
      throw InputError("archive from " + url + ": " + entry.path().filename().string() + " has " +
                       std::to_string(size) + " bytes (expected a positive multiple of " +
                       std::to_string(kCifarRecordBytes) + "-byte CIFAR-10 records)");
    }
  }
}

std::vector<std::string> ListFiles(const fs::path& dir) {
  std::vector<std::string> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path().generic_string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void MoveIntoPlace(const fs::path& from, const fs::path& data_dir) {
  RequireAbsentOrEmpty(data_dir);
  std::error_code ec;
  fs::remove(data_dir, ec);  // an empty directory may be replaced
  fs::rename(from, data_dir, ec);
  if (ec) throw InputError(data_dir.string() + ": cannot move the extracted files into place (" + ec.message() + ")");
}

}  // namespace

std::string NormalizeSha256Hex(const std::string& hex) {
  const bool all_hex = std::all_of(hex.begin(), hex.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (hex.size() != 64 || !all_hex) {
    throw InputError("--sha256 '" + hex + "': not a SHA-256 digest (expected 64 hexadecimal digits, got " +
                     std::to_string(hex.size()) + " characters" + (all_hex ? "" : " including non-hex ones") + ")");
  }
  std::string lower = hex;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower;
}

FetchResult FetchCifar10(const std::string& url, const std::string& expected_sha256_hex, const std::string& out_dir,
                         const std::function<void(int64_t, int64_t)>& progress) {
  const std::string expected = NormalizeSha256Hex(expected_sha256_hex);
  if (url.empty()) throw InputError("--url: empty (an http:// or https:// URL is required)");
  const fs::path out(out_dir);
  const fs::path data_dir = out / kCifar10DataDirName;
  const bool out_created = CreateOutDir(out);
  RemoveCreatedDirOnFailure out_guard(out, out_created);
  RequireAbsentOrEmpty(data_dir);

  const fs::path partial = out / kPartialName;
  const fs::path staging = out / kStagingName;
  ScopedRemoveAll partial_guard(partial);
  ScopedRemoveAll staging_guard(staging);

  const DownloadResult download = DownloadToFile(url, partial.string(), progress);
  if (download.sha256_hex != expected) {
    throw InputError("download " + url + ": SHA-256 mismatch: expected " + expected + " (--sha256), got " +
                     download.sha256_hex + " (" + std::to_string(download.bytes) + " bytes); nothing was extracted");
  }

  std::error_code ec;
  fs::remove_all(staging, ec);
  const std::vector<std::string> files = ExtractTarGz(partial.string(), staging.string());
  const std::optional<std::string> batch_dir = FindBatchDir(files);
  if (!batch_dir) {
    throw InputError("archive from " + url + " is not the CIFAR-10 binary release: " + MissingFiles(files) +
                     " (expected data_batch_1..5.bin and test_batch.bin, usually under cifar-10-batches-bin/)");
  }
  const fs::path source = batch_dir->empty() ? staging : staging / *batch_dir;
  CheckBinSizes(source, url);
  MoveIntoPlace(source, data_dir);

  out_guard.Succeeded();
  return FetchResult{data_dir.string(), ListFiles(data_dir), download.sha256_hex, download.bytes};
}

}  // namespace cimsim
