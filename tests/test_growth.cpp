// Sweeps that grow: more seeds or grid values keep the stored runs and run only the new ones;
// `merge` takes files of compatible specs.
#include <doctest/doctest.h>

#include <fstream>

#include "framework/pipeline/merge.hpp"
#include "support.hpp"

namespace wuxing {

namespace {

using test_support::Child;
using test_support::TempDir;

const char* kSpec =
    "name: growth-test\ndata: {dataset: synthetic, train_size: 50, test_size: 20}\n"
    "training: {epochs: 2}\nsweep: {grid: {model.K3: [0.2, 0.4]}, seeds: [0, 1]}\n";

Child run(const std::filesystem::path& spec, const std::vector<std::string>& extra,
          const std::filesystem::path& log) {
  std::vector<std::string> args{"run", spec.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return test_support::run_fake(
      args, {{"WUXING_FAKE_TRAINER", "0"}, {"WUXING_ASSEMBLE_INTERVAL", "0"}}, log);
}

std::map<std::string, std::string> start_times(const std::filesystem::path& file) {
  const auto index = read_index(file);
  std::map<std::string, std::string> out;
  for (std::size_t i = 0; i < index.rows; ++i)
    out[index.text.at("run_id")[i]] = index.text.at("start_time")[i];
  return out;
}

}  // namespace

TEST_CASE("more seeds, then more grid values: stored runs are kept, only new ones run") {
  TempDir dir("growth");
  const auto spec = dir.write("s.yaml", kSpec);
  const auto out = dir.path / "r.h5";
  const auto log = dir.path / "log";
  REQUIRE(run(spec, {"-o", out.string()}, log).exit_code() == 0);
  const auto first = start_times(out);
  REQUIRE(first.size() == 4);

  Child c = run(spec, {"sweep.seeds=[0,1,2]", "-o", out.string()}, log);
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("6 runs planned, 4 already done, 2 ran (2 ok, 0 failed)") !=
        std::string::npos);
  auto times = start_times(out);
  CHECK(times.size() == 6);
  for (const auto& [id, t] : first) CHECK(times.at(id) == t);  // kept, not re-run

  c = run(spec, {"sweep.seeds=[0,1,2]", "sweep.grid.model.K3=[0.2,0.4,0.6]", "-o", out.string()},
          log);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("9 runs planned, 6 already done, 3 ran") != std::string::npos);

  // The grown file is the file a fresh run of the grown spec writes: same rows in the same
  // (plan) order, same metrics, same fingerprint.
  const auto fresh = dir.path / "fresh.h5";
  REQUIRE(run(spec,
              {"sweep.seeds=[0,1,2]", "sweep.grid.model.K3=[0.2,0.4,0.6]", "-o", fresh.string()},
              log)
              .exit_code() == 0);
  test_support::require_same_results(out, fresh);

  // The dry run of the grown spec sees the stored runs.
  c = run(spec,
          {"sweep.seeds=[0,1,2,3]", "sweep.grid.model.K3=[0.2,0.4,0.6]", "--dry-run", "-o",
           out.string()},
          log);
  REQUIRE(c.exit_code() == 0);
  std::size_t todo = 0;
  for (std::size_t p = 0; (p = c.output.find(" todo ", p)) != std::string::npos; ++p) ++todo;
  CHECK(todo == 3);

  // A smaller sweep runs nothing and loses nothing.
  c = run(spec, {"sweep.seeds=[0]", "sweep.grid.model.K3=[0.2,0.4,0.6]", "-o", out.string()}, log);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("3 runs planned, 3 already done, 0 ran") != std::string::npos);
  CHECK(read_index(out).rows == 9);

  // Another base config is another spec: refused, the file untouched.
  c = run(spec, {"training.epochs=3", "-o", out.string()}, log);
  CHECK(c.exit_code() != 0);
  CHECK(c.output.find("base configs or swept columns differ") != std::string::npos);
  CHECK(read_index(out).rows == 9);
}

TEST_CASE("merge accepts a file of one more seed, and the merged file serves the grown spec") {
  TempDir dir("growth");
  const auto spec = dir.write("s.yaml", kSpec);
  const auto log = dir.path / "log";
  const auto a = dir.path / "a.h5";
  const auto b = dir.path / "b.h5";
  REQUIRE(run(spec, {"-o", a.string()}, log).exit_code() == 0);
  REQUIRE(run(spec, {"sweep.seeds=[3]", "-o", b.string()}, log).exit_code() == 0);
  const auto merged = dir.path / "m.h5";
  const auto s = merge_shard_files(merged, {a, b});
  CHECK(s.runs == 6);
  CHECK(s.ok == 6);
  const auto index = read_index(merged);
  // a's runs first, in a's order, then b's.
  CHECK(index.numeric.at("seed") == std::vector<double>{0, 1, 0, 1, 3, 3});
  CHECK(read_header(merged).fingerprint != read_header(a).fingerprint);
  const Child c = run(spec, {"sweep.seeds=[0,1,3]", "-o", merged.string()}, log);
  CAPTURE(c.output);
  REQUIRE(c.exit_code() == 0);
  CHECK(c.output.find("6 runs planned, 6 already done, 0 ran") != std::string::npos);
  // Merging with a file of another base config is still refused.
  const auto other = dir.path / "o.h5";
  REQUIRE(run(spec, {"training.epochs=1", "-o", other.string()}, log).exit_code() == 0);
  CHECK_THROWS_WITH_AS(merge_shard_files(merged, {other}), doctest::Contains("different specs"),
                       StoreError);
}

}  // namespace wuxing
