// Scale-out with MPI: `mpirun -np N build/wuxing run SPEC` spreads the runs of one sweep
// over N ranks (docs/cluster.md). The MPI parts are compiled only when CMake found MPI
// (WUXING_HAVE_MPI); the launch detection and the refusal of duplicate sweeps always are.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/shard.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing {

// What the environment says about an MPI launcher (mpirun/mpiexec/srun --mpi) around us.
struct MpiLaunch {
  int size = 1;  // processes started together; 1 when not launched by MPI
  int rank = 0;
  std::string source;  // the variable that told us, e.g. "OMPI_COMM_WORLD_SIZE"
};
MpiLaunch detect_mpi_launch(const EnvLookup& env = process_environment());

// True when this build has MPI support.
bool mpi_built();

// Empty when this process may go ahead; otherwise why it must not: a build without MPI
// launched as one of several MPI processes would run the whole sweep once per process,
// all into the same file.
std::string duplicate_launch_error(const MpiLaunch& launch, bool have_mpi);

// How the runs are spread over ranks.
enum class MpiSchedule {
  kStatic,   // rank r takes the r-th of every N runs left to do
  kDynamic,  // rank 0 hands out one run at a time to whichever thread is free, the
             // runs with the most estimated work (epochs x samples x neurons) first
};
MpiSchedule parse_mpi_schedule(const std::string& text);  // "static" | "dynamic"

// MPI_Init_thread on construction, MPI_Finalize on destruction (one per process).
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_size() const { return local_size_; }  // ranks on this node
  // Aborts every rank (after an error on one).
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
};

// OpenMP threads for one rank when the user did not choose: the cores this rank is bound
// to if mpirun bound it, else this node's cores shared evenly by the ranks on it.
int default_threads_per_rank(int ranks_on_node);

struct MpiSweepResult {
  bool root = false;     // rank 0: the totals and the merge below are valid
  SweepSummary summary;  // summed over ranks (failures: rank 0's only; others print theirs)
  std::size_t total_runs = 0, already_done = 0;
  std::size_t merged_runs = 0;
};

// Runs the sweep on every rank of `session`. `options.output` is the final results file;
// rank r writes `rank_path(output, r, N)` and rank 0 merges them into the output at the
// end. Leftover rank files of a killed earlier run are merged in first, so resuming works
// as for one process. Collective: every rank must call it.
MpiSweepResult run_sweep_mpi(MpiSession& session, const SweepPlan& plan, RunnerOptions options,
                             MpiSchedule schedule);

}  // namespace wuxing
