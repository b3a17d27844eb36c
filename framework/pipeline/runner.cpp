#include "framework/pipeline/runner.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "framework/base/checkpoint.hpp"
#include "framework/pipeline/progress.hpp"
#include "framework/pipeline/provenance.hpp"

namespace wuxing {

std::vector<std::size_t> runs_to_do(const SweepPlan& plan, const std::vector<std::size_t>& owned,
                                    const std::map<std::string, StoredRun>& stored,
                                    bool rerun_failed) {
  std::vector<std::size_t> todo;
  for (std::size_t i : owned) {
    auto it = stored.find(plan.runs.at(i).id);
    if (it == stored.end()) {
      if (!rerun_failed) todo.push_back(i);
    } else if (it->second.status != RunStatus::ok) {
      todo.push_back(i);
    }
  }
  return todo;
}

std::map<std::string, StoredRun> union_of_runs(std::map<std::string, StoredRun> stored,
                                               const std::map<std::string, StoredRun>& known) {
  for (const auto& [id, run] : known) {
    auto it = stored.find(id);
    if (it == stored.end() || (run.status == RunStatus::ok && it->second.status != RunStatus::ok))
      stored[id] = run;
  }
  return stored;
}

void check_finite(RunResult& r) {
  if (r.status != RunStatus::ok) return;
  for (const auto& e : r.epochs) {
    if (!std::isfinite(e.train_loss) || !std::isfinite(e.test_loss) ||
        !std::isfinite(e.test_accuracy) || !std::isfinite(e.train_accuracy)) {
      r.status = RunStatus::numerical_trouble;
      r.reason = fmt::format("non-finite loss or accuracy in epoch {}", e.epoch);
      return;
    }
  }
}

std::string swept_values(const PlannedRun& run) {
  std::string s;
  for (const auto& v : run.swept) s += fmt::format("{}{}={}", s.empty() ? "" : "  ", v.key, v.text);
  return s;
}

namespace {
// A run's work for the ETA: epochs x the samples each epoch goes through.
double run_work(const ExperimentConfig& c) {
  return static_cast<double>(std::max(c.training.epochs, 1)) *
         std::max(1.0, static_cast<double>(c.data.train_size) + c.data.test_size);
}

// Runs of one cost class cost alike per sample (the ETA times each class on its own epochs):
// the rule, the network's shape and how the phases are computed.
std::string cost_class(const ExperimentConfig& c) {
  std::string hidden;
  for (int h : c.network.hidden) hidden += fmt::format("-{}", h);
  return fmt::format("{} {}{} n={} {}/{} {}", c.training.rule, option_name(c.data.dataset), hidden,
                     c.model.n, option_name(c.integrator.forward_method),
                     option_name(c.integrator.backward_method), c.training.batch_size);
}

int chance_classes(const ExperimentConfig& c) {
  return c.data.dataset == DatasetKind::synthetic ? c.data.synthetic_classes : 10;
}
}  // namespace

void judge_status(RunResult& r, const ExperimentConfig& c) {
  check_finite(r);
  if (r.status != RunStatus::ok || r.epochs.empty()) return;
  double unsettled = 0.0;
  for (const auto& e : r.epochs) unsettled += e.unsettled_fraction;
  unsettled /= static_cast<double>(r.epochs.size());
  if (unsettled > c.status.max_unsettled_fraction) {
    r.status = RunStatus::numerical_trouble;
    r.reason = fmt::format(
        "forward phases mostly did not settle: {:.1f} % unsettled over {} epoch(s) (more than "
        "status.max_unsettled_fraction = {})",
        100.0 * unsettled, r.epochs.size(), c.status.max_unsettled_fraction);
    return;
  }
  const double chance = 1.0 / chance_classes(c);
  const double accuracy = r.epochs.back().test_accuracy;
  if (c.status.min_above_chance > -1 && accuracy <= chance + c.status.min_above_chance) {
    r.status = RunStatus::numerical_trouble;
    r.reason = fmt::format(
        "final test accuracy {:.4f} is at chance level (1/{} = {:.4f}, "
        "status.min_above_chance = {})",
        accuracy, chance_classes(c), chance, c.status.min_above_chance);
  }
}

SweepRunner::SweepRunner(SweepPlan plan, RunnerOptions options)
    : plan_(std::move(plan)), options_(std::move(options)) {
  if (!options_.trainer) throw std::invalid_argument("SweepRunner: no trainer given");
}

namespace {

// Finished runs wait here for the writer thread.
class RecordQueue {
 public:
  void push(RunRecord r) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(r));
    }
    cv_.notify_one();
  }
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cv_.notify_one();
  }
  // Waits up to `timeout`; returns false when closed and drained.
  bool pop(std::deque<RunRecord>& out, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || closed_; });
    while (!queue_.empty()) {
      out.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    return !(closed_ && out.empty());
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<RunRecord> queue_;
  bool closed_ = false;
};

}  // namespace

SweepSummary SweepRunner::run() {
  SweepSummary summary;
  ResultsStore store(options_.output, make_store_header(plan_));
  const auto stored = union_of_runs(store.runs(), options_.known_runs);
  const bool pulled = static_cast<bool>(options_.next_run);
  std::vector<std::size_t> owned;
  if (options_.assigned_runs)
    owned = *options_.assigned_runs;
  else if (!pulled)
    owned = owned_runs(plan_, options_.shard, options_.shards);
  const auto todo = runs_to_do(plan_, owned, stored, options_.rerun_failed);
  summary.planned = owned.size();
  summary.skipped = owned.size() - todo.size();
  std::size_t already_ok = 0;  // of this plan's runs (a grown sweep's file holds others too)
  for (const auto& r : plan_.runs)
    if (auto it = stored.find(r.id); it != stored.end() && it->second.status == RunStatus::ok)
      ++already_ok;
  (void)provenance();  // compute once, before the threads start

  const int threads = options_.threads > 0 ? options_.threads : omp_get_max_threads();
  const std::size_t work = pulled ? options_.next_run_total : todo.size();
  const bool over_runs = threads > 1 && work >= static_cast<std::size_t>(threads);
  const int inner_threads = over_runs ? 1 : threads;

  std::atomic<bool> local_stop{false};
  const std::atomic<bool>* stop = options_.stop ? options_.stop : &local_stop;
  std::atomic<bool> writer_failed{false};
  auto stop_requested = [&] { return stop->load() || writer_failed.load(); };
  // The trainer sees one flag that is set by either a user stop or a writer failure.
  std::atomic<bool> trainer_stop{false};

  const bool single = plan_.runs.size() == 1;
  Progress::WorkByClass work_units;  // epochs x samples of what this process runs (the ETA)
  if (pulled) {
    for (const auto& r : plan_.runs) work_units[cost_class(r.config)] += run_work(r.config);
    for (auto& [cls, units] : work_units)
      units *= static_cast<double>(work) /
               static_cast<double>(std::max<std::size_t>(plan_.runs.size(), 1));
  } else {
    for (std::size_t i : todo)
      work_units[cost_class(plan_.runs[i].config)] += run_work(plan_.runs[i].config);
  }
  Progress progress(plan_.runs.size(), already_ok, work, work_units, over_runs ? threads : 1,
                    single, options_.progress_stream, options_.progress_interactive);
  const bool show = options_.show_progress;

  const std::filesystem::path ckpt_dir =
      options_.checkpoint_dir.empty() ? checkpoint_dir(options_.output) : options_.checkpoint_dir;
  // A run stored for good (it trained to its end: ok or numerical_trouble; a failed or stopped
  // run keeps its checkpoint for --rerun-failed) may still have its checkpoint when a kill
  // landed between the store and the checkpoint's removal below: remove it now.
  for (const auto& r : plan_.runs)
    if (auto it = stored.find(r.id);
        it != stored.end() &&
        (it->second.status == RunStatus::ok || it->second.status == RunStatus::numerical_trouble))
      remove_checkpoint(ckpt_dir, r.id);
  std::atomic<bool> ckpt_warned{false};
  auto warn_checkpoint = [&](const std::string& message) {
    if (!ckpt_warned.exchange(true))
      fmt::print(stderr, "wuxing: warning: {} (further checkpoint warnings are not shown)\n",
                 message);
  };

  RecordQueue queue;
  std::exception_ptr writer_error;
  std::mutex summary_mutex;
  std::thread writer([&] {
    auto last = std::chrono::steady_clock::now();
    double interval = options_.assemble_interval_seconds;
    std::deque<RunRecord> batch;
    try {
      while (queue.pop(batch, std::chrono::milliseconds(200))) {
        if (stop->load()) trainer_stop = true;
        for (auto& rec : batch) {
          store.add(rec);
          remove_checkpoint(ckpt_dir, rec.id);  // stored for good: it has done its job
          // Reported only now that it is durable, so that what the user saw finish is
          // what a kill can never lose.
          if (show) progress.run_finished(rec.id, rec.result);
        }
        batch.clear();
        const auto now = std::chrono::steady_clock::now();
        // Re-assembly copies every stored run, so on big files wait longer between two
        // (at most ~20 % of the writer's time goes to it); the parts keep runs safe meanwhile.
        if (store.dirty() && std::chrono::duration<double>(now - last).count() >= interval) {
          store.assemble();
          last = std::chrono::steady_clock::now();
          const double took = std::chrono::duration<double>(last - now).count();
          interval = std::max(options_.assemble_interval_seconds, 4.0 * took);
        }
      }
      if (store.dirty()) store.assemble();
    } catch (...) {
      writer_error = std::current_exception();
      writer_failed = true;
      trainer_stop = true;
    }
  });

  auto execute = [&](std::size_t plan_index, int run_threads) {
    const PlannedRun& planned = plan_.runs[plan_index];
    if (stop_requested()) return;
    RunObserver observer;
    if (show) {
      observer.on_progress = [&](int epoch, std::int64_t done, std::int64_t total, double acc) {
        progress.epoch_progress(planned.id, epoch, done, total, acc);
        if (stop->load()) trainer_stop = true;
      };
      observer.on_epoch = [&](const EpochMetrics& m) { progress.epoch_done(planned.id, m); };
    } else {
      observer.on_progress = [&](int, std::int64_t, std::int64_t, double) {
        if (stop->load()) trainer_stop = true;
      };
    }
    observer.stop = &trainer_stop;
    // Resume from the run's last finished epoch, if a killed or stopped start left one.
    std::optional<TrainingState> resume;
    const std::filesystem::path ckpt = checkpoint_path(ckpt_dir, planned.id);
    if (options_.checkpoints) {
      try {
        resume = read_checkpoint(ckpt, planned.id);
      } catch (const CheckpointError& e) {
        fmt::print(stderr, "wuxing: warning: {}; run {} starts over\n", e.what(), planned.id);
      }
      observer.resume = resume ? &*resume : nullptr;
      observer.on_checkpoint = [&](const TrainingState& state) {
        try {
          write_checkpoint(ckpt, planned.id, state);
        } catch (const CheckpointError& e) {
          warn_checkpoint(e.what());
        }
      };
    }
    if (show)
      progress.run_started(planned.id, planned.config.training.epochs,
                           run_work(planned.config) / planned.config.training.epochs,
                           swept_values(planned), resume ? resume->epochs_done : 0,
                           cost_class(planned.config));
    RunRecord rec = make_run_record(planned);
    rec.start_time = utc_now_iso();
    const auto t0 = std::chrono::steady_clock::now();
    try {
      rec.result = options_.trainer(planned.config, observer, run_threads);
    } catch (const std::exception& e) {
      rec.result = RunResult{};
      rec.result.status = RunStatus::failed;
      rec.result.reason = e.what();
    } catch (...) {
      rec.result = RunResult{};
      rec.result.status = RunStatus::failed;
      rec.result.reason = "unknown exception";
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (rec.result.wall_seconds <= 0) rec.result.wall_seconds = wall;
    rec.end_time = utc_now_iso();
    judge_status(rec.result, planned.config);
    // A run cut short by a stop is not a result (whatever status the trainer gave it,
    // e.g. "failed: stopped on request"): leave it unstored so that the next start
    // runs it again. (A failed or missing run is re-run anyway.)
    const bool incomplete =
        static_cast<int>(rec.result.epochs.size()) < planned.config.training.epochs;
    if (stop_requested() && incomplete) {
      std::lock_guard lock(summary_mutex);
      ++summary.interrupted;
      return;
    }
    {
      std::lock_guard lock(summary_mutex);
      ++summary.ran;
      if (rec.result.status == RunStatus::ok) {
        ++summary.ok;
      } else {
        ++summary.failed;
        summary.failures.emplace_back(
            rec.id, std::string(rec.result.status.name()) + ": " + rec.result.reason);
      }
    }
    queue.push(std::move(rec));
  };

  // Nested parallel regions inside a trainer would oversubscribe the cores.
  const int saved_levels = omp_get_max_active_levels();
  omp_set_max_active_levels(1);
  std::atomic<std::size_t> handed{0};
  if (pulled) {
    // Each thread pulls its next run only when it is free, so a slow run never holds up
    // runs queued behind it. A stop ends the pulling; runs not pulled stay in the queue's
    // owner's accounting, not ours.
    auto pull_loop = [&](int run_threads) {
      while (!stop_requested()) {
        const auto next = options_.next_run();
        if (!next) break;
        ++handed;
        execute(*next, run_threads);
      }
    };
    if (over_runs) {
#pragma omp parallel num_threads(threads)
      pull_loop(inner_threads);
    } else {
      pull_loop(inner_threads);
    }
  } else if (over_runs) {
    const long n = static_cast<long>(todo.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < n; ++i) execute(todo[static_cast<std::size_t>(i)], inner_threads);
  } else {
    for (std::size_t i : todo) execute(i, inner_threads);
  }
  omp_set_max_active_levels(saved_levels);
  queue.close();
  writer.join();
  if (options_.checkpoint_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove(ckpt_dir, ec);  // only if empty: checkpoints of stopped runs stay
  }
  if (show) progress.finish();
  if (writer_error) std::rethrow_exception(writer_error);
  summary.stopped = stop->load();
  // Runs never started because of a stop count as interrupted too.
  if (pulled) summary.planned = handed.load();
  summary.interrupted = (pulled ? handed.load() : todo.size()) - summary.ran;
  std::sort(summary.failures.begin(), summary.failures.end());
  return summary;
}

}  // namespace wuxing
