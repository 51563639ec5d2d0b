// isolated_run.h — run a reader of untrusted input in a child process, with a deadline.
//
// Some third-party parsers cannot be made safe from the outside: libhdf5 1.10 loops forever or
// overruns a buffer on some damaged files (found by fuzz/; docs/hardening.md). RunIsolated forks, runs
// `body` in the child and waits at most `deadline` for it:
//   body returns            -> RunIsolated returns (the caller then does the real read in-process);
//   body throws E           -> InputError(E.what()) (body's messages name the file themselves);
//   the child dies (signal, sanitizer report, any other exit code) -> InputError naming the signal or
//                              code and saying the input is damaged;
//   the deadline passes     -> the child is killed (SIGKILL) and InputError says so.
// Every failure of the child is an InputError: RunIsolated is only for reading input. The child's
// stdout and stderr go to /dev/null (a library's crash report is not cimsim's message), it leaves
// with _exit (no atexit handlers, no stream flushes: the parent's open files and buffers are never
// touched twice), its crash handlers are reset to the default action, and outside the sanitizer builds
// its address space is capped at its size when forked + `extra_address_space` bytes, so a file that
// declares a huge size fails with std::bad_alloc in the child instead of exhausting the machine.
// fork() copies only the calling thread: body must not need locks other threads may hold (glibc's
// malloc is fork-safe; cimsim calls HDF5 from one thread at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace cimsim {

struct IsolationLimits {
  std::chrono::milliseconds deadline{120'000};
  uint64_t extra_address_space = uint64_t{8} << 30;  // bytes above the forked size (not under ASan)
};

void RunIsolated(const std::string& what, const std::function<void()>& body, const IsolationLimits& limits = {});

}  // namespace cimsim
