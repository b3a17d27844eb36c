// Progress of a sweep on stderr: runs done out of total, the current runs' epoch and
// accuracy, and an ETA. On a terminal one live line is redrawn; otherwise (a log
// file, CI) plain lines are written, one per finished run (and per epoch for a
// single-run sweep). Thread-safe: worker threads report, one mutex serialises output.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "framework/experiment.hpp"

namespace wuxing {

class Progress {
 public:
  // total: runs of the whole sweep; already_done: of those, finished before this start.
  // to_run: how many this invocation runs. interactive: -1 auto (isatty), 0 no, 1 yes.
  Progress(std::size_t total, std::size_t already_done, std::size_t to_run, bool per_epoch_lines,
           std::FILE* out = stderr, int interactive = -1);

  void run_started(const std::string& id, int epochs);
  void epoch_progress(const std::string& id, int epoch, std::int64_t done, std::int64_t total,
                      double running_accuracy);
  void epoch_done(const std::string& id, const EpochMetrics& metrics);
  void run_finished(const std::string& id, const RunResult& result);
  // Ends the live line.
  void finish();
  // Formats seconds as "1h02m", "3m05s", "12s".
  static std::string duration(double seconds);

 private:
  struct Active {
    int epochs = 1;
    int epoch = 0;
    double fraction = 0.0;        // of the run
    double accuracy = 0.0;        // running training accuracy of the current epoch
    double test_accuracy = -1.0;  // after the last finished epoch (< 0: none yet)
  };
  double eta_seconds_locked() const;
  void redraw_locked(bool force);
  void line_locked(const std::string& text);

  std::mutex mutex_;
  std::FILE* out_;
  bool tty_;
  bool per_epoch_lines_;
  std::size_t total_, already_done_, to_run_, finished_ = 0, failed_ = 0;
  std::map<std::string, Active> active_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool line_open_ = false;
};

}  // namespace wuxing
