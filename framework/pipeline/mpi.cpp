#include "framework/pipeline/mpi.hpp"

#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "framework/base/checkpoint.hpp"
#include "framework/pipeline/merge.hpp"
#include "framework/pipeline/store.hpp"

#ifdef WUXING_HAVE_MPI
// Only the C API: the deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace wuxing {

MpiLaunch detect_mpi_launch(const EnvLookup& env) {
  // Open MPI, then MPICH/Intel MPI (Hydra), MVAPICH; the rank variable goes with each.
  static const std::pair<const char*, const char*> kVars[] = {
      {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
      {"PMI_SIZE", "PMI_RANK"},
      {"MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK"},
  };
  MpiLaunch launch;
  for (const auto& [size_var, rank_var] : kVars) {
    const auto size = env(size_var);
    if (!size) continue;
    try {
      launch.size = std::max(1, std::stoi(*size));
      if (const auto rank = env(rank_var)) launch.rank = std::stoi(*rank);
    } catch (const std::exception&) {
      continue;
    }
    launch.source = size_var;
    return launch;
  }
  return launch;
}

bool mpi_built() {
#ifdef WUXING_HAVE_MPI
  return true;
#else
  return false;
#endif
}

std::string duplicate_launch_error(const MpiLaunch& launch, bool have_mpi) {
  if (have_mpi || launch.size <= 1) return {};
  return fmt::format(
      "this wuxing was built without MPI but was started as process {} of {} by an MPI "
      "launcher ({}={}); each process would run the whole sweep into the same results file. "
      "Rebuild with MPI (install libopenmpi-dev, e.g. scripts/setup, then reconfigure: CMake "
      "prints 'wuxing: MPI ... found'), or run it without mpirun (Slurm array tasks with "
      "--shard i/N need no MPI; see docs/cluster.md)",
      launch.rank, launch.size, launch.source, launch.size);
}

MpiSchedule parse_mpi_schedule(const std::string& text) {
  if (text == "static") return MpiSchedule::kStatic;
  if (text == "dynamic") return MpiSchedule::kDynamic;
  throw std::invalid_argument(
      fmt::format("--mpi-schedule '{}': expected 'static' or 'dynamic'", text));
}

int default_threads_per_rank(int ranks_on_node) {
  const long online = std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN));
  cpu_set_t set;
  CPU_ZERO(&set);
  long bound = online;
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) bound = CPU_COUNT(&set);
  // Bound to fewer cores than the node has: mpirun (or Slurm) gave this rank its own.
  if (bound < online) return static_cast<int>(std::max(1L, bound));
  return static_cast<int>(std::max(1L, online / std::max(1, ranks_on_node)));
}

#ifdef WUXING_HAVE_MPI

namespace {

constexpr int kTagRequest = 101;
constexpr int kTagReply = 102;
constexpr int kTagFinished = 103;

void check_mpi(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(fmt::format("MPI: {} failed ({})", what, rc));
}

// Blocking MPI calls spin a core in Open MPI; on a node whose cores all train, the
// waiting rank would steal one. So wait by polling with short sleeps instead.
void wait_polling(MPI_Request& request) {
  int done = 0;
  while (true) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
}

void barrier_polling() {
  MPI_Request request;
  check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &request), "MPI_Ibarrier");
  int done = 0;
  while (true) {
    check_mpi(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Relative work of a run: epochs x samples x (1 + hidden neurons). Only the order matters.
double estimated_cost(const ExperimentConfig& c) {
  double hidden = 0;
  for (int h : c.network.hidden) hidden += h;
  return static_cast<double>(std::max(1, c.training.epochs)) *
         static_cast<double>(std::max(1, c.data.train_size + c.data.test_size)) * (1.0 + hidden);
}

// Broadcast from rank 0 of a status and a list of plan indices.
std::vector<long> broadcast_longs(std::vector<long> values) {
  long n = static_cast<long>(values.size());
  check_mpi(MPI_Bcast(&n, 1, MPI_LONG, 0, MPI_COMM_WORLD), "MPI_Bcast");
  values.resize(static_cast<std::size_t>(n));
  if (n > 0)
    check_mpi(MPI_Bcast(values.data(), static_cast<int>(n), MPI_LONG, 0, MPI_COMM_WORLD),
              "MPI_Bcast");
  return values;
}

void remove_results_file(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::remove(file, ec);
  std::filesystem::remove_all(file.string() + ".parts", ec);
  std::filesystem::remove(file.string() + ".tmp", ec);
  std::filesystem::remove(file.string() + ".lock", ec);
}

}  // namespace

MpiSession::MpiSession() {
  int provided = 0;
  // Worker threads of a rank ask rank 0 for runs, one at a time behind a mutex.
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  if (provided < MPI_THREAD_SERIALIZED) {
    MPI_Finalize();
    throw std::runtime_error(
        "MPI: the MPI library does not support MPI_THREAD_SERIALIZED, which wuxing needs");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_size(node, &local_size_);
  MPI_Comm_free(&node);
}

MpiSession::~MpiSession() { MPI_Finalize(); }

void MpiSession::abort(int code) const {
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::abort();
}

MpiSweepResult run_sweep_mpi(MpiSession& session, const SweepPlan& plan, RunnerOptions options,
                             MpiSchedule schedule) {
  const int rank = session.rank();
  const int ranks = session.size();
  const std::filesystem::path out = options.output;
  MpiSweepResult result;
  result.root = rank == 0;
  result.total_runs = plan.runs.size();

  // Rank 0 folds what an earlier run left behind and decides what is left to do.
  std::vector<long> todo_msg;
  std::optional<OutputLock> out_lock;  // rank 0 holds the output's lock until it has merged
  if (rank == 0) {
    try {
      const auto leftovers = leftover_rank_files(out);
      if (!leftovers.empty()) {
        // Check the spec before touching anything (also when `out` does not exist yet).
        for (const auto& f : leftovers)
          for (const auto& p : results_and_parts(f)) {
            const auto h = read_header(p);
            if (h.fingerprint != plan.fingerprint)
              throw StoreError(fmt::format(
                  "leftover rank file {} was written by spec '{}' (fingerprint {}), not by this "
                  "spec '{}' (fingerprint {}); move it away",
                  p.string(), h.spec_name, h.fingerprint, plan.spec_name, plan.fingerprint));
          }
        const auto merged = merge_shard_files(out, leftovers);
        fmt::print(stderr, "wuxing: merged {} run(s) left by an earlier MPI run into {}\n",
                   merged.runs, out.string());
        for (const auto& f : leftovers) remove_results_file(f);
      }
      std::vector<std::size_t> todo;
      {
        ResultsStore store(out, make_store_header(plan));  // checks the spec, folds parts
        std::vector<std::size_t> all(plan.runs.size());
        for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
        todo = runs_to_do(plan, all, store.runs(), options.rerun_failed);
      }
      out_lock.emplace(out);
      todo_msg.push_back(0);
      for (std::size_t i : todo) todo_msg.push_back(static_cast<long>(i));
    } catch (const std::exception& e) {
      fmt::print(stderr, "wuxing: error: {}\n", e.what());
      todo_msg.assign(1, -1);
    }
  }
  todo_msg = broadcast_longs(std::move(todo_msg));
  if (todo_msg.empty() || todo_msg[0] != 0)
    throw std::runtime_error("rank 0 could not prepare the sweep (see its error above)");
  std::vector<std::size_t> todo;
  for (std::size_t k = 1; k < todo_msg.size(); ++k)
    todo.push_back(static_cast<std::size_t>(todo_msg[k]));
  result.already_done = plan.runs.size() - todo.size();

  const auto own_file = rank_path(out, rank, ranks);
  remove_results_file(own_file);  // folded by rank 0 above (or never written)
  options.output = own_file;
  // Checkpoints next to the output, not the rank file, so that a run resumes whatever -np
  // the next launch has.
  if (options.checkpoint_dir.empty()) options.checkpoint_dir = checkpoint_dir(out);
  options.known_runs.clear();
  options.show_progress = options.show_progress && rank == 0;

  // Dynamic: rank 0's threads take from `cursor` directly; a server thread on rank 0 does
  // the same for the other ranks' requests.
  std::atomic<std::size_t> cursor{0};
  auto take = [&]() -> std::optional<std::size_t> {
    const std::size_t k = cursor++;
    if (k < todo.size()) return todo[k];
    return std::nullopt;
  };
  std::mutex mpi_mutex;
  std::thread server;
  std::exception_ptr server_error;
  if (schedule == MpiSchedule::kStatic) {
    std::vector<std::size_t> mine;
    for (std::size_t k = static_cast<std::size_t>(rank); k < todo.size();
         k += static_cast<std::size_t>(ranks))
      mine.push_back(todo[k]);
    options.assigned_runs = std::move(mine);
  } else {
    // Longest first (a list-scheduling classic): a long run handed out last would keep
    // one rank busy while the others idle. The cost is only estimated, from what scales
    // a run's work; ties keep plan order.
    std::stable_sort(todo.begin(), todo.end(), [&](std::size_t a, std::size_t b) {
      return estimated_cost(plan.runs[a].config) > estimated_cost(plan.runs[b].config);
    });
    options.next_run_total = todo.size() / static_cast<std::size_t>(ranks);
    if (rank == 0) {
      options.next_run = take;
      server = std::thread([&] {
        try {
          int finished = 0;
          while (finished < ranks - 1) {
            int flag = 0;
            MPI_Status status;
            check_mpi(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &status),
                      "MPI_Iprobe");
            if (!flag) {
              std::this_thread::sleep_for(std::chrono::microseconds(500));
              continue;
            }
            int dummy = 0;
            check_mpi(MPI_Recv(&dummy, 1, MPI_INT, status.MPI_SOURCE, status.MPI_TAG,
                               MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                      "MPI_Recv");
            if (status.MPI_TAG == kTagFinished) {
              ++finished;
              continue;
            }
            const auto next = take();
            long reply = next ? static_cast<long>(*next) : -1;
            check_mpi(MPI_Send(&reply, 1, MPI_LONG, status.MPI_SOURCE, kTagReply, MPI_COMM_WORLD),
                      "MPI_Send");
          }
        } catch (...) {
          server_error = std::current_exception();
        }
      });
    } else {
      options.next_run = [&]() -> std::optional<std::size_t> {
        std::lock_guard lock(mpi_mutex);
        int dummy = 0;
        check_mpi(MPI_Send(&dummy, 1, MPI_INT, 0, kTagRequest, MPI_COMM_WORLD), "MPI_Send");
        long reply = -1;
        MPI_Request request;
        check_mpi(MPI_Irecv(&reply, 1, MPI_LONG, 0, kTagReply, MPI_COMM_WORLD, &request),
                  "MPI_Irecv");
        wait_polling(request);
        if (reply < 0) return std::nullopt;
        return static_cast<std::size_t>(reply);
      };
    }
  }

  SweepSummary mine;
  try {
    mine = SweepRunner(plan, options).run();
  } catch (const std::exception& e) {
    fmt::print(stderr, "wuxing: error on rank {}: {}\n", rank, e.what());
    session.abort(1);  // the others would wait for this rank forever
  }
  if (schedule == MpiSchedule::kDynamic) {
    if (rank == 0) {
      server.join();
      if (server_error) {
        try {
          std::rethrow_exception(server_error);
        } catch (const std::exception& e) {
          fmt::print(stderr, "wuxing: error on rank 0 (run server): {}\n", e.what());
        }
        session.abort(1);
      }
    } else {
      int dummy = 0;
      check_mpi(MPI_Send(&dummy, 1, MPI_INT, 0, kTagFinished, MPI_COMM_WORLD), "MPI_Send");
    }
  }
  for (const auto& [id, why] : mine.failures)
    if (rank != 0) fmt::print(stderr, "  failed (rank {}): run {}: {}\n", rank, id, why);

  barrier_polling();  // every rank file is complete
  unsigned long counts[6] = {mine.planned, mine.ran,         mine.ok,
                             mine.failed,  mine.interrupted, mine.stopped ? 1UL : 0UL};
  unsigned long totals[6] = {};
  check_mpi(MPI_Reduce(counts, totals, 6, MPI_UNSIGNED_LONG, MPI_SUM, 0, MPI_COMM_WORLD),
            "MPI_Reduce");
  if (rank == 0) {
    std::error_code ec;  // every rank is past its runs: remove the checkpoints' dir if empty
    std::filesystem::remove(options.checkpoint_dir, ec);
    result.summary.planned = plan.runs.size();
    result.summary.skipped = result.already_done;
    result.summary.ran = totals[1];
    result.summary.ok = totals[2];
    result.summary.failed = totals[3];
    result.summary.interrupted =
        totals[4] + (todo.size() - std::min<std::size_t>(todo.size(), totals[0]));
    result.summary.stopped = totals[5] > 0;
    result.summary.failures = mine.failures;
    std::vector<std::filesystem::path> files;
    for (int r = 0; r < ranks; ++r) files.push_back(rank_path(out, r, ranks));
    std::vector<std::filesystem::path> present;
    for (const auto& f : files)
      if (!results_and_parts(f).empty()) present.push_back(f);
    int status = 0;
    try {
      if (!present.empty()) {
        const auto merged = merge_shard_files(out, present, /*take_lock=*/false);
        result.merged_runs = merged.runs;
      } else {
        result.merged_runs = read_runs(out).size();
      }
      for (const auto& f : files) remove_results_file(f);
    } catch (const std::exception& e) {
      fmt::print(stderr, "wuxing: error merging the rank files into {}: {} (they are kept)\n",
                 out.string(), e.what());
      status = 1;
    }
    check_mpi(MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
    if (status != 0) throw std::runtime_error("merging the rank files failed");
  } else {
    int status = 0;
    check_mpi(MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Bcast");
    if (status != 0) throw std::runtime_error("rank 0 could not merge the rank files");
  }
  return result;
}

#else  // no MPI in this build

MpiSession::MpiSession() {
  throw std::runtime_error("this wuxing was built without MPI (see docs/cluster.md)");
}
MpiSession::~MpiSession() = default;
void MpiSession::abort(int code) const { std::exit(code); }

MpiSweepResult run_sweep_mpi(MpiSession&, const SweepPlan&, RunnerOptions, MpiSchedule) {
  throw std::runtime_error("this wuxing was built without MPI (see docs/cluster.md)");
}

#endif

}  // namespace wuxing
