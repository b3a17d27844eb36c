// The HDF5 results store: round trip, refusing another spec's file, corrupt files,
// folding leftover parts.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>

#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/fake/fake_trainer.hpp"
#include "tests/support.hpp"

using namespace wuxing;
using namespace wuxing::test_support;

namespace {

SweepPlan small_plan(const std::vector<std::string>& overrides = {}) {
  return expand_sweep(load_spec_text(
      "name: store-test\ndescription: a test\ndata: {dataset: synthetic, train_size: 100, "
      "test_size: 20}\n"
      "training: {epochs: 3}\nrecord: {probe_samples: [0, 3], probe_layers: [0], stability: true}\n"
      "sweep: {grid: {model.K3: [0.2, 0.4], training.rule: [connection, bptt]}, seeds: [0, 1]}\n",
      "store-test.yaml", overrides));
}

RunRecord record_for(const PlannedRun& run) {
  RunRecord rec = record_skeleton(run);
  rec.result = testing::fake_train_experiment(run.config, {}, 1, 0);
  return rec;
}

// A store on `out` for `plan` that holds the records of `runs`, assembled.
std::unique_ptr<ResultsStore> store_with(const std::filesystem::path& out, const SweepPlan& plan,
                                         std::initializer_list<std::size_t> runs) {
  auto store = std::make_unique<ResultsStore>(out, make_store_header(plan));
  for (std::size_t i : runs) store->add(record_for(plan.runs[i]));
  store->assemble();
  return store;
}

}  // namespace

TEST_CASE("store round trip: index, metrics, config text, provenance") {
  TempDir dir("store");
  const auto out = dir.path / "r.h5";
  auto plan = small_plan();
  REQUIRE(plan.runs.size() == 8);
  {
    ResultsStore store(out, make_store_header(plan));
    CHECK(store.runs().empty());
    // Out of plan order on purpose: /index must come out in plan order anyway.
    for (std::size_t i : {5, 0, 7, 2}) store.add(record_for(plan.runs[i]));
    store.assemble();
  }
  CHECK_FALSE(std::filesystem::exists(dir.path / "r.h5.parts"));
  CHECK_FALSE(std::filesystem::exists(dir.path / "r.h5.tmp"));
  auto header = read_header(out);
  CHECK(header.spec_name == "store-test");
  CHECK(header.fingerprint == plan.fingerprint);
  CHECK(header.description == "a test");
  CHECK(header.base_yaml == plan.base_yaml);
  REQUIRE(header.columns.size() == 3);
  CHECK(header.columns[1].key == "training.rule");
  CHECK_FALSE(header.columns[1].numeric);

  auto index = read_index(out);
  CHECK(index.rows == 4);
  CHECK(index.columns == std::vector<std::string>{"run_id", "status", "model.K3", "training.rule",
                                                  "seed", "final_test_accuracy",
                                                  "final_train_accuracy", "epochs_done",
                                                  "wall_seconds", "start_time", "reason"});
  CHECK(index.text["run_id"] == std::vector<std::string>{plan.runs[0].id, plan.runs[2].id,
                                                         plan.runs[5].id, plan.runs[7].id});
  CHECK(index.numeric["model.K3"] == std::vector<double>{0.2, 0.2, 0.4, 0.4});
  CHECK(index.text["training.rule"] ==
        std::vector<std::string>{"connection", "bptt", "connection", "bptt"});
  CHECK(index.numeric["seed"] == std::vector<double>{0, 0, 1, 1});
  CHECK(index.numeric["epochs_done"] == std::vector<double>{3, 3, 3, 3});

  const auto& run = plan.runs[5];
  auto expected = record_for(run).result;
  auto acc = read_metric(out, run.id, "test_accuracy");
  REQUIRE(acc.size() == 3);
  for (int e = 0; e < 3; ++e) CHECK(acc[e] == expected.epochs[e].test_accuracy);
  CHECK(index.numeric["final_test_accuracy"][2] == expected.epochs.back().test_accuracy);
  CHECK(read_metric(out, run.id, "epoch") == std::vector<double>{1, 2, 3});
  CHECK(read_metric(out, run.id, "unsettled_samples")[0] ==
        static_cast<double>(expected.epochs[0].trouble.unsettled_samples));
  const std::string yaml = read_run_attribute(out, run.id, "config_yaml");
  CHECK(yaml == run.yaml);
  CHECK(canonical_yaml(config_from_yaml(yaml)) == run.yaml);
  CHECK(read_run_attribute(out, run.id, "status") == "ok");
  CHECK(read_run_attribute(out, run.id, "git_commit").size() >= 7);
  CHECK(read_run_attribute(out, run.id, "version_hdf5").rfind("1.", 0) == 0);
  CHECK_FALSE(read_run_attribute(out, run.id, "version_yaml-cpp").empty());
  CHECK_FALSE(read_run_attribute(out, run.id, "host").empty());
  CHECK_THROWS_AS(read_metric(out, "0000000000000000", "test_accuracy"), StoreError);

  // Reopening sees the stored runs.
  ResultsStore again(out, make_store_header(plan));
  CHECK(again.runs().size() == 4);
  CHECK(again.runs().at(run.id).status == RunStatus::ok);
  CHECK(again.runs().at(run.id).plan_index == 5);
}

TEST_CASE("re-assembly of more runs than one copy batch keeps every run") {
  // merge_results reopens its files every 64 copied runs (to bound HDF5's memory): 150 runs
  // in two re-assemblies (90 from parts, then 60 more on top of the main file) must all
  // come through with their metrics.
  TempDir dir("store");
  const auto out = dir.path / "r.h5";
  auto plan = small_plan({"sweep.seeds={repeat: 38}"});
  REQUIRE(plan.runs.size() == 152);
  {
    ResultsStore store(out, make_store_header(plan));
    for (std::size_t i = 0; i < 90; ++i) store.add(record_for(plan.runs[i]));
    store.assemble();
    for (std::size_t i = 90; i < 150; ++i) store.add(record_for(plan.runs[i]));
    store.assemble();
  }
  const auto index = read_index(out);
  CHECK(index.rows == 150);
  const auto runs = read_runs(out);
  CHECK(runs.size() == 150);
  for (std::size_t i : {0, 63, 64, 89, 90, 127, 128, 149}) {
    CAPTURE(i);
    const auto expected = record_for(plan.runs[i]).result;
    CHECK(read_metric(out, plan.runs[i].id, "test_accuracy").back() ==
          expected.epochs.back().test_accuracy);
  }
}

TEST_CASE("a file written by a different spec is refused") {
  TempDir dir("store");
  const auto out = dir.path / "r.h5";
  auto plan = small_plan();
  store_with(out, plan, {0});  // closed again at once
  auto other = small_plan({"training.epochs=2"});
  REQUIRE(other.fingerprint != plan.fingerprint);
  try {
    ResultsStore store(out, make_store_header(other));
    FAIL("expected a refusal");
  } catch (const StoreError& e) {
    const std::string m = e.what();
    CHECK(m.find("was written by spec 'store-test'") != std::string::npos);
    CHECK(m.find(plan.fingerprint) != std::string::npos);
    CHECK(m.find("-o") != std::string::npos);
  }
  // A leftover part of another spec is refused as well.
  {
    ResultsStore store(dir.path / "p.h5", make_store_header(plan));
    store.add(record_for(plan.runs[1]));  // part only, never assembled
  }
  std::filesystem::remove(dir.path / "p.h5");
  CHECK_THROWS_AS(ResultsStore(dir.path / "p.h5", make_store_header(other)), StoreError);
  // The file itself is untouched.
  CHECK(read_runs(out).size() == 1);
}

TEST_CASE("a corrupt or foreign file gives a clear error") {
  TempDir dir("store");
  auto plan = small_plan();
  const auto garbage = dir.write("garbage.h5", "this is not an HDF5 file at all");
  try {
    ResultsStore store(garbage, make_store_header(plan));
    FAIL("expected an error");
  } catch (const StoreError& e) {
    const std::string m = e.what();
    CHECK(m.find("garbage.h5") != std::string::npos);
    CHECK(m.find("not a readable HDF5 file") != std::string::npos);
  }
  // A real results file cut in half.
  const auto good = dir.path / "good.h5";
  {
    ResultsStore store(good, make_store_header(plan));
    for (const auto& r : plan.runs) store.add(record_for(r));
    store.assemble();
  }
  const auto size = std::filesystem::file_size(good);
  const auto cut = dir.path / "cut.h5";
  std::filesystem::copy_file(good, cut);
  std::filesystem::resize_file(cut, size / 2);
  bool refused = false;
  try {
    ResultsStore store(cut, make_store_header(plan));
  } catch (const StoreError& e) {
    refused = true;
    CHECK(std::string(e.what()).find("cut.h5") != std::string::npos);
  }
  CHECK(refused);
  CHECK_THROWS_AS(read_index(cut), StoreError);
  CHECK_THROWS_AS(read_header(dir.path / "missing.h5"), StoreError);
}

TEST_CASE("leftover parts are folded in on the next start; a stale temp part is dropped") {
  TempDir dir("store");
  const auto out = dir.path / "r.h5";
  auto plan = small_plan();
  {
    const auto store = store_with(out, plan, {0});
    store->add(record_for(plan.runs[1]));  // as if killed before the next assembly
    store->add(record_for(plan.runs[2]));
  }
  CHECK(std::filesystem::exists(dir.path / "r.h5.parts" / (plan.runs[1].id + ".h5")));
  CHECK(read_runs(out).size() == 1);
  std::ofstream(dir.path / "r.h5.parts" / "deadbeefdeadbeef.h5.tmp") << "half a file";
  {
    ResultsStore store(out, make_store_header(plan));
    CHECK(store.runs().size() == 3);
  }
  CHECK(read_runs(out).size() == 3);
  CHECK(read_index(out).rows == 3);
  CHECK_FALSE(std::filesystem::exists(dir.path / "r.h5.parts"));
}

TEST_CASE("a re-run replaces the stored run; merge_results merges shards") {
  TempDir dir("store");
  auto plan = small_plan();
  const auto out = dir.path / "r.h5";
  {
    ResultsStore store(out, make_store_header(plan));
    auto failed = record_for(plan.runs[0]);
    failed.result.status = "failed";
    failed.result.reason = "boom";
    store.add(failed);
    store.assemble();
    CHECK(read_runs(out).at(plan.runs[0].id).status == RunStatus::failed);
    store.add(record_for(plan.runs[0]));
    store.assemble();
  }
  CHECK(read_runs(out).at(plan.runs[0].id).status == RunStatus::ok);
  CHECK(read_index(out).rows == 1);

  // Two shards written separately, merged into one file.
  const auto a = dir.path / "a.h5";
  const auto b = dir.path / "b.h5";
  {
    ResultsStore sa(a, make_store_header(plan));
    ResultsStore sb(b, make_store_header(plan));
    for (std::size_t i : owned_runs(plan, 0, 2)) sa.add(record_for(plan.runs[i]));
    for (std::size_t i : owned_runs(plan, 1, 2)) sb.add(record_for(plan.runs[i]));
    sa.assemble();
    sb.assemble();
  }
  merge_results(dir.path / "merged.h5", make_store_header(plan), {a, b});
  auto index = read_index(dir.path / "merged.h5");
  REQUIRE(index.rows == plan.runs.size());
  for (std::size_t i = 0; i < plan.runs.size(); ++i)
    CHECK(index.text["run_id"][i] == plan.runs[i].id);
}

TEST_CASE("two stores on one file: the second is refused while the first lives") {
  TempDir dir("store");
  const auto out = dir.path / "r.h5";
  auto plan = small_plan();
  {
    ResultsStore first(out, make_store_header(plan));
    try {
      ResultsStore second(out, make_store_header(plan));
      FAIL("expected a refusal");
    } catch (const StoreError& e) {
      CHECK(std::string(e.what()).find("another process") != std::string::npos);
    }
  }
  CHECK_NOTHROW(ResultsStore(out, make_store_header(plan)));  // released
}

TEST_CASE("run status: names round-trip, an unknown name is refused") {
  for (RunStatus s :
       {RunStatus::ok, RunStatus::failed, RunStatus::numerical_trouble, RunStatus::pruned}) {
    const auto back = parse_run_status(s.name());
    REQUIRE(back.has_value());
    CHECK(*back == s);
  }
  CHECK(RunStatus("numerical_trouble") == RunStatus::numerical_trouble);
  // Compared with a name (as tests do): a misspelt one throws, never just compares unequal.
  const RunStatus ok = RunStatus::ok;
  CHECK(ok == "ok");
  CHECK(ok != "failed");
  CHECK_THROWS_AS((void)(ok == "okk"), std::invalid_argument);
  CHECK_FALSE(parse_run_status("OK").has_value());
  CHECK_FALSE(parse_run_status("").has_value());
}
