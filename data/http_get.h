// http_get.h — download one URL to a file with libcurl, hashing (SHA-256) while streaming.
//
// Behaviour: http:// and https:// only (other schemes, including redirects to them, are refused);
// redirects are followed (at most 10); an HTTP status >= 400 is an error; the connection must be
// established within 30 s, and a transfer slower than 1 byte/s for 60 s is aborted, so a download
// never hangs. Nothing is printed; progress is reported only through the optional callback.
// curl_global_init is called once, thread-safely, on first use.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace cimsim {

struct DownloadResult {
  int64_t bytes = 0;       // bytes written to the file
  std::string sha256_hex;  // SHA-256 of those bytes, 64 lowercase hex digits
};

// Progress callback: bytes done so far and the total (0 if the server did not announce a length).
using DownloadProgress = std::function<void(int64_t done, int64_t total)>;

// Downloads `url` into `path` (created or truncated). On any failure throws InputError naming the
// URL and the curl error or HTTP status, and deletes `path`. An exception thrown by `progress` aborts
// the transfer and is rethrown unchanged.
DownloadResult DownloadToFile(const std::string& url, const std::string& path,
                              const DownloadProgress& progress = {});

}  // namespace cimsim
