// Runs the planned runs of a sweep in parallel and stores each as it finishes.
//
// Parallelism (OpenMP): over runs when there are at least as many runs to do as
// threads (each run gets one thread), else one run at a time with all threads inside
// it. The trainer's result does not depend on its thread count, and /index is sorted
// by plan index, so the stored results do not depend on the thread count or on the
// order in which runs finish. HDF5 is only called from one writer thread.
//
// Resume: a run whose stored status is "ok" is skipped; failed runs (status != ok) and
// missing ones are run; with rerun_failed only the failed ones.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "framework/base/experiment.hpp"
#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing {

using Trainer = std::function<RunResult(const ExperimentConfig& config, const RunObserver& observer,
                                        int threads)>;

struct RunnerOptions {
  std::filesystem::path output;
  int threads = 0;                          // 0: omp_get_max_threads()
  bool rerun_failed = false;                // only re-run runs stored as failed
  Trainer trainer;                          // wuxing::train_experiment in production
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT) to stop cleanly
  double assemble_interval_seconds = 2.0;   // main file rebuilt at most this often (and at the end)
  bool show_progress = true;
  std::FILE* progress_stream = stderr;
  int progress_interactive = -1;  // -1: isatty
  int shard = 0;                  // this process owns runs with index % shards == shard
  int shards = 1;
  // Runs stored elsewhere that count as done when deciding what to run (e.g. the merged
  // main file when this process writes a shard file). A run ok in either place is skipped.
  std::map<std::string, StoredRun> known_runs;
  // Scale-out (framework/pipeline/mpi.hpp). When set, these replace shard/shards:
  // assigned_runs: exactly these plan indices are this process's (static partition);
  // next_run: worker threads pull plan indices from it until it returns nullopt (dynamic
  // queue; must be thread-safe); next_run_total is the number of runs left in the whole
  // sweep, which decides between threads over runs and threads inside a run.
  std::optional<std::vector<std::size_t>> assigned_runs;
  std::function<std::optional<std::size_t>()> next_run;
  std::size_t next_run_total = 0;
  // Epoch checkpoints (framework/base/checkpoint.hpp): a run resumes from its last finished epoch.
  bool checkpoints = true;
  std::filesystem::path checkpoint_dir;  // empty: <output>.checkpoints
};

struct SweepSummary {
  std::size_t planned = 0;  // runs this process owns (with next_run: the runs it was handed)
  std::size_t skipped = 0;  // already stored as ok (or, with rerun_failed, not failed)
  std::size_t ran = 0;
  std::size_t ok = 0;
  std::size_t failed = 0;       // stored with status != ok
  std::size_t interrupted = 0;  // stopped before finishing; not stored
  bool stopped = false;
  std::vector<std::pair<std::string, std::string>> failures;  // id, status: reason
};

// `stored` with `known` folded in: a run ok in either is ok; otherwise the stored one wins.
std::map<std::string, StoredRun> union_of_runs(std::map<std::string, StoredRun> stored,
                                               const std::map<std::string, StoredRun>& known);

// Which of `owned` (plan indices) still need running, given what is stored.
std::vector<std::size_t> runs_to_do(const SweepPlan& plan, const std::vector<std::size_t>& owned,
                                    const std::map<std::string, StoredRun>& stored,
                                    bool rerun_failed);

class SweepRunner {
 public:
  SweepRunner(SweepPlan plan, RunnerOptions options);
  // Runs what is left to do; returns when all are stored or a stop was requested.
  // Throws StoreError if the output file belongs to another spec or is unreadable.
  SweepSummary run();

 private:
  SweepPlan plan_;
  RunnerOptions options_;
};

// A run's swept values as "model.K3=0.4  seed=1" (progress lines, --dry-run).
std::string swept_values(const PlannedRun& run);

// Marks a run whose metrics went non-finite as numerical_trouble (if the trainer did not).
void check_finite(RunResult& result);

// The honest status of a finished run: check_finite, then numerical_trouble (with its
// reason) when its forward phases mostly did not settle or its final test accuracy is at
// chance level; the thresholds are the spec's `status:` keys (framework/base/config.hpp).
void judge_status(RunResult& result, const ExperimentConfig& config);

}  // namespace wuxing
