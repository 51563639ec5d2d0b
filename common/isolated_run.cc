#include "common/isolated_run.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include "common/error.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CIMSIM_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define CIMSIM_UNDER_SANITIZER 1
#endif
#endif

// Provided by the sanitizer runtimes (libFuzzer registers a death callback that writes a crash file);
// null in a plain build.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace cimsim {
namespace {

constexpr int kExitInputError = 2;
constexpr int kExitOtherError = 3;
constexpr size_t kMaxMessageBytes = 64 << 10;

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

void CapAddressSpace(uint64_t extra) {
#ifndef CIMSIM_UNDER_SANITIZER
  FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long long pages = 0;
  const bool read = f != nullptr && std::fscanf(f, "%llu", &pages) == 1;
  if (f != nullptr) std::fclose(f);
  if (!read) return;
  const rlim_t cap = static_cast<rlim_t>(pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) + extra);
  const rlimit limit{cap, cap};
  ::setrlimit(RLIMIT_AS, &limit);
#else
  (void)extra;
#endif
}

[[noreturn]] void RunChild(int message_fd, const std::function<void()>& body, const IsolationLimits& limits) {
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
  if (__sanitizer_set_death_callback != nullptr) __sanitizer_set_death_callback(nullptr);
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDOUT_FILENO);
    ::dup2(null_fd, STDERR_FILENO);
  }
  CapAddressSpace(limits.extra_address_space);
  int code = 0;
  try {
    body();
  } catch (const InputError& e) {
    WriteAll(message_fd, e.what());
    code = kExitInputError;
  } catch (const std::exception& e) {
    WriteAll(message_fd, e.what());
    code = kExitOtherError;
  } catch (...) {
    WriteAll(message_fd, "an exception of unknown type");
    code = kExitOtherError;
  }
  ::_exit(code);
}

std::string SignalName(int sig) {
  const char* name = ::sigdescr_np(sig);
  return "signal " + std::to_string(sig) + (name != nullptr ? std::string(" (") + name + ")" : std::string());
}

}  // namespace

void RunIsolated(const std::string& what, const std::function<void()>& body, const IsolationLimits& limits) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point end = Clock::now() + limits.deadline;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::runtime_error("cannot create a pipe to check " + what + ": " + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error("cannot start the process that checks " + what + ": " + std::strerror(err));
  }
  if (pid == 0) {
    ::close(fds[0]);
    RunChild(fds[1], body, limits);
  }
  ::close(fds[1]);

  // The message until the child closes the pipe (at its exit) or the deadline passes.
  std::string message;
  bool timed_out = false;
  char buf[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1'000'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // timeout of this slice: the loop re-checks the deadline
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child has exited (or closed everything)
    if (message.size() < kMaxMessageBytes) message.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);

  int status = 0;
  while (!timed_out) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid for the process that checks " + what + ": " + std::strerror(errno));
    if (Clock::now() >= end) {
      timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw InputError(what + ": reading it did not finish within " + std::to_string(limits.deadline.count() / 1000.0).substr(0, 6) +
                     " s and was stopped; the file is damaged (a damaged HDF5 file can make the library loop forever)");
  }
  if (WIFSIGNALED(status))
    throw InputError(what + ": reading it crashed the reader (" + SignalName(WTERMSIG(status)) +
                     "); the file is damaged (a damaged HDF5 file can make the library overrun its buffers)");
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 0) return;
  if (code == kExitInputError && !message.empty()) throw InputError(message);
  if (code == kExitOtherError)
    throw InputError(what + ": reading it failed (" + message + "); the file is damaged or declares sizes beyond the limits");
  throw InputError(what + ": reading it ended the reader with exit code " + std::to_string(code) +
                   " (a library's crash report); the file is damaged");
}

}  // namespace cimsim
