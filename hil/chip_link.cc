// ChipLink: spawning / connecting, frame I/O with poll() deadlines, and reaping (hil/chip_link.h).
#include "hil/chip_link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <ctime>

extern char** environ;

namespace cimsim::hil {
namespace {

constexpr int kExitGraceMs = 1000;     // after closing the socket, before SIGTERM
constexpr int kTermGraceMs = 1000;     // after SIGTERM, before SIGKILL
constexpr int kFateWaitMs = 500;       // after EOF, how long to wait for the child's exit status

int64_t NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string Seconds(double s) {
  std::string t = std::to_string(s);
  t.erase(t.find_last_not_of('0') + 1);
  if (!t.empty() && t.back() == '.') t.pop_back();
  return t + " s";
}

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) throw ProtocolError(Errno("fcntl(O_NONBLOCK)"));
}

// poll() one event until the deadline, retrying on EINTR. False on timeout.
bool PollUntil(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1 << 30)));
    if (r > 0) return true;   // ready, or an error/hangup the next read/write reports
    if (r == 0) return false;
    if (errno != EINTR) throw ProtocolError(Errno("poll"));
  }
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* name = sigdescr_np(sig);
    return "was killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

ChipLink::ChipLink(int fd, pid_t pid, double timeout_s, uint32_t max_payload_bytes)
    : fd_(fd), pid_(pid), timeout_s_(timeout_s), max_payload_bytes_(max_payload_bytes) {}

ChipLink::~ChipLink() { Close(); }

std::unique_ptr<ChipLink> ChipLink::Spawn(const std::vector<std::string>& argv, double timeout_s,
                                          uint32_t max_payload_bytes) {
  if (argv.empty() || argv[0].empty()) throw ProtocolError("the server command is empty");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) throw ProtocolError(Errno("socketpair"));
  // The child's end must not be 0..2 itself (dup2 onto itself would keep its close-on-exec flag).
  int child = sv[1];
  if (child <= 2) {
    child = fcntl(sv[1], F_DUPFD_CLOEXEC, 3);
    close(sv[1]);
    if (child < 0) {
      close(sv[0]);
      throw ProtocolError(Errno("fcntl(F_DUPFD_CLOEXEC)"));
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child, STDOUT_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(child);
  if (rc != 0) {
    close(sv[0]);
    throw ProtocolError("cannot start \"" + argv[0] + "\": " + std::strerror(rc));
  }
  std::unique_ptr<ChipLink> link(new ChipLink(sv[0], pid, timeout_s, max_payload_bytes));
  SetNonBlocking(sv[0]);
  return link;
}

std::unique_ptr<ChipLink> ChipLink::Connect(const std::string& socket_path, double timeout_s,
                                            uint32_t max_payload_bytes) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof(addr.sun_path)) {
    throw ProtocolError("the socket path \"" + socket_path + "\" is empty or longer than " +
                        std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) throw ProtocolError(Errno("socket"));
  std::unique_ptr<ChipLink> link(new ChipLink(fd, -1, timeout_s, max_payload_bytes));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EAGAIN && errno != EINPROGRESS) throw ProtocolError(Errno("cannot connect to " + socket_path));
    if (!PollUntil(fd, POLLOUT, NowMs() + static_cast<int64_t>(std::ceil(timeout_s * 1000)))) {
      throw ProtocolError("cannot connect to " + socket_path + " within " + Seconds(timeout_s));
    }
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) throw ProtocolError("cannot connect to " + socket_path + ": " + std::strerror(err));
  }
  return link;
}

void ChipLink::Fail(const std::string& problem) {
  broken_ = true;
  throw ProtocolError(problem);
}

bool ChipLink::WaitChild(int wait_ms) {
  if (pid_ < 0) return true;
  const int64_t deadline = NowMs() + wait_ms;
  for (;;) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      fate_ = DescribeStatus(status);
      pid_ = -1;
      return true;
    }
    if (r < 0 && errno != EINTR) {   // ECHILD: someone else reaped it
      fate_ = "ended (its status was collected elsewhere)";
      pid_ = -1;
      return true;
    }
    if (NowMs() >= deadline) return false;
    usleep(5000);
  }
}

std::string ChipLink::ChildFate(int wait_ms) {
  if (pid_ < 0 && fate_.empty()) return "";
  if (pid_ >= 0 && !WaitChild(wait_ms)) return "";
  return "; the server " + fate_;
}

void ChipLink::Send(const std::vector<uint8_t>& frame) {
  if (broken_ || fd_ < 0) throw ProtocolError("the connection is closed after an earlier failure");
  const int64_t deadline = NowMs() + static_cast<int64_t>(std::ceil(timeout_s_ * 1000));
  size_t done = 0;
  while (done < frame.size()) {
    const ssize_t w = send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!PollUntil(fd_, POLLOUT, deadline)) {
        Fail("the server did not accept the request within " + Seconds(timeout_s_) + " (" + std::to_string(done) +
             " of " + std::to_string(frame.size()) + " bytes sent)");
      }
      continue;
    }
    if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
      Fail("the server closed the connection while the request was being sent" + ChildFate(kFateWaitMs));
    }
    Fail(Errno("send"));
  }
}

void ChipLink::ReadExactly(uint8_t* data, size_t size, int64_t deadline_ms, const std::string& what) {
  size_t done = 0;
  while (done < size) {
    const ssize_t r = recv(fd_, data + done, size - done, 0);
    if (r > 0) {
      done += static_cast<size_t>(r);
      continue;
    }
    if (r == 0 || (r < 0 && errno == ECONNRESET)) {
      const std::string got = done == 0 ? "before " + what
                                        : "after " + std::to_string(done) + " of " + std::to_string(size) +
                                              " bytes of " + what + " (a short frame)";
      Fail("the server closed the connection " + got + ChildFate(kFateWaitMs));
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) Fail(Errno("recv"));
    if (!PollUntil(fd_, POLLIN, deadline_ms)) {
      Fail("no reply within the timeout of " + Seconds(timeout_s_) + " (" + std::to_string(done) + " of " +
           std::to_string(size) + " bytes of " + what + " received)");
    }
  }
}

Frame ChipLink::Receive() {
  if (broken_ || fd_ < 0) throw ProtocolError("the connection is closed after an earlier failure");
  const int64_t deadline = NowMs() + static_cast<int64_t>(std::ceil(timeout_s_ * 1000));
  uint8_t header[kHeaderBytes];
  ReadExactly(header, kHeaderBytes, deadline, "a frame header");
  FrameHeader h;
  try {
    h = DecodeHeader(header, max_payload_bytes_);
  } catch (const ProtocolError& e) {
    Fail(e.what());
  }
  Frame f;
  f.type = h.type;
  f.payload.resize(h.payload_bytes);
  ReadExactly(f.payload.data(), f.payload.size(), deadline, "a " + ToString(h.type) + " payload");
  return f;
}

void ChipLink::Close() {
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (pid_ < 0) return;
  if (!broken_ && WaitChild(kExitGraceMs)) return;
  if (pid_ >= 0) kill(pid_, SIGTERM);
  if (WaitChild(kTermGraceMs)) return;
  if (pid_ >= 0) kill(pid_, SIGKILL);
  while (pid_ >= 0) WaitChild(1000);
}

}  // namespace cimsim::hil
