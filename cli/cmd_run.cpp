// `wuxing run` and `wuxing validate`: experiment specs and sweeps from the command line.
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/stability_scan.hpp"
#include "cli/commands.hpp"
#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/equations/registry.hpp"
#include "framework/learning/loss_functions.hpp"
#include "framework/learning/rules.hpp"
#include "framework/pipeline/mpi.hpp"
#include "framework/pipeline/provenance.hpp"
#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/shard.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "framework/pipeline/trainers.hpp"
#include "integrators/registry.hpp"

namespace wuxing::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_stop_signal{0};

// SIGINT (Ctrl-C), SIGTERM (a batch system's time limit) and SIGUSR1 (Slurm's
// `--signal=USR1@...` warning) all ask for the same clean stop: finished runs are stored,
// the runs in progress keep their last epoch checkpoint, and the exit code is 128 + the
// signal (130, 143, 138). The same signal again stops at once.
extern "C" void on_stop_signal(int sig) {
  if (g_stop.load()) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_stop_signal.store(sig);
  g_stop.store(true);
  // write(2) is async-signal-safe; fmt and stdio are not.
  static const char kMessage[] =
      "\nwuxing: stopping: storing finished runs and checkpoints (Ctrl-C again to stop at "
      "once)\n";
  [[maybe_unused]] const auto n = ::write(2, kMessage, sizeof kMessage - 1);
}

// Installs the stop handler for the stop signals and restores the old ones when it goes.
class StopSignals {
 public:
  StopSignals() {
    g_stop = false;
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGUSR1};
  std::array<struct sigaction, 3> old_{};
};

const char* kSpecHelp = R"(
Spec syntax (YAML; keys as in framework/base/config.hpp):
  name: sweep-k3            # results go to results/<name>.h5 unless -o
  description: free text
  base: common.yaml         # or a list; relative to this file; this file overrides
  seed: 0
  model:      {K1: 1.0, K2: 0.5, K3: 0.5, n: 5, g: 1, k: 2}
  network:    {hidden: [100], connectivity: uniform_random}
  data:       {dataset: mnist, train_size: 2000, test_size: 1000}
  integrator: {method: heun, h: 0.1, t_max: 60}
  training:   {rule: connection, learning_rate: 0.01, epochs: 3}
  record:     {probe_samples: [0], probe_layers: [0], stability: false}
  sweep:
    grid:   {model.K3: [0.2, 0.4, 0.6, 0.8]}
    zip:    {model.K1: [1, 2], model.K2: [0.5, 1]}
    random: {samples: 8, seed: 1, params: {training.learning_rate: {log_uniform: [1e-3, 1e-1]}}}
    ablations: {baseline: , wide: {network.hidden: [200]}}
    seeds:  [0, 1, 2]       # or {repeat: 3}: base seed + 0, 1, 2
Overrides: key.path=value, e.g. training.epochs=1 network.hidden=[50] sweep.grid.model.K3=[0.3,0.5]
)";

// The spec example, then the names the registries accept (framework/base/registry.hpp), so
// that --help lists exactly what validation accepts.
std::string spec_help() {
  return std::string(kSpecHelp) +
         "Registered names (each registers itself in its own file; docs/specs.md):\n"
         "  model.variant:\n" +
         equation_registry().help("    ") + "  integrator.method:\n" +
         stepper_registry().help("    ") + "  training.loss:\n" + loss_registry().help("    ") +
         "  training.rule:\n" + rule_registry().help("    ");
}

// What `run --dry-run` shows: the runs this process would own (with --shard, only the
// shard's), their IDs, stored status and swept values, and the file it would write.
int print_dry_run(const SweepPlan& plan, const std::filesystem::path& out,
                  const std::optional<ShardId>& shard) {
  const std::filesystem::path file = shard ? shard_path(out, *shard) : out;
  std::map<std::string, StoredRun> stored;
  for (const auto& f : {out, file}) {
    if (!std::filesystem::exists(f)) continue;
    try {
      if (compatible_headers(read_header(f), make_store_header(plan)))
        stored = union_of_runs(std::move(stored), read_runs(f));
    } catch (const StoreError&) {
    }
  }
  const auto owned = owned_runs(plan, shard ? shard->index : 0, shard ? shard->count : 1);
  if (shard)
    fmt::print("{} of {} runs of spec '{}' (fingerprint {}) in shard {}/{}, output {}\n",
               owned.size(), plan.runs.size(), plan.spec_name, plan.fingerprint, shard->index,
               shard->count, file.string());
  else
    fmt::print("{} runs of spec '{}' (fingerprint {}), output {}\n", plan.runs.size(),
               plan.spec_name, plan.fingerprint, file.string());
  for (std::size_t i : owned) {
    const auto& r = plan.runs[i];
    auto it = stored.find(r.id);
    const std::string state = it == stored.end() ? "todo" : std::string(it->second.status.name());
    fmt::print("{:>5}  {}  {:<17}  {}\n", r.index, r.id, state, swept_values(r));
  }
  return 0;
}

struct RunArgs {
  std::string spec;
  std::vector<std::string> overrides;
  std::string output;
  bool dry_run = false;
  bool rerun_failed = false;
  int threads = 0;
  bool yes = false;
  std::string shard;  // "i/N" or "slurm"
  std::string mpi_schedule = "dynamic";
};

int do_run(const RunArgs& a) {
  const MpiLaunch launch = detect_mpi_launch();
  if (const auto error = duplicate_launch_error(launch, mpi_built()); !error.empty()) {
    fmt::print(stderr, "wuxing: error: {}\n", error);
    return 2;
  }
  const bool use_mpi = launch.size > 1;
  std::optional<ShardId> shard;
  MpiSchedule schedule = MpiSchedule::kDynamic;
  try {
    if (!a.shard.empty()) shard = parse_shard(a.shard);
    schedule = parse_mpi_schedule(a.mpi_schedule);
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "wuxing: error: {}\n", e.what());
    return 2;
  }
  if (shard && use_mpi) {
    fmt::print(stderr,
               "wuxing: error: --shard {} under an MPI launcher ({} processes): under mpirun the "
               "ranks share the runs by themselves; use either mpirun or --shard\n",
               a.shard, launch.size);
    return 2;
  }
  Spec spec;
  SweepPlan plan;
  try {
    spec = load_spec(a.spec, a.overrides);
    plan = expand_sweep(spec, a.yes);
  } catch (const SpecErrors& e) {
    print_errors(e);
    return 2;
  }
  const std::filesystem::path out =
      a.output.empty() ? std::filesystem::path("results") / (plan.spec_name + ".h5")
                       : std::filesystem::path(a.output);
  if (a.dry_run) return print_dry_run(plan, out, shard);
  if (const auto warning = source_tree_warning(); !warning.empty())
    fmt::print(stderr, "wuxing: warning: {}\n", warning);
  try {
    check_data(plan);
  } catch (const DataError& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 2;
  }
  const bool threads_chosen =
      a.threads > 0 || spec.base.threads > 0 || std::getenv("OMP_NUM_THREADS") != nullptr;
  int threads = a.threads > 0 ? a.threads
                              : (spec.base.threads > 0 ? spec.base.threads : omp_get_max_threads());
  RunnerOptions options;
  options.output = out;
  if (shard) {
    // A shard writes its own file, and skips runs already ok in the merged output.
    options.output = shard_path(out, *shard);
    options.shard = shard->index;
    options.shards = shard->count;
    if (std::filesystem::exists(out)) {
      const auto header = read_header(out);
      if (!compatible_headers(header, make_store_header(plan)))
        throw StoreError(fmt::format(
            "{} was written by spec '{}' (fingerprint {}), not by this spec '{}' (fingerprint "
            "{}); the shard would not be mergeable into it: choose another output with -o",
            out.string(), header.spec_name, header.fingerprint, plan.spec_name, plan.fingerprint));
      options.known_runs = read_runs(out);
    }
    fmt::print(stderr, "wuxing: shard {}/{}: runs with index % {} == {}, results in {}\n",
               shard->index, shard->count, shard->count, shard->index, options.output.string());
  }
  std::unique_ptr<MpiSession> session;
  if (use_mpi) {
    session = std::make_unique<MpiSession>();
    if (!threads_chosen) threads = default_threads_per_rank(session->local_size());
    if (session->rank() == 0)
      fmt::print(stderr, "wuxing: MPI: {} ranks, {} OpenMP thread(s) each, {} schedule\n",
                 session->size(), threads, schedule == MpiSchedule::kStatic ? "static" : "dynamic");
  }
  options.threads = threads;
  options.rerun_failed = a.rerun_failed;
  options.trainer = program_trainer();
  options.stop = &g_stop;
  // Test/tuning knob: seconds between re-assemblies of the main file (default 2).
  if (const char* interval = std::getenv("WUXING_ASSEMBLE_INTERVAL"))
    options.assemble_interval_seconds = std::atof(interval);
  SweepSummary s;
  {
    const StopSignals signals;
    if (session) {
      const auto r = run_sweep_mpi(*session, plan, options, schedule);
      if (!r.root) return 0;  // rank 0 reports for all
      s = r.summary;
    } else {
      s = SweepRunner(plan, options).run();
    }
  }

  fmt::print(stderr,
             "{}: {} runs planned, {} already done, {} ran ({} ok, {} failed){}; results in {}\n",
             plan.spec_name, s.planned, s.skipped, s.ran, s.ok, s.failed,
             s.interrupted ? fmt::format(", {} not finished", s.interrupted) : std::string(),
             options.output.string());
  if (shard) {
    std::string pattern = shard_path(out, ShardId{0, shard->count}).string();
    pattern.replace(pattern.rfind("shard-0-of"), 7, "shard-*");
    fmt::print(stderr, "when every shard is done: wuxing merge {} {}\n", out.string(), pattern);
  }
  for (const auto& [id, why] : s.failures) fmt::print(stderr, "  failed: run {}: {}\n", id, why);
  if (plan.runs.size() == 1 && s.ran == 1) {
    const auto runs = read_runs(session || !shard ? out : options.output);
    auto it = runs.find(plan.runs.front().id);
    if (it != runs.end())
      fmt::print("final test accuracy: {:.4f} (run {}, status {})\n",
                 it->second.final_test_accuracy, it->first, it->second.status.name());
  }
  if (s.stopped) {
    const int sig = g_stop_signal.load();
    fmt::print(stderr,
               "interrupted{}: finished runs are stored; run the same command again to "
               "continue\n",
               sig == SIGTERM ? " (SIGTERM)" : (sig == SIGUSR1 ? " (SIGUSR1)" : ""));
    return 128 + (sig > 0 ? sig : SIGINT);
  }
  if (s.failed > 0) {
    fmt::print(stderr, "{} run(s) failed; rerun with --rerun-failed to retry only those\n",
               s.failed);
    return 1;
  }
  return 0;
}

}  // namespace

void print_errors(const SpecErrors& e) {
  for (const auto& err : e.errors()) fmt::print(stderr, "error: {}\n", err.to_string());
}

void exit_on_spec_errors(const std::function<void()>& work) {
  try {
    work();
  } catch (const SpecErrors& e) {
    print_errors(e);
    throw CLI::RuntimeError(2);
  }
}

void add_run_command(CLI::App& app) {
  auto [cmd, args] = add_command<RunArgs>(app, "run");
  cmd->footer(spec_help());
  add_spec_arguments(cmd, args->spec, args->overrides, "Experiment spec (YAML)",
                     "key.path=value overrides, e.g. training.epochs=2");
  cmd->add_option("-o,--output", args->output, "Results file (default results/<spec name>.h5)");
  cmd->add_flag("--dry-run", args->dry_run,
                "List the runs (id, swept values, stored status) and exit");
  cmd->add_flag("--rerun-failed", args->rerun_failed, "Only re-run runs stored as failed");
  cmd->add_option(
         "--threads", args->threads,
         "OpenMP threads (default: spec threads, else all cores); over runs when there are "
         "at least as many runs as threads, else inside each run")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--yes", args->yes, "Confirm sweeps of more than a million runs");
  cmd->add_option("--shard", args->shard,
                  "Run only shard i of N (0-based: runs with index % N == i) into "
                  "<output stem>.shard-i-of-N.h5, skipping runs already ok in the output; "
                  "'slurm' takes i and N from SLURM_ARRAY_TASK_ID/_COUNT/_MIN. Merge the shards "
                  "with `wuxing merge` (docs/cluster.md)");
  cmd->add_option("--mpi-schedule", args->mpi_schedule,
                  "Under mpirun: 'dynamic' (default; rank 0 hands out one run at a time to "
                  "whichever thread is free) or 'static' (rank r takes every N-th run)")
      ->capture_default_str();
  cmd->callback([args] {
    const int code = do_run(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

void add_validate_command(CLI::App& app) {
  auto [cmd, args] = add_command<SpecArgs>(app, "validate");
  cmd->footer(spec_help());
  add_spec_arguments(cmd, args->spec, args->overrides);
  cmd->callback([args] {
    // Every check `run` makes before it starts: the spec, every planned run's config, and
    // the data sets (the same check_data).
    try {
      if (is_stability_spec(args->spec)) {
        const StabilitySpec spec = load_stability_spec(args->spec, args->overrides);
        fmt::print("{}: ok: stability spec, n = [{}], {} map ratios\n", args->spec,
                   fmt::join(spec.n, ", "), spec.map_ratio_points);
        return;
      }
      Spec spec = load_spec(args->spec, args->overrides);
      const std::uint64_t n = count_runs(spec);
      if (n <= kLargeSweepRuns) {
        SweepPlan plan = expand_sweep(spec);
        check_data(plan);
        fmt::print("{}: ok: spec '{}', {} run(s), fingerprint {}\n", args->spec, plan.spec_name,
                   plan.runs.size(), plan.fingerprint);
      } else {
        fmt::print("{}: ok: spec '{}', {} runs (too many to check one by one; `run` needs --yes)\n",
                   args->spec, spec.base.name, n);
      }
    } catch (const SpecErrors& e) {
      print_errors(e);
      throw CLI::RuntimeError(2);
    } catch (const DataError& e) {
      fmt::print(stderr, "error: {}\n", e.what());
      throw CLI::RuntimeError(2);
    }
  });
}

}  // namespace wuxing::cli
