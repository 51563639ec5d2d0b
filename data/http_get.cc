#include "data/http_get.h"

#include <curl/curl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <utility>

#include "common/error.h"
#include "data/sha256.h"

namespace cimsim {
namespace {

constexpr long kConnectTimeoutS = 30;
constexpr long kLowSpeedBytesPerS = 1;
constexpr long kLowSpeedTimeS = 60;
constexpr long kMaxRedirects = 10;

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Deletes the output file when it leaves scope unless the download completed.
class RemoveOnFailure {
 public:
  explicit RemoveOnFailure(std::string path) : path_(std::move(path)) {}
  ~RemoveOnFailure() {
    if (!done_) std::remove(path_.c_str());
  }
  RemoveOnFailure(const RemoveOnFailure&) = delete;
  RemoveOnFailure& operator=(const RemoveOnFailure&) = delete;
  void Done() { done_ = true; }

 private:
  std::string path_;
  bool done_ = false;
};

// curl_global_init is not thread-safe itself; a function-local static runs it exactly once.
void EnsureCurlGlobalInit() {
  static const CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (code != CURLE_OK) {
    throw std::runtime_error(std::string("curl_global_init failed: ") + curl_easy_strerror(code));
  }
}

// State shared with the curl callbacks for one transfer.
struct Transfer {
  std::FILE* file = nullptr;
  Sha256 sha;
  int64_t bytes = 0;
  bool write_failed = false;
  const DownloadProgress* progress = nullptr;
  std::exception_ptr callback_error;  // an exception thrown by `progress`, rethrown after curl returns
};

size_t WriteCallback(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (std::fwrite(data, 1, n, t->file) != n) {
    t->write_failed = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  t->sha.Update(data, n);
  t->bytes += static_cast<int64_t>(n);
  return n;
}

// Exceptions must not unwind through curl's C frames: keep the first one and abort the transfer.
int ProgressCallback(void* user, curl_off_t total, curl_off_t done, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  try {
    (*t->progress)(static_cast<int64_t>(done), static_cast<int64_t>(total));
    return 0;
  } catch (...) {
    t->callback_error = std::current_exception();
    return 1;
  }
}

void SetOpt(CURL* curl, CURLoption option, auto value) {
  const CURLcode code = curl_easy_setopt(curl, option, value);
  if (code != CURLE_OK) {
    throw std::runtime_error(std::string("curl_easy_setopt failed: ") + curl_easy_strerror(code));
  }
}

void Configure(CURL* curl, const std::string& url, Transfer& transfer, char* error_buffer) {
  SetOpt(curl, CURLOPT_URL, url.c_str());
  SetOpt(curl, CURLOPT_ERRORBUFFER, error_buffer);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85.0 added the _STR forms and deprecated the bitmask ones
  SetOpt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  SetOpt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  SetOpt(curl, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  SetOpt(curl, CURLOPT_REDIR_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  SetOpt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  SetOpt(curl, CURLOPT_MAXREDIRS, kMaxRedirects);
  SetOpt(curl, CURLOPT_FAILONERROR, 1L);
  SetOpt(curl, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutS);
  SetOpt(curl, CURLOPT_LOW_SPEED_LIMIT, kLowSpeedBytesPerS);
  SetOpt(curl, CURLOPT_LOW_SPEED_TIME, kLowSpeedTimeS);
  SetOpt(curl, CURLOPT_NOSIGNAL, 1L);
  SetOpt(curl, CURLOPT_USERAGENT, "cimsim-data-fetch/1");
  SetOpt(curl, CURLOPT_WRITEFUNCTION, &WriteCallback);
  SetOpt(curl, CURLOPT_WRITEDATA, static_cast<void*>(&transfer));
  if (transfer.progress != nullptr && *transfer.progress) {
    SetOpt(curl, CURLOPT_NOPROGRESS, 0L);
    SetOpt(curl, CURLOPT_XFERINFOFUNCTION, &ProgressCallback);
    SetOpt(curl, CURLOPT_XFERINFODATA, static_cast<void*>(&transfer));
  } else {
    SetOpt(curl, CURLOPT_NOPROGRESS, 1L);
  }
}

[[noreturn]] void ThrowTransferError(CURL* curl, const std::string& url, const std::string& path,
                                     CURLcode code, const Transfer& transfer, const char* error_buffer) {
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (code == CURLE_HTTP_RETURNED_ERROR || status >= 400) {
    throw InputError("download " + url + " failed: HTTP status " + std::to_string(status) +
                     " (expected a status below 400)");
  }
  if (transfer.write_failed) {
    throw InputError("download " + url + " failed: cannot write " + path);
  }
  const std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  throw InputError("download " + url + " failed: " + detail + " (curl error " +
                   std::to_string(static_cast<int>(code)) + ")");
}

}  // namespace

DownloadResult DownloadToFile(const std::string& url, const std::string& path,
                              const DownloadProgress& progress) {
  EnsureCurlGlobalInit();
  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file) throw InputError(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  RemoveOnFailure cleanup(path);
  CurlPtr curl(curl_easy_init());
  if (!curl) throw std::runtime_error("curl_easy_init failed");

  Transfer transfer;
  transfer.file = file.get();
  transfer.progress = &progress;
  char error_buffer[CURL_ERROR_SIZE] = {};
  Configure(curl.get(), url, transfer, error_buffer);

  const CURLcode code = curl_easy_perform(curl.get());
  if (transfer.callback_error) std::rethrow_exception(transfer.callback_error);
  if (code != CURLE_OK) ThrowTransferError(curl.get(), url, path, code, transfer, error_buffer);
  if (std::fclose(file.release()) != 0) throw InputError(path + ": write error while closing");
  cleanup.Done();
  return DownloadResult{transfer.bytes, Sha256::Hex(transfer.sha.Final())};
}

}  // namespace cimsim
