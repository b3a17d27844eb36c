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
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "framework/runner.hpp"
#include "framework/store.hpp"
#include "framework/sweep.hpp"
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

Trainer fake(int sleep_ms = 0) {
  return [sleep_ms](const ExperimentConfig& c, const RunObserver& o, int threads) {
    return testing::fake_train_experiment(c, o, threads, sleep_ms);
  };
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
  CHECK(stored[crashed].status == "failed");
  CHECK(stored[crashed].reason == "simulated crash");
  CHECK(stored[nan_run].status == "numerical_trouble");
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
  CHECK(stored[crashed].status == "ok");
  CHECK(stored[nan_run].status == "ok");
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
  auto opts = options_for(out, 1, first);
  opts.stop = &stop;
  auto s = SweepRunner(plan, opts).run();
  CHECK(s.stopped);
  CHECK(s.ran == 3);
  CHECK(s.interrupted == 6);
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
  auto opts = options_for(out, 1, stopping);
  opts.stop = &stop;
  auto s = SweepRunner(plan_of(kSpec), opts).run();
  CHECK(s.stopped);
  CHECK(s.ran == 0);
  CHECK(s.failed == 0);
  CHECK(s.interrupted == 9);
  CHECK(finished_runs(out).empty());
}

TEST_CASE("a run stopped half-way is not stored as finished") {
  TempDir dir("runner");
  const auto out = dir.path / "r.h5";
  const std::string single =
      "name: single\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\ntraining: "
      "{epochs: 50}\n";
  std::atomic<bool> stop{false};
  auto opts = options_for(out, 1, fake(5));
  opts.stop = &stop;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    stop = true;
  });
  auto s = SweepRunner(plan_of(single), opts).run();
  stopper.join();
  CHECK(s.stopped);
  CHECK(s.ran == 0);
  CHECK(s.interrupted == 1);
  CHECK(finished_runs(out).empty());
}

TEST_CASE("SIGKILL at any moment: the file stays readable, no finished run is lost or redone") {
  TempDir dir("runner");
  const auto spec = dir.path / "kill.yaml";
  std::ofstream(spec)
      << "name: kill-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
         "training: {epochs: 3}\nrecord: {probe_samples: [0], probe_layers: [0]}\n"
         "sweep: {grid: {model.K3: [0.2, 0.3, 0.4, 0.5]}, seeds: {repeat: 8}}\n";
  const auto out = dir.path / "kill.h5";
  auto launch = [&](bool wait_for_it, int kill_after_ms) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      setenv("WUXING_FAKE_TRAINER", "40", 1);      // 40 ms per epoch: ~120 ms per run, ~2 s in all
      setenv("WUXING_ASSEMBLE_INTERVAL", "0", 1);  // assemble after every run: more to interrupt
      const int null_fd = ::open("/dev/null", O_WRONLY);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      execl(WUXING_BINARY, WUXING_BINARY, "run", spec.c_str(), "-o", out.c_str(), "--threads", "2",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    if (!wait_for_it) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kill_after_ms));
      kill(pid, SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  std::map<std::string, std::string> seen;  // id -> start time, over all kills
  // Kills at assorted moments (startup, mid-run, mid-assembly); on a slow, loaded machine
  // keep killing until some runs have finished, so that "not lost" is really tested.
  std::vector<int> delays = {5, 60, 130, 170, 210, 250, 90, 300};
  for (std::size_t k = 0; k < delays.size(); ++k) {
    const int delay = delays[k];
    if (k + 1 == delays.size() && seen.empty() && delays.size() < 30) delays.push_back(300);
    launch(false, delay);
    CAPTURE(delay);
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
  const int status = launch(true, 0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto runs = read_runs(out);
  CHECK(runs.size() == 32);
  for (const auto& [id, r] : runs) CHECK(r.status == "ok");
  for (const auto& [id, start] : seen) CHECK(runs[id].start_time == start);
  CHECK(read_index(out).rows == 32);
  CHECK_FALSE(std::filesystem::exists(out.string() + ".parts"));
  CHECK_FALSE(std::filesystem::exists(out.string() + ".tmp"));
}

TEST_CASE("SIGINT stops cleanly: finished runs are stored, exit status 130, the rerun completes") {
  TempDir dir("runner");
  const auto spec = dir.path / "int.yaml";
  std::ofstream(spec)
      << "name: int-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
         "training: {epochs: 3}\nsweep: {grid: {model.K3: [0.2, 0.3, 0.4, 0.5]}, "
         "seeds: {repeat: 4}}\n";
  const auto out = dir.path / "int.h5";
  auto launch = [&](int interrupt_after_ms) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      setenv("WUXING_FAKE_TRAINER", "40", 1);
      const int null_fd = ::open("/dev/null", O_WRONLY);
      dup2(null_fd, 1);
      dup2(null_fd, 2);
      execl(WUXING_BINARY, WUXING_BINARY, "run", spec.c_str(), "-o", out.c_str(), "--threads", "2",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    if (interrupt_after_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(interrupt_after_ms));
      kill(pid, SIGINT);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
  };
  int status = launch(350);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 130);
  // Everything finished is in the main file itself (assembled before exiting).
  CHECK_FALSE(std::filesystem::exists(out.string() + ".parts"));
  auto stored = read_runs(out);
  CHECK(stored.size() > 0);
  CHECK(stored.size() < 16);
  for (const auto& [id, r] : stored) CHECK(r.status == "ok");
  auto index = read_index(out);
  CHECK(index.rows == stored.size());
  for (double e : index.numeric["epochs_done"]) CHECK(e == 3);  // no half-run stored
  status = launch(0);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto all = read_runs(out);
  CHECK(all.size() == 16);
  for (const auto& [id, r] : stored) CHECK(all[id].start_time == r.start_time);
}
