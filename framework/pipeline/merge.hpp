// Merging the results files of shards (Slurm array tasks, MPI ranks) into one results
// file with the layout of a single-process run (docs/cluster.md).
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing {

struct MergeSummary {
  std::size_t inputs = 0;  // files read (results files and leftover part files)
  std::size_t runs = 0;    // runs in the merged file
  std::size_t ok = 0;
  std::size_t not_ok = 0;
};

// The run files that `file` stands for: `file` itself if it exists, then its leftover
// parts (`<file>.parts/*.h5`, complete runs a killed process had not folded in yet).
std::vector<std::filesystem::path> results_and_parts(const std::filesystem::path& file);

// Which source each run comes from: a run that is ok in any source is taken from the
// last source where it is ok; a run ok nowhere from the last source that has it.
std::map<std::string, std::size_t> choose_sources(
    const std::vector<std::map<std::string, StoredRun>>& runs_per_source);

// Merges `inputs` (and their leftover parts) into `out`, keeping the runs already in
// `out` (and its parts) as the first source. Every file must belong to the same spec or to
// compatible ones (compatible_headers: e.g. a file of `seeds: [3]` with one of
// `seeds: [0, 1, 2]`): otherwise StoreError naming both files and specs, and `out` is
// left untouched. Files of compatible but different sweeps are numbered one sweep after the
// other (number_merged_runs) and the merged file gets a fingerprint of its own. Written via
// `<out>.tmp` + fsync + rename, so `out` is never half written. The inputs are only read. Throws
// StoreError if there is nothing to merge. Takes the output's lock (`<out>.lock`, as ResultsStore
// does) unless `take_lock` is false (the caller holds it): merging into a file that a `wuxing run`
// is writing is refused.
MergeSummary merge_shard_files(const std::filesystem::path& out,
                               const std::vector<std::filesystem::path>& inputs,
                               bool take_lock = true);

// For files of compatible sweeps with different fingerprints: numbers the runs (sets
// header.plan_indices; the runs of each sweep keep their order, the sweeps follow one another
// in the order of `fingerprints`) and sets header.fingerprint to a hash of the base config and
// the merged run IDs.
void number_merged_runs(StoreHeader& header, const std::vector<std::string>& fingerprints,
                        const std::vector<std::map<std::string, StoredRun>>& runs_per_source);

// The exclusive lock ResultsStore holds on `<out>.lock` while it writes `out`. Throws
// StoreError naming the file if another process holds it.
class OutputLock {
 public:
  explicit OutputLock(const std::filesystem::path& out);
  ~OutputLock();
  OutputLock(const OutputLock&) = delete;
  OutputLock& operator=(const OutputLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace wuxing
