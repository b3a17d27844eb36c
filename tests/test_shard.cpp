// Shards of a sweep (--shard i/N, --shard slurm), `wuxing merge`, resume after a killed
// shard, and the refusal of a build without MPI under mpirun (framework/pipeline/shard.hpp,
// framework/pipeline/merge.hpp, framework/pipeline/mpi.hpp).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "framework/pipeline/merge.hpp"
#include "framework/pipeline/mpi.hpp"
#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/shard.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/support.hpp"

using namespace wuxing;

namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

using test_support::Child;
using test_support::require_same_results;
using test_support::run_fake;
using test_support::TempDir;

const char* kFakeSpec =
    "name: shard-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
    "training: {epochs: 2}\nrecord: {probe_samples: [0], probe_layers: [0]}\n"
    "sweep: {grid: {model.K3: [0.2, 0.4, 0.6], training.learning_rate: [0.01, 1.5]}, "
    "seeds: {repeat: 2}}\n";  // learning_rate 1.5: the fake trainer reports numerical trouble

std::map<std::string, std::string> fake_env(int sleep_ms = 0) {
  return {{"WUXING_FAKE_TRAINER", std::to_string(sleep_ms)}, {"WUXING_ASSEMBLE_INTERVAL", "0"}};
}

}  // namespace

TEST_CASE("--shard i/N and --shard slurm are parsed, and nonsense is refused clearly") {
  CHECK(parse_shard("0/3").index == 0);
  CHECK(parse_shard("2/3").count == 3);
  CHECK_THROWS_WITH_AS(parse_shard("3/3"), doctest::Contains("0 <= i < N"), std::invalid_argument);
  CHECK_THROWS_AS(parse_shard("1/0"), std::invalid_argument);
  CHECK_THROWS_AS(parse_shard("a/b"), std::invalid_argument);
  CHECK_THROWS_AS(parse_shard("-1/2"), std::invalid_argument);

  auto s =
      parse_shard("slurm", env_of({{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}));
  CHECK(s.index == 2);
  CHECK(s.count == 4);
  // --array=1-4: ids 1..4 are shards 0..3.
  s = parse_shard("slurm", env_of({{"SLURM_ARRAY_TASK_ID", "4"},
                                   {"SLURM_ARRAY_TASK_COUNT", "4"},
                                   {"SLURM_ARRAY_TASK_MIN", "1"}}));
  CHECK(s.index == 3);
  // --array=0-6:2: ids 0, 2, 4, 6 are shards 0..3.
  s = parse_shard("slurm", env_of({{"SLURM_ARRAY_TASK_ID", "4"},
                                   {"SLURM_ARRAY_TASK_COUNT", "4"},
                                   {"SLURM_ARRAY_TASK_MIN", "0"},
                                   {"SLURM_ARRAY_TASK_STEP", "2"}}));
  CHECK(s.index == 2);
  CHECK_THROWS_WITH_AS(parse_shard("slurm", env_of({})), doctest::Contains("SLURM_ARRAY_TASK_ID"),
                       std::invalid_argument);
  CHECK_THROWS_AS(
      parse_shard("slurm", env_of({{"SLURM_ARRAY_TASK_ID", "5"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
      std::invalid_argument);
  CHECK_THROWS_AS(
      parse_shard("slurm", env_of({{"SLURM_ARRAY_TASK_ID", "x"}, {"SLURM_ARRAY_TASK_COUNT", "4"}})),
      std::invalid_argument);

  CHECK(shard_path("results/sweep-k3.h5", {1, 4}) ==
        std::filesystem::path("results/sweep-k3.shard-1-of-4.h5"));
  CHECK(rank_path("/tmp/x.h5", 0, 2) == std::filesystem::path("/tmp/x.rank-0-of-2.h5"));
}

TEST_CASE("launch detection: a build without MPI refuses to run as one of several processes") {
  const auto none = detect_mpi_launch(env_of({}));
  CHECK(none.size == 1);
  CHECK(duplicate_launch_error(none, false).empty());
  const auto ompi =
      detect_mpi_launch(env_of({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "3"}}));
  CHECK(ompi.size == 4);
  CHECK(ompi.rank == 3);
  const auto hydra = detect_mpi_launch(env_of({{"PMI_SIZE", "2"}, {"PMI_RANK", "1"}}));
  CHECK(hydra.size == 2);
  CHECK(hydra.source == "PMI_SIZE");
  const std::string why = duplicate_launch_error(ompi, false);
  CHECK(why.find("without MPI") != std::string::npos);
  CHECK(why.find("OMPI_COMM_WORLD_SIZE=4") != std::string::npos);
  CHECK(duplicate_launch_error(ompi, true).empty());
  // mpirun -np 1 runs one sweep: nothing is duplicated.
  CHECK(duplicate_launch_error(detect_mpi_launch(env_of({{"OMPI_COMM_WORLD_SIZE", "1"}})), false)
            .empty());
}

#ifndef WUXING_HAVE_MPI
TEST_CASE("build/wuxing without MPI under an MPI launcher refuses and writes nothing") {
  TempDir dir("shard");
  const auto spec = dir.write("s.yaml", kFakeSpec);
  const auto out = dir.path / "out.h5";
  auto env = fake_env();
  env["OMPI_COMM_WORLD_SIZE"] = "2";
  env["OMPI_COMM_WORLD_RANK"] = "1";
  const auto c = run_fake({"run", spec.string(), "-o", out.string()}, env, dir.path / "log");
  CHECK(c.exit_code() == 2);
  CHECK(c.output.find("built without MPI") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
}
#endif

TEST_CASE("choose_sources: a run ok in any input is ok; otherwise the later input wins") {
  auto run = [](RunStatus status) {
    StoredRun r;
    r.status = status;
    return r;
  };
  const std::vector<std::map<std::string, StoredRun>> sources = {
      {{"a", run("ok")}, {"b", run("failed")}, {"c", run("failed")}},
      {{"a", run("failed")}, {"b", run("ok")}, {"c", run("numerical_trouble")}},
      {{"a", run("failed")}, {"d", run("ok")}},
  };
  const auto chosen = choose_sources(sources);
  CHECK(chosen.at("a") == 0);
  CHECK(chosen.at("b") == 1);
  CHECK(chosen.at("c") == 1);
  CHECK(chosen.at("d") == 2);
}

TEST_CASE("shards 0/3, 1/3, 2/3 run separately and merged equal a single-process run") {
  TempDir dir("shard");
  const auto spec = dir.write("s.yaml", kFakeSpec);
  const auto single = dir.path / "single.h5";
  const auto out = dir.path / "out.h5";
  REQUIRE(run_fake({"run", spec.string(), "-o", single.string()}, fake_env(), dir.path / "log")
              .exit_code() == 1);  // the learning_rate 1.5 runs are numerical trouble
  std::vector<std::string> merge_args = {"merge", out.string()};
  for (int i = 0; i < 3; ++i) {
    const auto c =
        run_fake({"run", spec.string(), "-o", out.string(), "--shard", std::to_string(i) + "/3"},
                 fake_env(), dir.path / "log");
    CAPTURE(c.output);
    CHECK(c.exit_code() == 1);
    const auto file = shard_path(out, {i, 3});
    REQUIRE(std::filesystem::exists(file));
    CHECK(read_runs(file).size() == 4);  // 12 runs, every third
    for (const auto& [id, r] : read_runs(file)) CHECK(r.plan_index % 3 == std::size_t(i));
    merge_args.push_back(file.string());
  }
  CHECK(!std::filesystem::exists(out));
  const auto m = run_fake(merge_args, {}, dir.path / "log");
  CAPTURE(m.output);
  REQUIRE(m.exit_code() == 0);
  require_same_results(single, out);

  SUBCASE("re-running a shard after the merge skips its finished runs") {
    std::filesystem::remove(shard_path(out, {1, 3}));
    const auto c =
        run_fake({"run", spec.string(), "-o", out.string(), "--shard", "1/3", "--rerun-failed"},
                 fake_env(), dir.path / "log");
    CAPTURE(c.output);
    // Only the failed ones (numerical trouble) of shard 1 run again.
    CHECK(c.output.find("4 runs planned, 2 already done, 2 ran") != std::string::npos);
    const auto c2 = run_fake({"run", spec.string(), "-o", out.string(), "--shard", "2/3"},
                             fake_env(), dir.path / "log");
    CHECK(c2.output.find("4 runs planned, 2 already done, 2 ran") != std::string::npos);
  }
  SUBCASE("merging into an existing file keeps its runs, and ok wins over failed") {
    // A second output holding only shard 0, with shard 0's runs stored as failed by a
    // trainer that throws: merging the real shard 0 in must turn them ok, and merging the
    // failed copy afterwards must not turn them back.
    const auto plan = expand_sweep(load_spec(spec.string(), {}));
    const auto partial = dir.path / "partial.h5";
    const auto broken = dir.path / "broken.h5";
    RunnerOptions o;
    o.output = broken;
    o.threads = 1;
    o.show_progress = false;
    o.shard = 0;
    o.shards = 3;
    o.trainer = [](const ExperimentConfig&, const RunObserver&, int) -> RunResult {
      throw std::runtime_error("node died");
    };
    SweepRunner(plan, o).run();
    REQUIRE(read_runs(broken).size() == 4);
    REQUIRE(
        run_fake({"merge", partial.string(), broken.string()}, {}, dir.path / "log").exit_code() ==
        0);
    for (const auto& [id, r] : read_runs(partial)) CHECK(r.status == RunStatus::failed);
    REQUIRE(run_fake({"merge", partial.string(), broken.string(), shard_path(out, {0, 3}).string(),
                      shard_path(out, {1, 3}).string(), shard_path(out, {2, 3}).string()},
                     {}, dir.path / "log")
                .exit_code() == 0);
    require_same_results(single, partial);
    // The failed copies merged in once more: the ok runs stay ok; a run ok nowhere takes
    // the later copy (here the failed one).
    REQUIRE(
        run_fake({"merge", partial.string(), broken.string()}, {}, dir.path / "log").exit_code() ==
        0);
    const auto good = read_runs(single);
    const auto broken_runs = read_runs(broken);
    for (const auto& [id, r] : read_runs(partial)) {
      CAPTURE(id);
      if (good.at(id).status == RunStatus::ok)
        CHECK(r.status == RunStatus::ok);
      else
        CHECK(r.status == (broken_runs.count(id) ? RunStatus::failed : good.at(id).status));
    }
  }
}

TEST_CASE("merge refuses files of different specs, naming them, and leaves OUT untouched") {
  TempDir dir("shard");
  const auto a = dir.path / "a.yaml";
  const auto b = dir.path / "b.yaml";
  std::ofstream(a) << kFakeSpec;
  std::ofstream(b) << std::string(kFakeSpec).replace(6, 10, "other-spec");
  const auto out = dir.path / "out.h5";
  const auto fa = dir.path / "a.shard-0-of-1.h5";
  const auto fb = dir.path / "b.h5";
  run_fake({"run", a.string(), "-o", out.string()}, fake_env(), dir.path / "log");
  run_fake({"run", a.string(), "-o", fa.string()}, fake_env(), dir.path / "log");
  run_fake({"run", b.string(), "-o", fb.string()}, fake_env(), dir.path / "log");
  REQUIRE(read_header(fb).spec_name == "other-spec");
  const auto before = std::filesystem::last_write_time(out);
  const auto size = std::filesystem::file_size(out);
  const auto c = run_fake({"merge", out.string(), fa.string(), fb.string()}, {}, dir.path / "log");
  CHECK(c.exit_code() != 0);
  CAPTURE(c.output);
  CHECK(c.output.find(fb.string()) != std::string::npos);
  CHECK(c.output.find("different specs") != std::string::npos);
  CHECK(std::filesystem::last_write_time(out) == before);
  CHECK(std::filesystem::file_size(out) == size);
  CHECK(!std::filesystem::exists(out.string() + ".tmp"));
  {
    // While a `wuxing run` writes OUT (holding its lock), merging into it is refused.
    OutputLock held(out);
    const auto locked = run_fake({"merge", out.string(), fa.string()}, {}, dir.path / "log");
    CHECK(locked.exit_code() != 0);
    CHECK(locked.output.find("being written by another process") != std::string::npos);
    CHECK(std::filesystem::file_size(out) == size);
  }
  CHECK(run_fake({"merge", out.string(), fa.string()}, {}, dir.path / "log").exit_code() == 0);
  // A shard run into an output of another spec is refused before it runs.
  const auto s = run_fake({"run", b.string(), "-o", out.string(), "--shard", "0/2"}, fake_env(),
                          dir.path / "log");
  CHECK(s.exit_code() != 0);
  CHECK(s.output.find("other-spec") != std::string::npos);
  CHECK(!std::filesystem::exists(shard_path(out, {0, 2})));
}

TEST_CASE("a shard SIGKILLed mid-way and re-run completes without redoing finished runs") {
  TempDir dir("shard");
  const auto spec =
      dir.write("s.yaml",
                "name: shard-kill\ndata: {dataset: synthetic, train_size: 100, "
                "test_size: 20}\ntraining: {epochs: 2}\n"
                "sweep: {grid: {model.K3: [0.2, 0.3, 0.4, 0.5]}, seeds: {repeat: 4}}\n");
  const auto out = dir.path / "out.h5";
  const auto single = dir.path / "single.h5";
  REQUIRE(run_fake({"run", spec.string(), "-o", single.string()}, fake_env(), dir.path / "log")
              .exit_code() == 0);
  const auto shard1 = shard_path(out, {1, 2});
  // 8 runs of 2 x 40 ms on one thread: killed once 4 of them are reported finished.
  const std::vector<std::string> args = {"run",     spec.string(), "-o",        out.string(),
                                         "--shard", "1/2",         "--threads", "1"};
  {
    test_support::WatchedChild killed(test_support::fake_argv(args), fake_env(40));
    REQUIRE(killed.wait_for(" ok: test acc", 4));
    killed.signal(SIGKILL);
    REQUIRE(WIFSIGNALED(killed.wait()));
  }
  std::map<std::string, std::string> before;  // id -> start time of runs finished before
  for (const auto& f : results_and_parts(shard1))
    for (const auto& [id, r] : read_runs(f)) before[id] = r.start_time;
  CHECK(before.size() >= 1);
  CHECK(before.size() < 8);
  const auto resumed = run_fake(args, fake_env(40), dir.path / "log");
  CAPTURE(resumed.output);
  REQUIRE(resumed.exit_code() == 0);
  CHECK(resumed.output.find(std::to_string(before.size()) + " already done") != std::string::npos);
  const auto after = read_runs(shard1);
  CHECK(after.size() == 8);
  for (const auto& [id, start] : before) CHECK(after.at(id).start_time == start);
  REQUIRE(run_fake({"run", spec.string(), "-o", out.string(), "--shard", "0/2"}, fake_env(),
                   dir.path / "log")
              .exit_code() == 0);
  REQUIRE(run_fake({"merge", out.string(), shard_path(out, {0, 2}).string(), shard1.string()}, {},
                   dir.path / "log")
              .exit_code() == 0);
  require_same_results(single, out);
}

TEST_CASE("real training (synthetic data): merged shards equal the single-process metrics") {
  TempDir dir("shard");
  const auto spec = dir.write("s.yaml", test_support::real_training_spec("shard-real"));
  const auto single = dir.path / "single.h5";
  const auto out = dir.path / "out.h5";
  REQUIRE(
      run_fake({"run", spec.string(), "-o", single.string()}, {}, dir.path / "log").exit_code() ==
      0);
  for (int i = 0; i < 2; ++i)
    REQUIRE(run_fake({"run", spec.string(), "-o", out.string(), "--shard", std::to_string(i) + "/2",
                      "--threads", "1"},
                     {}, dir.path / "log")
                .exit_code() == 0);
  REQUIRE(run_fake({"merge", out.string(), shard_path(out, {0, 2}).string(),
                    shard_path(out, {1, 2}).string()},
                   {}, dir.path / "log")
              .exit_code() == 0);
  require_same_results(single, out);
  // Real numbers, not placeholders: accuracies in [0, 1], and not all the same.
  const auto acc = read_index(out).numeric.at("final_test_accuracy");
  for (double a : acc) CHECK((a >= 0.0 && a <= 1.0));
}
