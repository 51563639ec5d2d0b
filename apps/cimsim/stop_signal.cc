#include "apps/cimsim/stop_signal.h"

#include <csignal>

namespace cimsim::cli {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<int> stop_signal{0};

extern "C" void OnStopSignal(int signal) {
  stop_signal.store(signal);
  stop_requested.store(true);
}

}  // namespace

const std::atomic<bool>* InstallStopHandlers() {
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  return &stop_requested;
}

int StopSignal() { return stop_signal.load(); }

}  // namespace cimsim::cli
