// chip_link.h — the byte stream to a chip server: a child process on a socketpair, or a Unix socket.
//
// Spawn(argv): socketpair(AF_UNIX, SOCK_STREAM); the child (posix_spawnp, no shell, argv[0] looked up
// in PATH) gets its end as stdin and stdout, stderr is inherited (the server's diagnostics appear on
// ours). Connect(path): a server already listening on a Unix socket (no process to manage).
//
// Timeouts. Send and Receive each move one whole frame (hil/protocol.h) within timeout_s seconds
// (poll() on a non-blocking socket; the clock starts at the call), so a Receive's timeout covers the
// server's compute time for the request as well. Writes use send(MSG_NOSIGNAL): a dead peer gives
// EPIPE, never SIGPIPE.
//
// Failures throw ProtocolError with what happened: a timeout ("no reply within 2 s"), the peer closing
// the stream (with the child's fate: "exited with status 3", "killed by signal 9", found with waitpid
// after a short wait), a short frame (EOF after part of a frame), a bad header (hil/protocol.h). After
// a failure the link is unusable (Broken()).
//
// Close (also the destructor): closes the socket; a child then has a grace period to exit (it sees
// EOF), after which it gets SIGTERM and, if still alive after another grace period, SIGKILL; it is
// always reaped (no zombies). A broken link skips the first grace period. Idempotent; never throws.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "hil/protocol.h"

namespace cimsim::hil {

struct Frame {
  MessageType type = MessageType::kHello;
  std::vector<uint8_t> payload;
};

class ChipLink {
 public:
  // argv non-empty. Throws ProtocolError when the socketpair or the spawn fails (e.g. no such program).
  static std::unique_ptr<ChipLink> Spawn(const std::vector<std::string>& argv, double timeout_s,
                                         uint32_t max_payload_bytes = kDefaultMaxPayloadBytes);
  static std::unique_ptr<ChipLink> Connect(const std::string& socket_path, double timeout_s,
                                           uint32_t max_payload_bytes = kDefaultMaxPayloadBytes);
  ~ChipLink();
  ChipLink(const ChipLink&) = delete;
  ChipLink& operator=(const ChipLink&) = delete;

  // Writes `frame` (header included, hil/protocol.h EncodeFrame) within the timeout.
  void Send(const std::vector<uint8_t>& frame);
  // Reads one frame within the timeout; checks magic, version and size (DecodeHeader).
  Frame Receive();
  void Close();

  bool Broken() const { return broken_; }
  pid_t pid() const { return pid_; }   // the child's pid; −1 for a socket connection or once reaped
  double timeout_s() const { return timeout_s_; }

 private:
  ChipLink(int fd, pid_t pid, double timeout_s, uint32_t max_payload_bytes);
  // Reads exactly `size` bytes before `deadline_ms` (CLOCK_MONOTONIC ms); `what` names them in errors.
  void ReadExactly(uint8_t* data, size_t size, int64_t deadline_ms, const std::string& what);
  [[noreturn]] void Fail(const std::string& problem);
  // "; the server exited with status 3" etc., waiting up to `wait_ms` for the child to end; empty
  // when there is no child or it is still running.
  std::string ChildFate(int wait_ms);
  // Waits up to wait_ms for the child to end; true when it has been reaped.
  bool WaitChild(int wait_ms);

  int fd_ = -1;
  pid_t pid_ = -1;
  double timeout_s_;
  uint32_t max_payload_bytes_;
  bool broken_ = false;
  std::string fate_;   // the child's end, once reaped ("exited with status 0")
};

}  // namespace cimsim::hil
