// The sweep runner: failures recorded and the sweep goes on, resume, --rerun-failed,
// thread placement, identical results for 1 and 2 threads, clean stop, and a
// SIGKILL crash test of build/wuxing.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "framework/base/checkpoint.hpp"
#include "framework/pipeline/shard.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/fake/fake_trainer.hpp"
#include "tests/support.hpp"

using namespace wuxing;
using namespace wuxing::test_support;

namespace {

const std::string kSpec =
    "name: runner-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
    "training: {epochs: 2}\nrecord: {probe_samples: [1], probe_layers: [0], stability: true}\n"
    "sweep: {grid: {model.K3: [0.2, 0.4, 0.6]}, seeds: {repeat: 3}}\n";

SweepPlan plan_of(const std::string& text) {
  return expand_sweep(load_spec_text(text, "runner-test.yaml"));
}

RunnerOptions options_for(const std::filesystem::path& out, int threads, Trainer trainer) {
  RunnerOptions o;
  o.output = out;
  o.threads = threads;
  o.trainer = std::move(trainer);
  o.show_progress = false;
  o.assemble_interval_seconds = 0.0;
  return o;
}

// Every run id -> start_time found in the main file and in leftover parts.
std::map<std::string, std::string> finished_runs(const std::filesystem::path& out) {
  std::map<std::string, std::string> found;
  if (std::filesystem::exists(out))
    for (const auto& [id, r] : read_runs(out)) found[id] = r.start_time;
  const std::filesystem::path parts(out.string() + ".parts");
  if (std::filesystem::is_directory(parts))
    for (const auto& e : std::filesystem::directory_iterator(parts))
      if (e.path().extension() == ".h5")
        for (const auto& [id, r] : read_runs(e.path())) found[id] = r.start_time;
  return found;
}

// The sweep of `plan` run with `opts` until `stop` is set: it says it stopped, with `ran`
// runs finished and `interrupted` cut short.
SweepSummary run_until_stopped(SweepPlan plan, RunnerOptions opts, std::atomic<bool>& stop,
                               std::size_t ran, std::size_t interrupted) {
  opts.stop = &stop;
  auto s = SweepRunner(std::move(plan), std::move(opts)).run();
  CHECK(s.stopped);
  CHECK(s.ran == ran);
  CHECK(s.interrupted == interrupted);
  return s;
}

}  // namespace

TEST_CASE("failed runs are recorded with their reason and the sweep goes on; resume re-runs them") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  auto plan = plan_of(kSpec);
  REQUIRE(plan.runs.size() == 9);
  std::mutex mutex;
  std::multiset<std::string> calls;
  auto flaky = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    {
      std::lock_guard lock(mutex);
      calls.insert(run_id(c));
    }
    if (c.model.K3 == 0.4 && c.seed == 1) throw std::runtime_error("simulated crash");
    RunResult r = testing::fake_train_experiment(c, o, threads, 0);
    if (c.model.K3 == 0.6 && c.seed == 2)
      r.epochs.back().test_loss = NAN;  // NaN not flagged by trainer
    return r;
  };
  auto s = SweepRunner(plan, options_for(out, 2, flaky)).run();
  CHECK(s.planned == 9);
  CHECK(s.ran == 9);
  CHECK(s.ok == 7);
  CHECK(s.failed == 2);
  REQUIRE(s.failures.size() == 2);
  auto stored = read_runs(out);
  REQUIRE(stored.size() == 9);
  const std::string crashed = plan.runs[4].id;  // K3 = 0.4, seed 1
  const std::string nan_run = plan.runs[8].id;  // K3 = 0.6, seed 2
  CHECK(stored[crashed].status == RunStatus::failed);
  CHECK(stored[crashed].reason == "simulated crash");
  CHECK(stored[nan_run].status == RunStatus::numerical_trouble);
  CHECK(stored[nan_run].reason.find("non-finite") != std::string::npos);
  auto index = read_index(out);
  CHECK(index.text["status"][4] == "failed");

  // Resume: only the two failed runs run again; the others keep their start times.
  std::map<std::string, std::string> before;
  for (const auto& [id, r] : stored) before[id] = r.start_time;
  calls.clear();
  auto counting = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    {
      std::lock_guard lock(mutex);
      calls.insert(run_id(c));
    }
    return testing::fake_train_experiment(c, o, threads, 0);
  };
  s = SweepRunner(plan, options_for(out, 2, counting)).run();
  CHECK(s.skipped == 7);
  CHECK(s.ran == 2);
  CHECK(s.failed == 0);
  CHECK(calls == std::multiset<std::string>{crashed, nan_run});
  calls.clear();
  stored = read_runs(out);
  CHECK(stored[crashed].status == RunStatus::ok);
  CHECK(stored[nan_run].status == RunStatus::ok);
  for (const auto& [id, r] : stored)
    if (id != crashed && id != nan_run) CHECK(r.start_time == before[id]);
  // Everything done: nothing to do.
  s = SweepRunner(plan, options_for(out, 2, flaky)).run();
  CHECK(s.ran == 0);
  CHECK(s.skipped == 9);
  CHECK(calls.empty());
}

TEST_CASE("--rerun-failed re-runs only failed runs, not missing ones") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  auto plan = plan_of(kSpec);
  std::atomic<int> n{0};
  // First pass: stop after a few runs, with one of them failed.
  std::atomic<bool> stop{false};
  // The stop comes once the third run has its result (a stop during a run interrupts it,
  // and whether the trainer sees it before finishing would be a race).
  auto first = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    if (c.model.K3 == 0.2 && c.seed == 0) {
      ++n;
      throw std::runtime_error("first run fails");
    }
    RunResult r = testing::fake_train_experiment(c, o, threads, 0);
    if (++n >= 3) stop = true;
    return r;
  };
  auto s = run_until_stopped(plan, options_for(out, 1, first), stop, 3, 6);
  CHECK(read_runs(out).size() == 3);

  std::multiset<std::string> calls;
  auto counting = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    calls.insert(run_id(c));
    return testing::fake_train_experiment(c, o, threads, 0);
  };
  auto only_failed = options_for(out, 1, counting);
  only_failed.rerun_failed = true;
  s = SweepRunner(plan, only_failed).run();
  CHECK(calls == std::multiset<std::string>{plan.runs[0].id});
  CHECK(read_runs(out).size() == 3);
  calls.clear();
  s = SweepRunner(plan, options_for(out, 1, counting)).run();
  CHECK(calls.size() == 6);
  CHECK(read_runs(out).size() == 9);
}

TEST_CASE("threads: over runs when there are enough runs, else inside the run") {
  TempDir dir("runner");
  std::mutex mutex;
  std::multiset<int> seen;
  auto recording = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    {
      std::lock_guard lock(mutex);
      seen.insert(threads);
    }
    return testing::fake_train_experiment(c, o, threads, 0);
  };
  SweepRunner(plan_of(kSpec), options_for(dir.path / "a.h5", 2, recording)).run();
  CHECK(seen == std::multiset<int>{1, 1, 1, 1, 1, 1, 1, 1, 1});
  seen.clear();
  const std::string single =
      "name: single\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n";
  SweepRunner(plan_of(single), options_for(dir.path / "b.h5", 2, recording)).run();
  CHECK(seen == std::multiset<int>{2});
}

TEST_CASE("1 thread and 2 threads give identical /index and metrics") {
  TempDir dir("runner");
  auto plan = plan_of(kSpec);
  const auto one = dir.path / "one.h5";
  const auto two = dir.path / "two.h5";
  // Varying sleeps make the two-thread finishing order differ from the plan order.
  auto jittery = [](const ExperimentConfig& c, const RunObserver& o, int threads) {
    return testing::fake_train_experiment(c, o, threads, static_cast<int>(run_id(c)[0] % 3) * 10);
  };
  SweepRunner(plan, options_for(one, 1, jittery)).run();
  SweepRunner(plan, options_for(two, 2, jittery)).run();
  auto a = read_index(one);
  auto b = read_index(two);
  CHECK(a.columns == b.columns);
  CHECK(a.rows == 9);
  for (const auto& c : a.columns) {
    if (c == "wall_seconds" || c == "start_time") continue;  // clocks, not results
    CAPTURE(c);
    CHECK(a.text[c] == b.text[c]);
    CHECK(a.numeric[c] == b.numeric[c]);
  }
  for (const auto& r : plan.runs) {
    for (const char* m : {"epoch", "train_accuracy", "test_accuracy", "train_loss", "test_loss",
                          "unsettled_fraction", "clamp_fraction", "max_re_lambda", "mean_steps",
                          "unsettled_samples", "clamp_events", "non_finite"}) {
      CAPTURE(m);
      CHECK(read_metric(one, r.id, m) == read_metric(two, r.id, m));
    }
    CHECK(read_run_attribute(one, r.id, "config_yaml") ==
          read_run_attribute(two, r.id, "config_yaml"));
  }
}

TEST_CASE("a run the trainer marks failed because of the stop is not stored either") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  std::atomic<bool> stop{false};
  auto stopping = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    RunResult r = testing::fake_train_experiment(c, o, threads, 0);
    stop = true;  // as if Ctrl-C came during the second epoch
    r.epochs.pop_back();
    r.status = "failed";
    r.reason = "stopped on request during epoch 2";
    return r;
  };
  const auto s = run_until_stopped(plan_of(kSpec), options_for(out, 1, stopping), stop, 0, 9);
  CHECK(s.failed == 0);
  CHECK(finished_runs(out).empty());
}

TEST_CASE("a run stopped half-way is not stored as finished") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  const std::string single =
      "name: single\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\ntraining: "
      "{epochs: 50}\n";
  std::atomic<bool> stop{false};
  // The stop comes when the first epoch has finished (an event, not a time), so the run is
  // cut short on any machine.
  auto stopping_after_epoch_1 = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    RunObserver inner = o;
    inner.on_epoch = [&, outer = o.on_epoch](const EpochMetrics& m) {
      if (outer) outer(m);
      stop = true;
    };
    return testing::fake_train_experiment(c, inner, threads, 5);
  };
  run_until_stopped(plan_of(single), options_for(out, 1, stopping_after_epoch_1), stop, 0, 1);
  CHECK(finished_runs(out).empty());
}

namespace {

// build/wuxing run with the fake trainer at `epoch_ms` per epoch, its progress on a pipe.
std::unique_ptr<WatchedChild> start_run(const std::filesystem::path& spec,
                                        const std::filesystem::path& out, int epoch_ms,
                                        bool assemble_each_run) {
  std::map<std::string, std::string> env{{"WUXING_FAKE_TRAINER", std::to_string(epoch_ms)}};
  if (assemble_each_run) env["WUXING_ASSEMBLE_INTERVAL"] = "0";
  return std::make_unique<WatchedChild>(
      std::vector<std::string>{WUXING_FAKE_BINARY, "run", spec.string(), "-o", out.string(),
                               "--threads", "2"},
      env);
}

}  // namespace

TEST_CASE("SIGKILL at any moment: the file stays readable, no finished run is lost or redone") {
  TempDir dir("runner");
  const auto spec = dir.path / "kill.yaml";
  std::ofstream(spec)
      << "name: kill-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
         "training: {epochs: 3}\nrecord: {probe_samples: [0], probe_layers: [0]}\n"
         "sweep: {grid: {model.K3: [0.2, 0.3, 0.4, 0.5]}, seeds: {repeat: 8}}\n";
  const auto out = dir.path / "kill.h5";
  std::map<std::string, std::string> seen;  // id -> start time, over all kills
  // Each kill lands after the k-th progress line (k = 0: at start-up); each run prints
  // about 4 lines (3 epochs, 1 finish), so these points spread over start-up, mid-run and
  // mid-assembly (assembly after every run) and leave runs for the final start.
  for (const int line : {0, 2, 6, 10, 14, 20, 4, 24}) {
    CAPTURE(line);
    auto child = start_run(spec, out, 40, true);
    CHECK(child->wait_for_lines(line));  // false: the sweep ended before the kill point
    child->signal(SIGKILL);
    child->wait();
    if (std::filesystem::exists(out)) {
      CHECK_NOTHROW(read_index(out));  // readable at every kill
    }
    auto now = finished_runs(out);
    for (const auto& [id, start] : seen) {
      CAPTURE(id);
      REQUIRE(now.count(id) == 1);  // not lost
      CHECK(now[id] == start);      // not redone
    }
    seen = now;
  }
  INFO("runs finished before the last kill: " << seen.size());
  CHECK(seen.size() > 0);
  CHECK(seen.size() < 32);  // the kills did interrupt the sweep
  auto last = start_run(spec, out, 40, true);
  const int status = last->wait();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto runs = read_runs(out);
  CHECK(runs.size() == 32);
  for (const auto& [id, r] : runs) CHECK(r.status == RunStatus::ok);
  for (const auto& [id, start] : seen) CHECK(runs[id].start_time == start);
  CHECK(read_index(out).rows == 32);
  CHECK_FALSE(std::filesystem::exists(out.string() + ".parts"));
  CHECK_FALSE(std::filesystem::exists(out.string() + ".tmp"));
}

TEST_CASE("a stopped run keeps its epoch checkpoint and the next start resumes after it") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  const auto reference = dir.path / "ref.h5";
  const std::string single =
      "name: resume\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
      "training: {epochs: 5}\nrecord: {stability: true}\n";
  const auto plan = plan_of(single);
  const std::string id = plan.runs.front().id;
  SweepRunner(plan, options_for(reference, 1,
                                [](const ExperimentConfig& c, const RunObserver& o, int t) {
                                  return testing::fake_train_experiment(c, o, t, 0);
                                }))
      .run();
  std::atomic<bool> stop{false};
  std::vector<int> resumed_at;  // epochs_done of the checkpoint each start got
  auto trainer = [&](const ExperimentConfig& c, const RunObserver& o, int threads) {
    resumed_at.push_back(o.resume ? o.resume->epochs_done : 0);
    RunObserver inner = o;
    inner.on_epoch = [&, outer = o.on_epoch](const EpochMetrics& m) {
      if (outer) outer(m);
      if (m.epoch == 2) stop = true;  // as if Ctrl-C came during epoch 3
    };
    // 1 ms per epoch: the fake looks at the stop in its per-epoch sleep.
    return testing::fake_train_experiment(c, inner, threads, 1);
  };
  auto opts = options_for(out, 1, trainer);
  opts.stop = &stop;
  auto s = SweepRunner(plan, opts).run();
  CHECK(s.stopped);
  CHECK(s.interrupted == 1);
  const auto ckpt = checkpoint_path(checkpoint_dir(out), id);
  REQUIRE(std::filesystem::exists(ckpt));
  const auto state = read_checkpoint(ckpt, id);
  REQUIRE(state);
  CHECK(state->epochs_done == 2);
  CHECK(state->epochs.size() == 2);
  // A checkpoint of another run is refused, not misread.
  CHECK_THROWS_AS(read_checkpoint(ckpt, "0123456789abcdef"), CheckpointError);

  stop = false;
  opts.stop = nullptr;
  s = SweepRunner(plan, opts).run();
  CHECK(s.ok == 1);
  CHECK(resumed_at == std::vector<int>{0, 2});
  CHECK_FALSE(std::filesystem::exists(ckpt));  // stored: the checkpoint is gone
  CHECK_FALSE(std::filesystem::exists(checkpoint_dir(out)));
  require_same_results(reference, out);

  // A damaged checkpoint is ignored with a warning: the run starts over, nothing is misread.
  std::filesystem::create_directories(checkpoint_dir(dir.path / "d.h5"));
  std::ofstream(checkpoint_path(checkpoint_dir(dir.path / "d.h5"), id)) << "WUXCKPT1 garbage";
  resumed_at.clear();
  SweepRunner(plan, options_for(dir.path / "d.h5", 1, trainer)).run();
  CHECK(resumed_at == std::vector<int>{0});
}

TEST_CASE(
    "SIGINT, SIGTERM, SIGUSR1 stop cleanly: runs stored, exit 128 + signal, rerun completes") {
  for (const auto& [signal_number, code] :
       {std::pair{SIGINT, 130}, std::pair{SIGTERM, 143}, std::pair{SIGUSR1, 138}}) {
    const int sig = signal_number, expected = code;
    CAPTURE(sig);
    TempDir dir("runner");
    const auto spec = dir.path / "int.yaml";
    std::ofstream(spec)
        << "name: int-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
           "training: {epochs: 3}\nsweep: {grid: {model.K3: [0.2, 0.3, 0.4, 0.5]}, "
           "seeds: {repeat: 4}}\n";
    const auto out = dir.path / "int.h5";
    auto child = start_run(spec, out, 40, false);
    // The signal comes once the first run is reported finished, whatever the load.
    REQUIRE(child->wait_for(" ok: test acc"));
    child->signal(sig);
    const int status = child->wait();
    CAPTURE(child->output());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == expected);
    CHECK(child->output().find("stopping: storing finished runs") != std::string::npos);
    // Everything finished is in the main file itself (assembled before exiting).
    CHECK_FALSE(std::filesystem::exists(out.string() + ".parts"));
    const auto stored = read_runs(out);
    CHECK(stored.size() > 0);
    CHECK(stored.size() < 16);
    for (const auto& [id, r] : stored) CHECK(r.status == RunStatus::ok);
    auto index = read_index(out);
    CHECK(index.rows == stored.size());
    for (double e : index.numeric["epochs_done"]) CHECK(e == 3);  // no half-run stored
    const int rerun = start_run(spec, out, 40, false)->wait();
    REQUIRE(WIFEXITED(rerun));
    CHECK(WEXITSTATUS(rerun) == 0);
    const auto all = read_runs(out);
    CHECK(all.size() == 16);
    for (const auto& [id, r] : stored) CHECK(all.at(id).start_time == r.start_time);
    CHECK_FALSE(std::filesystem::exists(checkpoint_dir(out)));
  }
}

TEST_CASE("--dry-run --shard lists the shard's runs and its file, not the whole sweep") {
  TempDir dir("runner");
  const auto spec = dir.write("dry.yaml", kSpec);  // 9 runs
  const auto out = dir.path / "dry.h5";
  WatchedChild whole({WUXING_BINARY, "run", spec.string(), "-o", out.string(), "--dry-run"}, {});
  REQUIRE(whole.exit_code() == 0);
  const auto log = dir.path / "log";
  const auto c = run_child(
      {WUXING_BINARY, "run", spec.string(), "-o", out.string(), "--dry-run", "--shard", "1/3"}, {},
      log);
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("3 of 9 runs of spec 'runner-test'") != std::string::npos);
  CHECK(c.output.find("dry.shard-1-of-3.h5") != std::string::npos);
  const auto plan = plan_of(kSpec);
  for (const auto& r : plan.runs) {
    CAPTURE(r.index);
    CHECK((c.output.find(r.id) != std::string::npos) == (r.index % 3 == 1));
  }
  CHECK_FALSE(std::filesystem::exists(out));
  CHECK_FALSE(std::filesystem::exists(shard_path(out, {1, 3})));
}

TEST_CASE("judge_status: mostly unsettled or at chance level is numerical_trouble, with why") {
  ExperimentConfig c;
  c.data.dataset = DatasetKind::synthetic;
  c.data.synthetic_classes = 4;  // chance 0.25
  auto result = [](double unsettled, double accuracy) {
    RunResult r;
    for (int e = 1; e <= 2; ++e) {
      EpochMetrics m;
      m.epoch = e;
      m.unsettled_fraction = unsettled;
      m.test_accuracy = accuracy;
      r.epochs.push_back(m);
    }
    return r;
  };
  RunResult ok = result(0.5, 0.26);  // at the thresholds, on the good side
  judge_status(ok, c);
  CHECK(ok.status == RunStatus::ok);
  RunResult unsettled = result(0.51, 0.9);
  judge_status(unsettled, c);
  CHECK(unsettled.status == RunStatus::numerical_trouble);
  CHECK(unsettled.reason.find("51.0 % unsettled") != std::string::npos);
  RunResult chance = result(0.0, 0.25);
  judge_status(chance, c);
  CHECK(chance.status == RunStatus::numerical_trouble);
  CHECK(chance.reason.find("final test accuracy 0.2500 is at chance level (1/4") !=
        std::string::npos);
  c.status.max_unsettled_fraction = 1;  // both checks off
  c.status.min_above_chance = -1;
  RunResult off = result(1.0, 0.0);
  judge_status(off, c);
  CHECK(off.status == RunStatus::ok);
  c.status.min_above_chance = 0.1;  // must beat chance by more than 0.1
  RunResult close = result(0.0, 0.35);
  judge_status(close, c);
  CHECK(close.status == RunStatus::numerical_trouble);
  RunResult failed = result(1.0, 0.0);  // a status already set is kept with its reason
  failed.status = "failed";
  failed.reason = "x";
  judge_status(failed, c);
  CHECK(failed.reason == "x");
}
