// `mpirun -np 2 build/wuxing run`: the ranks share the sweep and the merged file equals a
// single-process run (static and dynamic schedules, fake and real trainer), and a rank
// file left by a killed MPI run is folded in and its runs are not redone. Needs an MPI
// build and mpirun on PATH; runs as root in CI (--allow-run-as-root).
#include <doctest/doctest.h>

#ifdef WUXING_HAVE_MPI
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "framework/pipeline/shard.hpp"
#include "framework/pipeline/store.hpp"
#include "tests/support.hpp"

using namespace wuxing;

namespace {

bool have_mpirun() { return std::system("command -v mpirun >/dev/null 2>&1") == 0; }

// `ranks` == 0: build/wuxing directly; else under mpirun -np ranks.
test_support::Child launch(int ranks, const std::vector<std::string>& args,
                           std::map<std::string, std::string> env,
                           const std::filesystem::path& log) {
  // Containers often forbid the cross-memory attach Open MPI's shared memory uses.
  if (!std::getenv("OMPI_MCA_btl_vader_single_copy_mechanism"))
    env.emplace("OMPI_MCA_btl_vader_single_copy_mechanism", "none");
  std::vector<std::string> mpirun;
  if (ranks > 0)
    mpirun = {"mpirun", "-np", std::to_string(ranks), "--oversubscribe", "--allow-run-as-root"};
  return test_support::run_child(test_support::fake_argv(args, mpirun), env, log);
}

using test_support::require_same_results;

using test_support::Child;
using test_support::TempDir;

const char* kFakeSpec =
    "name: mpi-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
    "record: {probe_samples: [0], probe_layers: [0]}\n"
    "sweep: {grid: {training.epochs: [1, 3], model.K3: [0.2, 0.4, 0.6]}, seeds: {repeat: 2}}\n";

}  // namespace

TEST_CASE("mpirun -np 2 gives the same /index and metrics as one process (fake trainer)") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  TempDir dir("mpi");
  const auto spec = dir.write("s.yaml", kFakeSpec);
  const std::map<std::string, std::string> env = {{"WUXING_FAKE_TRAINER", "5"}};
  const auto single = dir.path / "single.h5";
  REQUIRE(
      launch(0, {"run", spec.string(), "-o", single.string()}, env, dir.path / "log").exit_code() ==
      0);
  for (const char* schedule : {"static", "dynamic"}) {
    CAPTURE(schedule);
    const auto out = dir.path / (std::string(schedule) + ".h5");
    const auto c = launch(2, {"run", spec.string(), "-o", out.string(), "--mpi-schedule", schedule},
                          env, dir.path / "log");
    CAPTURE(c.output);
    REQUIRE(c.exit_code() == 0);
    CHECK(c.output.find("MPI: 2 ranks") != std::string::npos);
    CHECK(c.output.find("12 runs planned, 0 already done, 12 ran (12 ok") != std::string::npos);
    require_same_results(single, out);
    // The rank files are gone once merged.
    CHECK(!std::filesystem::exists(rank_path(out, 0, 2)));
    CHECK(!std::filesystem::exists(rank_path(out, 1, 2)));
    // Running again does nothing.
    const auto again = launch(2, {"run", spec.string(), "-o", out.string()}, env, dir.path / "log");
    CHECK(again.output.find("12 already done, 0 ran") != std::string::npos);
  }
}

TEST_CASE("mpirun: a rank file left by a killed MPI run is merged in and not redone") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  TempDir dir("mpi");
  const auto spec = dir.write("s.yaml", kFakeSpec);
  const std::map<std::string, std::string> env = {{"WUXING_FAKE_TRAINER", "5"}};
  const auto single = dir.path / "single.h5";
  const auto out = dir.path / "out.h5";
  REQUIRE(
      launch(0, {"run", spec.string(), "-o", single.string()}, env, dir.path / "log").exit_code() ==
      0);
  // What a killed 3-rank run leaves: rank 1's file with a third of the runs.
  REQUIRE(
      launch(0, {"run", spec.string(), "-o", out.string(), "--shard", "1/3"}, env, dir.path / "log")
          .exit_code() == 0);
  const auto left = rank_path(out, 1, 3);
  std::filesystem::rename(shard_path(out, {1, 3}), left);
  std::map<std::string, std::string> before;
  for (const auto& [id, r] : read_runs(left)) before[id] = r.start_time;
  REQUIRE(before.size() == 4);
  const auto c = launch(2, {"run", spec.string(), "-o", out.string()}, env, dir.path / "log");
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("12 runs planned, 4 already done, 8 ran") != std::string::npos);
  CHECK(!std::filesystem::exists(left));
  require_same_results(single, out);
  const auto after = read_runs(out);
  for (const auto& [id, start] : before) CHECK(after.at(id).start_time == start);
}

TEST_CASE("mpirun -np 2 with real training (synthetic data) equals one process") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  TempDir dir("mpi");
  const auto spec = dir.write("s.yaml", test_support::real_training_spec("mpi-real"));
  const auto single = dir.path / "single.h5";
  const auto out = dir.path / "out.h5";
  REQUIRE(
      launch(0, {"run", spec.string(), "-o", single.string()}, {}, dir.path / "log").exit_code() ==
      0);
  const auto c = launch(2, {"run", spec.string(), "-o", out.string()}, {}, dir.path / "log");
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  require_same_results(single, out);
}

#else

TEST_CASE("MPI tests: this build has no MPI (reconfigure with libopenmpi-dev installed)") {
  MESSAGE(
      "built without MPI: the mpirun tests are not run; tests/test_shard.cpp checks the "
      "refusal under mpirun");
}

#endif  // WUXING_HAVE_MPI
