#include "common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace cimsim {

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::ostream& out, bool is_terminal,
                   double plain_interval_s)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      terminal_(is_terminal),
      interval_s_(plain_interval_s),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress Progress::ToStderr(std::string label, int64_t total) {
  return Progress(std::move(label), total, std::cerr, isatty(STDERR_FILENO) == 1);
}

double Progress::ElapsedSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::StatusLine() const {
  const double elapsed = ElapsedSeconds();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
  const double pct = total_ > 0 ? 100.0 * static_cast<double>(done_) / static_cast<double>(total_) : 100.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s %lld/%lld (%.1f%%) %.1f items/s ETA %s elapsed %s",
                label_.c_str(), static_cast<long long>(done_), static_cast<long long>(total_), pct,
                rate, FormatDuration(eta).c_str(), FormatDuration(elapsed).c_str());
  return buf;
}

void Progress::Add(int64_t items) {
  done_ += items;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (terminal_) {
    if (since < 0.1 && done_ < total_) return;
    const int width = 30;
    const int filled = total_ > 0 ? static_cast<int>(width * done_ / total_) : width;
    out_ << '\r' << '[' << std::string(filled, '#') << std::string(width - filled, '.') << "] "
         << StatusLine() << "   " << std::flush;
  } else {
    if (since < interval_s_) return;
    out_ << StatusLine() << '\n' << std::flush;
  }
  last_draw_ = now;
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (terminal_) out_ << '\r';
  out_ << StatusLine() << '\n' << std::flush;
}

}  // namespace cimsim
