#include "common/test_support.h"
#include "data/fetch.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/error.h"
#include "data/http_get.h"
#include "data/sha256.h"
#include "data/tar_gz.h"

namespace cimsim {
namespace {

namespace fs = std::filesystem;

constexpr const char* kArchivePath = "/cifar-10-binary.tar.gz";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Closes a socket when it leaves scope.
class Socket {
 public:
  explicit Socket(int fd = -1) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// A TCP socket bound to 127.0.0.1 on an ephemeral port; returns the fd, stores the port.
int BindLoopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("bind to 127.0.0.1 failed");
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

struct Route {
  int status = 200;
  std::string body;
  std::string location;  // for redirects
};

// Minimal HTTP/1.1 server on 127.0.0.1:<ephemeral port>, on its own thread. One request per
// connection ("Connection: close"); serves at most `max_requests`; every socket has a 2 s receive
// and send timeout and the accept loop polls a stop flag, so neither the server nor a test can hang.
class TinyHttpServer {
 public:
  explicit TinyHttpServer(std::map<std::string, Route> routes, int max_requests = 8)
      : routes_(std::move(routes)), max_requests_(max_requests), listen_(BindLoopback(&port_)) {
    if (::listen(listen_.fd(), 8) != 0) throw std::runtime_error("listen() failed");
    thread_ = std::thread([this] { Serve(); });
  }
  ~TinyHttpServer() {
    stop_ = true;
    thread_.join();
  }
  TinyHttpServer(const TinyHttpServer&) = delete;
  TinyHttpServer& operator=(const TinyHttpServer&) = delete;

  std::string Url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_ && requests_ < max_requests_) {
      pollfd pfd{listen_.fd(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      Socket conn(::accept(listen_.fd(), nullptr, nullptr));
      if (conn.fd() < 0) continue;
      ++requests_;
      Handle(conn.fd());
    }
  }

  void Handle(int fd) {
    const timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    std::string request;
    char buffer[4096];
    while (request.find("\r\n\r\n") == std::string::npos && request.size() < 65536) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return;
      request.append(buffer, static_cast<size_t>(n));
    }
    // Request line: "GET /path HTTP/1.1".
    const size_t sp1 = request.find(' '), sp2 = request.find(' ', sp1 + 1);
    const std::string path = request.substr(sp1 + 1, sp2 - sp1 - 1);
    const auto it = routes_.find(path);
    SendAll(fd, it == routes_.end() ? Response(Route{404, "not found\n", ""}) : Response(it->second));
    ::shutdown(fd, SHUT_WR);
  }

  static std::string Response(const Route& route) {
    std::string head = "HTTP/1.1 " + std::to_string(route.status) + (route.status < 400 ? " OK" : " Error") + "\r\n";
    if (!route.location.empty()) head += "Location: " + route.location + "\r\n";
    head += "Content-Length: " + std::to_string(route.body.size()) + "\r\nConnection: close\r\n\r\n";
    return head + route.body;
  }

  static void SendAll(int fd, const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  std::map<std::string, Route> routes_;
  int max_requests_;
  int port_ = 0;
  Socket listen_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A 127.0.0.1 port that is bound but not listening: connections to it are refused.
class RefusingPort {
 public:
  RefusingPort() : socket_(BindLoopback(&port_)) {}
  int port() const { return port_; }

 private:
  int port_ = 0;
  Socket socket_;
};

// Deterministic CIFAR-10-format batch: `records` records of label byte + 3072 pixel bytes.
std::string Batch(int seed, int records, int64_t record_bytes = kCifarRecordBytes) {
  std::string data;
  for (int r = 0; r < records; ++r) {
    data.push_back(static_cast<char>((seed + r) % 10));
    for (int64_t i = 1; i < record_bytes; ++i) data.push_back(static_cast<char>((seed * 31 + r * 7 + i) % 256));
  }
  return data;
}

using Files = std::vector<std::pair<std::string, std::string>>;

// The layout of the official archive, scaled down to a few records per batch.
Files SmallCifarFiles(const std::string& dir = "cifar-10-batches-bin/") {
  Files files;
  files.emplace_back(dir + "batches.meta.txt", "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");
  for (int i = 1; i <= 5; ++i) files.emplace_back(dir + "data_batch_" + std::to_string(i) + ".bin", Batch(i, 1 + i % 3));
  files.emplace_back(dir + "readme.html", "<html>CIFAR-10</html>\n");
  files.emplace_back(dir + "test_batch.bin", Batch(9, 2));
  return files;
}

Files Without(Files files, const std::string& suffix) {
  std::erase_if(files, [&](const auto& f) { return f.first.ends_with(suffix); });
  return files;
}

std::vector<std::string> ListDir(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    names.push_back(fs::relative(entry.path(), dir).generic_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

class FetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    out_ = root_ / "out";
  }

  // Builds a .tar.gz of `files` and returns its bytes.
  std::string Archive(const Files& files) {
    const fs::path path = root_ / "built.tar.gz";
    WriteTarGz(path.string(), files);
    return ReadFile(path);
  }

  // Runs FetchCifar10 expecting an InputError whose message contains every one of `needles`.
  void ExpectFetchError(const std::string& url, const std::string& sha, const std::vector<std::string>& needles) {
    try {
      FetchCifar10(url, sha, out_.string());
      ADD_FAILURE() << "expected InputError";
    } catch (const InputError& e) {
      for (const std::string& needle : needles) {
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what() << "\nlacks: " << needle;
      }
    }
  }

  testing::ScopedTempDir temp_{"fetch_test"};
  const fs::path root_ = temp_.path();
  fs::path out_;
};

TEST_F(FetchTest, DownloadsVerifiesAndUnpacks) {
  const Files files = SmallCifarFiles();
  const std::string archive = Archive(files);
  TinyHttpServer server({{kArchivePath, Route{200, archive, ""}}});
  std::string upper_sha = Sha256Hex(archive);
  for (char& c : upper_sha) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int64_t last_done = -1;

  const FetchResult result = FetchCifar10(server.Url(kArchivePath), upper_sha, out_.string(),
                                          [&](int64_t done, int64_t) { last_done = done; });

  EXPECT_EQ(fs::path(result.data_dir), out_ / "cifar-10-batches-bin");
  EXPECT_EQ(result.sha256, Sha256Hex(archive));
  EXPECT_EQ(result.bytes, static_cast<int64_t>(archive.size()));
  EXPECT_EQ(last_done, static_cast<int64_t>(archive.size()));
  ASSERT_EQ(result.files.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {  // both sorted by name
    EXPECT_EQ(fs::path(result.files[i]), out_ / files[i].first);
    EXPECT_EQ(ReadFile(out_ / files[i].first), files[i].second) << files[i].first;
  }
  // Nothing but the data directory is left behind (no partial download, no staging directory).
  std::vector<std::string> expected_listing = {"cifar-10-batches-bin"};
  for (const auto& f : files) expected_listing.push_back(f.first);
  std::sort(expected_listing.begin(), expected_listing.end());
  EXPECT_EQ(ListDir(out_), expected_listing);
}

TEST_F(FetchTest, FilesAtArchiveRootAndEmptyExistingTargetAreAccepted) {
  const std::string archive = Archive(SmallCifarFiles(""));
  TinyHttpServer server({{kArchivePath, Route{200, archive, ""}}});
  fs::create_directories(out_ / "cifar-10-batches-bin");
  const FetchResult result = FetchCifar10(server.Url(kArchivePath), Sha256Hex(archive), out_.string());
  EXPECT_EQ(ReadFile(out_ / "cifar-10-batches-bin/test_batch.bin"), Batch(9, 2));
  EXPECT_EQ(result.files.size(), 8u);
}

TEST_F(FetchTest, WrongSha256LeavesOutDirUntouched) {
  const std::string archive = Archive(SmallCifarFiles());
  TinyHttpServer server({{kArchivePath, Route{200, archive, ""}}});
  fs::create_directories(out_);
  std::ofstream(out_ / "keep.txt") << "precious";
  const std::string wrong = Sha256Hex("not the archive");

  ExpectFetchError(server.Url(kArchivePath), wrong, {"SHA-256 mismatch", wrong, Sha256Hex(archive)});
  EXPECT_EQ(server.requests(), 1);
  EXPECT_EQ(ListDir(out_), std::vector<std::string>{"keep.txt"});
  EXPECT_EQ(ReadFile(out_ / "keep.txt"), "precious");
}

TEST_F(FetchTest, Http404NamesStatusAndUrl) {
  TinyHttpServer server({{kArchivePath, Route{200, "x", ""}}});
  const std::string url = server.Url("/nope.tar.gz");
  ExpectFetchError(url, std::string(64, 'a'), {"404", url});
  EXPECT_FALSE(fs::exists(out_));  // created by the fetch, removed again on failure
}

TEST_F(FetchTest, ConnectionRefusedNamesUrl) {
  RefusingPort port;
  const std::string url = "http://127.0.0.1:" + std::to_string(port.port()) + kArchivePath;
  ExpectFetchError(url, std::string(64, 'a'), {url});
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(FetchTest, MalformedSha256IsRejectedBeforeDownloading) {
  TinyHttpServer server({{kArchivePath, Route{200, "x", ""}}});
  for (const std::string& bad : std::vector<std::string>{"", "abc", std::string(63, 'a'), std::string(65, 'a'),
                                                         std::string(63, 'a') + "g"}) {
    ExpectFetchError(server.Url(kArchivePath), bad, {"--sha256", "'" + bad + "'", "64"});
  }
  EXPECT_EQ(server.requests(), 0);
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_EQ(NormalizeSha256Hex(std::string(32, 'A') + std::string(32, 'f')), std::string(32, 'a') + std::string(32, 'f'));
}

TEST_F(FetchTest, ArchiveMissingTestBatchIsRejected) {
  const std::string archive = Archive(Without(SmallCifarFiles(), "test_batch.bin"));
  TinyHttpServer server({{kArchivePath, Route{200, archive, ""}}});
  fs::create_directories(out_);
  ExpectFetchError(server.Url(kArchivePath), Sha256Hex(archive), {"test_batch.bin", server.Url(kArchivePath)});
  EXPECT_TRUE(ListDir(out_).empty());  // no staging directory or partial download left
}

TEST_F(FetchTest, BatchSizeNotMultipleOfRecordIsRejected) {
  Files files = SmallCifarFiles();
  for (auto& [name, data] : files) {
    if (name.ends_with("data_batch_3.bin")) data = Batch(3, 2, kCifarRecordBytes - 1);
  }
  const std::string archive = Archive(files);
  TinyHttpServer server({{kArchivePath, Route{200, archive, ""}}});
  ExpectFetchError(server.Url(kArchivePath), Sha256Hex(archive), {"data_batch_3.bin", "6144", "3073"});
  EXPECT_FALSE(fs::exists(out_));
}

TEST_F(FetchTest, NonEmptyTargetIsRefusedBeforeDownloading) {
  TinyHttpServer server({{kArchivePath, Route{200, "x", ""}}});
  fs::create_directories(out_ / "cifar-10-batches-bin");
  std::ofstream(out_ / "cifar-10-batches-bin/old.bin") << "old";
  ExpectFetchError(server.Url(kArchivePath), std::string(64, 'a'), {"cifar-10-batches-bin", "not empty"});
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(ReadFile(out_ / "cifar-10-batches-bin/old.bin"), "old");
  EXPECT_EQ(ListDir(out_), (std::vector<std::string>{"cifar-10-batches-bin", "cifar-10-batches-bin/old.bin"}));
}

TEST(HttpGetTest, FollowsRedirectAndHashesWhileStreaming) {
  const std::string body(300000, 'r');
  TinyHttpServer server({{"/final", Route{200, body, ""}}, {"/start", Route{302, "", "/final"}}});
  const fs::path path = fs::temp_directory_path() / ("cimsim_http_get_test_" + std::to_string(::getpid()));
  const DownloadResult result = DownloadToFile(server.Url("/start"), path.string());
  EXPECT_EQ(result.bytes, static_cast<int64_t>(body.size()));
  EXPECT_EQ(result.sha256_hex, Sha256Hex(body));
  EXPECT_EQ(ReadFile(path), body);
  EXPECT_EQ(server.requests(), 2);
  fs::remove(path);
}

TEST(HttpGetTest, FailureNamesUrlAndStatusAndRemovesOutput) {
  TinyHttpServer server({{"/gone", Route{410, "gone", ""}}});
  const fs::path path = fs::temp_directory_path() / ("cimsim_http_get_410_" + std::to_string(::getpid()));
  try {
    DownloadToFile(server.Url("/gone"), path.string());
    ADD_FAILURE() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(server.Url("/gone")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HTTP status 410"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(HttpGetTest, NonHttpSchemesAreRefused) {
  const fs::path path = fs::temp_directory_path() / ("cimsim_http_get_scheme_" + std::to_string(::getpid()));
  EXPECT_THROW(DownloadToFile("file:///etc/hostname", path.string()), InputError);
  fs::remove(path);
}

TEST(HttpGetTest, ProgressCallbackExceptionPropagates) {
  TinyHttpServer server({{"/f", Route{200, std::string(100000, 'p'), ""}}});
  const fs::path path = fs::temp_directory_path() / ("cimsim_http_get_cb_" + std::to_string(::getpid()));
  EXPECT_THROW(DownloadToFile(server.Url("/f"), path.string(),
                              [](int64_t, int64_t) { throw std::logic_error("stop"); }),
               std::logic_error);
  fs::remove(path);
}

}  // namespace
}  // namespace cimsim
