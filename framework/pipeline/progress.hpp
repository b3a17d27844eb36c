// Progress of a sweep on stderr: runs done out of total, the current runs' epoch, swept
// values and accuracy, and an ETA. On a terminal one live line is redrawn; otherwise (a
// log file, CI) plain lines are written, one per finished run and one per epoch.
// Thread-safe: worker threads report, one mutex serialises output.
//
// ETA: the work still to do (epochs x samples of the runs not finished, the current epoch
// counted by its done fraction) times the measured seconds per epoch-sample of the epochs
// finished so far, divided by the runs that go in parallel. So one 10-epoch run left at
// 27 s per epoch shows 6 x 27 s after its fourth epoch, whatever came before it. Work is kept
// by cost class (runner.cpp: the rule and the network's shape), each class timed on its own
// epochs once it has one and on all epochs before: a bptt run costs tens of times what a
// local-rule run of the same size does, and an MLP a tenth.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "framework/base/experiment.hpp"
#include "framework/pipeline/layer.hpp"

namespace wuxing {

class Progress {
 public:
  // Work (epochs x samples) by cost class.
  using WorkByClass = std::map<std::string, double>;

  // total: runs of the whole sweep; already_done: of those, finished before this start.
  // to_run: how many this invocation runs; work_to_run: their epochs x samples summed, by cost
  // class (one number: a single class ""); parallel: how many runs go at once. interactive:
  // -1 auto (isatty), 0 no, 1 yes.
  Progress(std::size_t total, std::size_t already_done, std::size_t to_run, WorkByClass work_to_run,
           int parallel, bool per_epoch_lines, std::FILE* out = stderr, int interactive = -1);
  Progress(std::size_t total, std::size_t already_done, std::size_t to_run, double work_to_run,
           int parallel, bool per_epoch_lines, std::FILE* out = stderr, int interactive = -1)
      : Progress(total, already_done, to_run, WorkByClass{{"", work_to_run}}, parallel,
                 per_epoch_lines, out, interactive) {}

  // samples: the run's samples per epoch (train + test), its work per epoch; label: its
  // swept values ("model.K3=0.4  seed=1"), shown next to its ID; epochs_done: epochs a
  // checkpoint already holds (the run resumes after them); cost_class: as in work_to_run.
  void run_started(const std::string& id, int epochs, double samples, const std::string& label,
                   int epochs_done = 0, const std::string& cost_class = "");
  void epoch_progress(const std::string& id, int epoch, std::int64_t done, std::int64_t total,
                      double running_accuracy);
  void epoch_done(const std::string& id, const EpochMetrics& metrics);
  void run_finished(const std::string& id, const RunResult& result);
  // Ends the live line.
  void finish();
  // Formats seconds as "1h02m", "3m05s", "12s".
  static std::string duration(double seconds);
  // The ETA now, in seconds (NaN before the first epoch finished). For tests.
  double eta_seconds();

 private:
  struct Active {
    int epochs = 1;
    int epoch = 0;
    double within = 0.0;  // done fraction of the current epoch
    int epochs_done = 0;
    double samples = 1.0;         // work per epoch
    double accuracy = 0.0;        // running training accuracy of the current epoch
    double test_accuracy = -1.0;  // after the last finished epoch (< 0: none yet)
    std::string label;
    std::string cost_class;
  };
  struct Measured {
    double seconds = 0.0, work = 0.0;
  };
  double eta_seconds_locked() const;
  std::string name_locked(const std::string& id) const;
  void redraw_locked(bool force);
  void line_locked(const std::string& text);

  std::mutex mutex_;
  std::FILE* out_;
  bool tty_;
  bool per_epoch_lines_;
  std::size_t total_, already_done_, to_run_, finished_ = 0, failed_ = 0;
  int parallel_;
  WorkByClass work_left_;  // of runs not started yet
  Measured measured_;      // every finished epoch
  std::map<std::string, Measured> measured_by_class_;
  std::map<std::string, Active> active_;
  std::chrono::steady_clock::time_point last_draw_;
  bool line_open_ = false;
};

}  // namespace wuxing
