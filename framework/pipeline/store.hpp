// The HDF5 results store of a sweep (layout: docs/results-format.md).
//
// Crash safety: HDF5 1.10 files can be corrupted by a kill in the middle of a write,
// so the file at the final path is never written in place. Each finished run goes
// first to its own small file `<out>.parts/<run_id>.h5` (written to a temp name,
// fsync'ed, renamed). The main file is re-assembled from the previous main file plus
// the parts into `<out>.tmp`, fsync'ed and renamed over `<out>`; only then are the
// folded parts deleted. A kill at any moment leaves either the old or the new main
// file, plus parts that the next start folds in.
//
// HDF5 is not thread-safe: a ResultsStore must be used by one thread at a time (the
// runner's writer thread), and nothing else may call HDF5 meanwhile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "framework/base/experiment.hpp"
#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/store_error.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing {

// The output's lock is held by another process (a writer that may finish soon).
struct StoreBusy : StoreError {
  using StoreError::StoreError;
};

// What identifies the sweep a results file belongs to (stored as root attributes).
struct StoreHeader {
  std::string spec_name;
  std::string fingerprint;  // SweepPlan::fingerprint
  std::string description;
  std::string base_yaml;
  std::vector<SweepColumn> columns;  // swept columns of /index
  // Not stored: the plan's index of each run ID. When set, runs copied into a results file
  // take these plan indices (a grown sweep renumbers its stored runs), and stored runs that
  // the plan no longer has go after them, in their old order.
  std::map<std::string, std::size_t> plan_indices;
};
StoreHeader make_store_header(const SweepPlan& plan);

// Whether the runs of two sweeps may share one results file: the same base config (spec name
// included) and the same swept columns. The sweeps may differ in the values they sweep (more
// seeds, more grid values): runs are identified by their IDs, so a grown sweep keeps the runs
// it already has. The file takes the header of the sweep that writes it last.
bool compatible_headers(const StoreHeader& a, const StoreHeader& b);

// One finished (or failed) run as it is stored.
struct RunRecord {
  std::string id;
  std::size_t plan_index = 0;
  std::string config_yaml;
  std::uint64_t seed = 0;
  std::string ablation;
  std::vector<SweptValue> swept;
  RunResult result;
  std::string start_time;  // ISO 8601 UTC
  std::string end_time;
};

// The record of a planned run, before its result and times are filled in.
RunRecord make_run_record(const PlannedRun& run);

// A stored run's summary (from its /runs/<id> attributes).
struct StoredRun {
  std::string id;
  std::size_t plan_index = 0;
  RunStatus status;
  std::string reason;
  std::string start_time;
  std::string end_time;
  double final_test_accuracy = 0.0;
  double wall_seconds = 0.0;
};

// /index read back as columns (as h5py would see it).
struct IndexTable {
  std::vector<std::string> columns;  // in order
  std::map<std::string, std::vector<double>> numeric;
  std::map<std::string, std::vector<std::string>> text;
  std::size_t rows = 0;
};

class ResultsStore {
 public:
  // Opens `out` (or prepares to create it) for the sweep described by `header`.
  // Refuses (StoreError) a file or leftover part written by a different spec, and a
  // file that is not a readable results file. Leftover parts are folded in at once.
  // Holds an exclusive lock (flock on `<out>.lock`) while it lives, so that two
  // processes never write the same results file; the kernel drops it if the process dies.
  ResultsStore(std::filesystem::path out, StoreHeader header);
  ~ResultsStore();
  ResultsStore(const ResultsStore&) = delete;
  ResultsStore& operator=(const ResultsStore&) = delete;

  // Runs already stored (main file + parts), by ID.
  const std::map<std::string, StoredRun>& runs() const { return runs_; }

  // Durable on return: the run's part file is complete on disk (fsync'ed, renamed).
  void add(const RunRecord& record);
  // Re-assembles the main file from the previous one and all parts (atomic rename).
  // No-op when nothing was added since the last assembly.
  void assemble();
  bool dirty() const { return dirty_; }

  const std::filesystem::path& path() const { return out_; }
  std::filesystem::path parts_dir() const;

 private:
  void open_existing();

  std::filesystem::path out_;
  StoreHeader header_;
  std::map<std::string, StoredRun> runs_;
  bool dirty_ = false;
  int lock_fd_ = -1;
};

// Writes one run to its own HDF5 file (header as root attributes, the run under
// /runs/<id>), via temp file + fsync + rename.
void write_run_file(const std::filesystem::path& file, const StoreHeader& header,
                    const RunRecord& record);

// Builds `out` from `sources` (results files or part files; for a run found in
// several, the later source wins), via `<out>.tmp` + fsync + rename. Every source
// must carry `header.fingerprint`. This is also how shards' results are merged.
void merge_results(const std::filesystem::path& out, const StoreHeader& header,
                   const std::vector<std::filesystem::path>& sources);
// As above, but the source of each run is chosen by the caller: run ID -> index into
// `sources` (runs not listed are not copied). framework/pipeline/merge.hpp uses it to let a run
// that is ok in any shard win over a failed copy of it elsewhere.
void merge_results(const std::filesystem::path& out, const StoreHeader& header,
                   const std::vector<std::filesystem::path>& sources,
                   const std::map<std::string, std::size_t>& source_of_run);

// Reading back (each throws StoreError with the file name on a missing, corrupt or
// foreign file).
StoreHeader read_header(const std::filesystem::path& file);
std::map<std::string, StoredRun> read_runs(const std::filesystem::path& file);
IndexTable read_index(const std::filesystem::path& file);
// One per-epoch metric of one run ("test_accuracy", "train_loss", ...).
std::vector<double> read_metric(const std::filesystem::path& file, const std::string& run_id,
                                const std::string& metric);
// A string attribute of /runs/<run_id> ("config_yaml", "git_commit", ...).
std::string read_run_attribute(const std::filesystem::path& file, const std::string& run_id,
                               const std::string& name);

}  // namespace wuxing
