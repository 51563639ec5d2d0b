// fetch.h — `cimsim data fetch`: download the CIFAR-10 binary archive, verify it, unpack it.
//
// The official archive (cifar-10-binary.tar.gz, https://www.cs.toronto.edu/~kriz/) holds
// cifar-10-batches-bin/{data_batch_1..5.bin, test_batch.bin, batches.meta.txt, readme.html}. Each .bin
// file is a sequence of 3073-byte records: 1 label byte (0..9) then 3072 pixel bytes (1024 red, 1024
// green, 1024 blue, row-major 32x32); the official batches hold 10000 records each.
//
// FetchCifar10 steps, all inside out_dir:
//   1. validate the expected digest (64 hex digits, any case) and that <out_dir>/cifar-10-batches-bin
//      is absent or an empty directory;
//   2. download to "<out_dir>/.cifar10-download.partial", hashing while streaming; on a digest
//      mismatch the partial file is deleted and InputError gives the expected and actual digests;
//   3. extract into the staging directory "<out_dir>/.cifar10-staging" (any leftover of an earlier
//      interrupted run is removed first);
//   4. find the directory holding data_batch_1..5.bin and test_batch.bin (anywhere in the archive),
//      check that every .bin file in it is a positive multiple of 3073 bytes;
//   5. rename that directory to <out_dir>/cifar-10-batches-bin (files elsewhere in the archive are
//      dropped).
// The partial download and the staging directory are removed on success and on every failure, and
// out_dir itself is removed again on failure if this call created it (and it is still empty). Files
// already in out_dir are never modified.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/cifar10.h"

namespace cimsim {

// Name of the directory FetchCifar10 creates inside out_dir.
inline constexpr const char* kCifar10DataDirName = "cifar-10-batches-bin";

struct FetchResult {
  std::string data_dir;            // <out_dir>/cifar-10-batches-bin, holding the batch files directly
  std::vector<std::string> files;  // paths (data_dir + "/" + name) of the files in data_dir, sorted
  std::string sha256;              // SHA-256 of the downloaded archive, lowercase hex
  int64_t bytes = 0;               // size of the downloaded archive
};

// Throws InputError (naming --url, --sha256 or --out and the value, the URL and HTTP status or curl
// error, the expected and actual digests, or the missing/bad file) on every failure.
// progress(done, total) is called during the download (total 0 if unknown).
FetchResult FetchCifar10(const std::string& url, const std::string& expected_sha256_hex, const std::string& out_dir,
                         const std::function<void(int64_t, int64_t)>& progress = {});

// Lowercase form of a SHA-256 hex digest; InputError naming --sha256 unless it is 64 hex digits.
std::string NormalizeSha256Hex(const std::string& hex);

}  // namespace cimsim
