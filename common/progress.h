// progress.h — progress of a long job on stderr: done/total, items/s and ETA.
//
// On a terminal it redraws one line (a bar, with '\r'); otherwise (a log, CI) it prints a plain
// line at most every `plain_interval_s` seconds, plus one at the end. Time comes from a steady clock
// only for display; it never feeds any result.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace cimsim {

class Progress {
 public:
  // out: where to draw (normally std::cerr); is_terminal: draw a bar instead of plain lines.
  Progress(std::string label, int64_t total, std::ostream& out, bool is_terminal,
           double plain_interval_s = 5.0);
  // Progress on stderr, bar if stderr is a terminal.
  static Progress ToStderr(std::string label, int64_t total);

  // Advance by `items`; redraws when due.
  void Add(int64_t items);
  // Final line (always printed once).
  void Finish();

  double ElapsedSeconds() const;
  // "label 300/1000 (30.0%) 1234.5 items/s ETA 0:02"
  std::string StatusLine() const;

 private:
  std::string label_;
  int64_t total_, done_ = 0;
  std::ostream& out_;
  bool terminal_;
  double interval_s_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1:02:03" or "2:03".
std::string FormatDuration(double seconds);

}  // namespace cimsim
