// Epoch checkpoints of a run in progress, so that a killed or pre-empted run resumes from
// its last finished epoch and ends bit-identical to an uninterrupted run.
//
// What is saved after every epoch: the parameters (connection coefficients, K table, MLP
// weights), the optimizer and PID states, the epochs done and the metrics and stability
// records so far. The random streams need no state: every draw after construction comes
// from stream_seed(seed, stream, epoch) (the shuffle of epoch e), so the epoch index is
// their position. A run's checkpoint lives in <output>.checkpoints/<run id>.ckpt, written
// to a temp file, fsync'ed and renamed, and removed once the finished run is stored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "framework/base/experiment.hpp"

namespace wuxing {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TrainingState {
  int epochs_done = 0;
  std::vector<EpochMetrics> epochs;        // of the result so far
  std::vector<StabilityRecord> stability;  // of the result so far
  // The trainer's state by name ("coef/1", "opt/coef/1", ...): whatever it needs to go on.
  std::vector<std::pair<std::string, std::vector<double>>> arrays;

  void put(std::string name, std::vector<double> values);
  // Throws CheckpointError when `name` is missing or (expected > 0) has another length.
  const std::vector<double>& get(const std::string& name, std::size_t expected = 0) const;
};

// The byte form (native byte order: a checkpoint is read on the machine type that wrote
// it), ending in a checksum so that a torn or foreign file is refused, not half-read.
std::string encode_checkpoint(const std::string& run_id, const TrainingState& state);
TrainingState decode_checkpoint(const std::string& bytes, const std::string& run_id);

std::filesystem::path checkpoint_dir(const std::filesystem::path& output);
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, const std::string& run_id);
// Removes run_id's checkpoint in `dir` and the temp file a kill mid-write may have left; a
// missing file is no error (nothing to remove).
void remove_checkpoint(const std::filesystem::path& dir, const std::string& run_id);

// Durable: temp file, fsync, rename, fsync of the directory. Throws CheckpointError.
void write_checkpoint(const std::filesystem::path& file, const std::string& run_id,
                      const TrainingState& state);
// nullopt when there is no checkpoint; throws CheckpointError when it cannot be used.
std::optional<TrainingState> read_checkpoint(const std::filesystem::path& file,
                                             const std::string& run_id);

}  // namespace wuxing
