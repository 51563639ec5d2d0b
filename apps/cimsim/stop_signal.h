// stop_signal.h — SIGINT/SIGTERM as a stop request for long commands (train, qat, experiment).
//
// The handler only stores the signal number in a lock-free atomic (the one piece of process-wide
// state; async-signal-safe); the long loop polls the flag between batches and returns, and the
// command exits with 128 + signal after saying how to resume.
#pragma once

#include <atomic>

namespace cimsim::cli {

// Installs the handlers (idempotent) and returns the flag they set.
const std::atomic<bool>* InstallStopHandlers();
// The signal that requested the stop (0 if none).
int StopSignal();

}  // namespace cimsim::cli
