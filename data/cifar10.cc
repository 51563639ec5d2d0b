#include "data/cifar10.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "common/error.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

// Size of a regular file, or InputError saying why it cannot be used.
int64_t CheckedFileSize(const std::string& file) {
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (!fs::exists(st)) {
    throw InputError("CIFAR-10 file '" + file + "' does not exist. " + Cifar10DownloadHint());
  }
  if (!fs::is_regular_file(st)) {
    throw InputError("CIFAR-10 file '" + file +
                     "' is not a regular file; give a .bin file of the binary version or the "
                     "directory that holds them");
  }
  const uintmax_t size = fs::file_size(file, ec);
  if (ec) throw InputError("cannot get the size of CIFAR-10 file '" + file + "': " + ec.message());
  if (size == 0) {
    throw InputError(
        "CIFAR-10 file '" + file + "' is empty (0 bytes); expected a whole number of " +
        std::to_string(kCifarRecordBytes) + "-byte records (1 label byte + 3072 pixel bytes)");
  }
  if (size % kCifarRecordBytes != 0) {
    throw InputError("CIFAR-10 file '" + file + "' has " + std::to_string(size) +
                     " bytes, which is not a multiple of the " + std::to_string(kCifarRecordBytes) +
                     "-byte record (1 label byte + 3072 pixel bytes): " +
                     std::to_string(size / kCifarRecordBytes) + " whole record(s) + " +
                     std::to_string(size % kCifarRecordBytes) +
                     " leftover byte(s). Is it truncated, or another format (the Python and MATLAB "
                     "versions of CIFAR-10 are not supported; use cifar-10-binary.tar.gz)?");
  }
  return static_cast<int64_t>(size);
}

// Appends the first `records` records of `file` (size already checked) to *set: one read of those
// records' bytes, then label/pixel split and label validation.
void AppendFile(const std::string& file, int64_t records, std::vector<uint8_t>& buffer,
                Cifar10Set* set) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw InputError("cannot open CIFAR-10 file '" + file + "' for reading");
  const int64_t size = records * kCifarRecordBytes;
  buffer.resize(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    throw InputError("could not read " + std::to_string(size) + " bytes of CIFAR-10 file '" +
                     file + "' (got " + std::to_string(in.gcount()) + ")");
  }
  const int64_t first = set->size();
  set->labels.resize(static_cast<size_t>(first + records));
  set->pixels.resize(static_cast<size_t>((first + records) * kCifarImageBytes));
  for (int64_t r = 0; r < records; ++r) {
    const uint8_t* rec = buffer.data() + r * kCifarRecordBytes;
    if (rec[0] >= kCifarClasses) {
      throw InputError("CIFAR-10 file '" + file + "' record " + std::to_string(r) +
                       " (byte offset " + std::to_string(r * kCifarRecordBytes) + ") has label " +
                       std::to_string(rec[0]) + "; labels must be 0..9");
    }
    set->labels[static_cast<size_t>(first + r)] = rec[0];
    std::memcpy(set->pixels.data() + (first + r) * kCifarImageBytes, rec + 1, kCifarImageBytes);
  }
  set->sources.push_back(file);
}

}  // namespace

std::string Cifar10DownloadHint() {
  return "Get the official binary version \"cifar-10-binary.tar.gz\" from "
         "https://www.cs.toronto.edu/~kriz/cifar.html, e.g. with `cimsim data fetch --url "
         "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz --sha256 <sha256 of the archive> "
         "--out DIR`; it unpacks to cifar-10-batches-bin/ with data_batch_1.bin..data_batch_5.bin "
         "and test_batch.bin. Give that directory (or one .bin file) with --data or the "
         "CIMSIM_DATA environment variable.";
}

std::string ResolveDataPath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* env = std::getenv("CIMSIM_DATA");
  if (env != nullptr && env[0] != '\0') return env;
  throw InputError(
      "no CIFAR-10 data path: give --data PATH or set the CIMSIM_DATA environment variable to the "
      "directory holding the binary files (or to one .bin file). " +
      Cifar10DownloadHint());
}

Cifar10Set LoadCifar10Files(const std::vector<std::string>& files, int64_t max_images) {
  if (files.empty()) throw InputError("LoadCifar10Files: no CIFAR-10 files given");
  // Check every file before reading any, so a bad last file fails fast; reserve the total once.
  std::vector<int64_t> records;
  records.reserve(files.size());
  int64_t available = 0;
  for (const std::string& f : files) {
    records.push_back(CheckedFileSize(f) / kCifarRecordBytes);
    available += records.back();
  }
  const int64_t wanted = max_images < 0 ? available : std::min(max_images, available);
  Cifar10Set set;
  set.available = available;
  set.labels.reserve(static_cast<size_t>(wanted));
  set.pixels.reserve(static_cast<size_t>(wanted * kCifarImageBytes));
  std::vector<uint8_t> buffer;
  for (size_t i = 0; i < files.size() && set.size() < wanted; ++i)
    AppendFile(files[i], std::min(records[i], wanted - set.size()), buffer, &set);
  return set;
}

Cifar10Set LoadCifar10(const std::string& path, Cifar10Split split, int64_t max_images) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) {
    throw InputError("CIFAR-10 path '" + path +
                     "' does not exist (neither a file nor a directory). " + Cifar10DownloadHint());
  }
  if (!fs::is_directory(st)) return LoadCifar10Files({path}, max_images);

  std::vector<std::string> names;
  if (split == Cifar10Split::kTrain) {
    for (int j = 1; j <= 5; ++j) names.push_back("data_batch_" + std::to_string(j) + ".bin");
  } else {
    names.push_back("test_batch.bin");
  }
  std::vector<std::string> files;
  for (const std::string& name : names) {
    const fs::path file = fs::path(path) / name;
    if (!fs::exists(file, ec)) {
      throw InputError("CIFAR-10 directory '" + path + "' has no " + name + " (the " +
                       (split == Cifar10Split::kTrain
                            ? "train split needs data_batch_1.bin..data_batch_5.bin"
                            : "test split needs test_batch.bin") +
                       "). " + Cifar10DownloadHint());
    }
    files.push_back(file.string());
  }
  return LoadCifar10Files(files, max_images);
}

std::vector<std::string> Cifar10Set::ClassNames() const {
  if (!class_names.empty()) return class_names;
  return {kCifarClassNames.begin(), kCifarClassNames.end()};
}

}  // namespace cimsim
