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
#include <utility>
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

// A sweep spec in its own directory, run by build/wuxing_fake directly or under mpirun.
struct MpiSweep {
  TempDir dir{"mpi"};
  std::filesystem::path spec, single = dir.path / "single.h5", out = dir.path / "out.h5";
  std::map<std::string, std::string> env;
  MpiSweep(const std::string& text, std::map<std::string, std::string> env_)
      : spec(dir.write("s.yaml", text)), env(std::move(env_)) {}
  // `run` of the spec writing `to` with `extra` arguments; ranks as launch's.
  Child run(int ranks, const std::filesystem::path& to,
            const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", spec.string(), "-o", to.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return launch(ranks, args, env, dir.path / "log");
  }
};

const std::map<std::string, std::string> kFakeEnv = {{"WUXING_FAKE_TRAINER", "5"}};

}  // namespace

TEST_CASE("mpirun -np 2 gives the same /index and metrics as one process (fake trainer)") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  MpiSweep s(kFakeSpec, kFakeEnv);
  REQUIRE(s.run(0, s.single).exit_code() == 0);
  for (const char* schedule : {"static", "dynamic"}) {
    CAPTURE(schedule);
    const auto out = s.dir.path / (std::string(schedule) + ".h5");
    const auto c = s.run(2, out, {"--mpi-schedule", schedule});
    CAPTURE(c.output);
    REQUIRE(c.exit_code() == 0);
    CHECK(c.output.find("MPI: 2 ranks") != std::string::npos);
    CHECK(c.output.find("12 runs planned, 0 already done, 12 ran (12 ok") != std::string::npos);
    require_same_results(s.single, out);
    // The rank files are gone once merged.
    CHECK(!std::filesystem::exists(rank_path(out, 0, 2)));
    CHECK(!std::filesystem::exists(rank_path(out, 1, 2)));
    // Running again does nothing.
    const auto again = s.run(2, out);
    CHECK(again.output.find("12 already done, 0 ran") != std::string::npos);
  }
}

TEST_CASE("mpirun: a rank file left by a killed MPI run is merged in and not redone") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  MpiSweep s(kFakeSpec, kFakeEnv);
  REQUIRE(s.run(0, s.single).exit_code() == 0);
  // What a killed 3-rank run leaves: rank 1's file with a third of the runs.
  REQUIRE(s.run(0, s.out, {"--shard", "1/3"}).exit_code() == 0);
  const auto left = rank_path(s.out, 1, 3);
  std::filesystem::rename(shard_path(s.out, {1, 3}), left);
  std::map<std::string, std::string> before;
  for (const auto& [id, r] : read_runs(left)) before[id] = r.start_time;
  REQUIRE(before.size() == 4);
  const auto c = s.run(2, s.out);
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("12 runs planned, 4 already done, 8 ran") != std::string::npos);
  CHECK(!std::filesystem::exists(left));
  require_same_results(s.single, s.out);
  const auto after = read_runs(s.out);
  for (const auto& [id, start] : before) CHECK(after.at(id).start_time == start);
}

TEST_CASE("mpirun -np 2 with real training (synthetic data) equals one process") {
  if (!have_mpirun()) {
    MESSAGE("mpirun not found: MPI test skipped");
    return;
  }
  MpiSweep s(test_support::real_training_spec("mpi-real"), {});
  REQUIRE(s.run(0, s.single).exit_code() == 0);
  const auto c = s.run(2, s.out);
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  require_same_results(s.single, s.out);
}

#else

TEST_CASE("MPI tests: this build has no MPI (reconfigure with libopenmpi-dev installed)") {
  MESSAGE(
      "built without MPI: the mpirun tests are not run; tests/test_shard.cpp checks the "
      "refusal under mpirun");
}

#endif  // WUXING_HAVE_MPI
