// Shards of a sweep: `wuxing run SPEC --shard i/N` runs the runs with plan index
// k % N == i and writes them to a shard file of its own (docs/cluster.md).
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "framework/pipeline/layer.hpp"

namespace wuxing {

struct ShardId {
  int index = 0;  // 0 <= index < count
  int count = 1;
};

// Reads an environment variable (std::getenv in production; tests pass their own).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup process_environment();

// Parses "i/N" (0-based i) or "slurm" (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and, if
// set, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_STEP, so that `--array=1-8` or `--array=0-30:2`
// map onto shards 0..N-1). Throws std::invalid_argument with a message naming what is wrong.
ShardId parse_shard(const std::string& text, const EnvLookup& env = process_environment());

// The shard file of `output`: `results/x.h5` -> `results/x.shard-2-of-4.h5`.
std::filesystem::path shard_path(const std::filesystem::path& output, ShardId shard);
// The file MPI rank r of n writes before the final merge: `results/x.rank-1-of-2.h5`.
std::filesystem::path rank_path(const std::filesystem::path& output, int rank, int ranks);
// Rank files of any rank count left by an earlier (killed) MPI run of `output`.
std::vector<std::filesystem::path> leftover_rank_files(const std::filesystem::path& output);

}  // namespace wuxing
