// Sweep expansion: counts for each kind and their combinations, seeded random
// sampling, errors, stable run IDs, sharding.
#include <doctest/doctest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "framework/pipeline/sweep.hpp"

using namespace wuxing;

namespace {

SweepPlan plan_of(const std::string& text, const std::vector<std::string>& overrides = {},
                  bool yes = false) {
  return expand_sweep(load_spec_text(text, "sweep.yaml", overrides), yes);
}

std::vector<SpecError> errors_of(const std::string& text) {
  try {
    plan_of(text);
  } catch (const SpecErrors& e) {
    return e.errors();
  }
  return {};
}

bool has_error(const std::vector<SpecError>& errors, const std::string& key,
               const std::string& fragment) {
  for (const auto& e : errors)
    if (e.key == key && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

std::string column(const PlannedRun& r, const std::string& key) {
  for (const auto& s : r.swept)
    if (s.key == key) return s.text;
  return "<none>";
}

const std::string kBase = "name: s\nmodel: {K1: 1.0}\n";

}  // namespace

TEST_CASE("no sweep: one run with the base config") {
  auto plan = plan_of(kBase);
  REQUIRE(plan.runs.size() == 1);
  CHECK(plan.runs[0].yaml == plan.base_yaml);
  CHECK(plan.runs[0].id == run_id(plan.runs[0].config));
  REQUIRE(plan.columns.size() == 1);
  CHECK(plan.columns[0].key == "seed");
}

TEST_CASE("grid: cartesian product, last key fastest") {
  auto plan = plan_of(kBase +
                      "sweep:\n  grid:\n    model.K3: [0.2, 0.4]\n    training.rule: [connection, "
                      "bptt, pid]\n");
  REQUIRE(plan.runs.size() == 6);
  CHECK(plan.runs[0].config.model.K3 == 0.2);
  CHECK(plan.runs[0].config.training.rule == "connection");
  CHECK(plan.runs[1].config.training.rule == "bptt");
  CHECK(plan.runs[3].config.model.K3 == 0.4);
  CHECK(column(plan.runs[4], "training.rule") == "bptt");
  CHECK(column(plan.runs[4], "model.K3") == "0.4");
  REQUIRE(plan.columns.size() == 3);
  CHECK(plan.columns[0].numeric);
  CHECK_FALSE(plan.columns[1].numeric);
  std::set<std::string> ids;
  for (const auto& r : plan.runs) ids.insert(r.id);
  CHECK(ids.size() == 6);
}

TEST_CASE("seeds: a list, or repeat N = base seed + i") {
  auto plan = plan_of(kBase + "sweep: {seeds: [5, 7]}\n");
  REQUIRE(plan.runs.size() == 2);
  CHECK(plan.runs[0].config.seed == 5);
  CHECK(plan.runs[1].config.seed == 7);
  plan = plan_of(kBase + "seed: 10\nsweep: {seeds: {repeat: 3}}\n");
  REQUIRE(plan.runs.size() == 3);
  CHECK(plan.runs[0].config.seed == 10);
  CHECK(plan.runs[2].config.seed == 12);
  CHECK(column(plan.runs[2], "seed") == "12");
  CHECK(has_error(errors_of(kBase + "sweep: {seeds: []}\n"), "sweep.seeds", "empty"));
  CHECK(has_error(errors_of(kBase + "sweep: {seeds: {repeat: 0}}\n"), "sweep.seeds.repeat",
                  "positive"));
  CHECK(has_error(errors_of(kBase + "sweep: {seeds: [1, 1]}\n"), "sweep.seeds", "twice"));
}

TEST_CASE("zip: lockstep, equal lengths or an error") {
  auto plan = plan_of(
      kBase + "sweep:\n  zip:\n    model.K1: [1.0, 2.0, 3.0]\n    model.K3: [0.5, 1.0, 1.5]\n");
  REQUIRE(plan.runs.size() == 3);
  CHECK(plan.runs[2].config.model.K1 == 3.0);
  CHECK(plan.runs[2].config.model.K3 == 1.5);
  auto errors =
      errors_of(kBase + "sweep:\n  zip:\n    model.K1: [1.0, 2.0]\n    model.K3: [0.5]\n");
  CHECK(has_error(errors, "sweep.zip.model.K3", "equal lengths"));
  REQUIRE_FALSE(errors.empty());
  CHECK(errors[0].line == 6);  // the second list, in the file's own line numbering
}

TEST_CASE("ablations: named variants, the name is a column") {
  auto plan = plan_of(kBase +
                      "sweep:\n  ablations:\n    baseline:\n    wide: {network.hidden: [200]}\n"
                      "    slow: {training.learning_rate: 0.001, network.hidden: [50]}\n");
  REQUIRE(plan.runs.size() == 3);
  CHECK(plan.runs[0].ablation == "baseline");
  CHECK(plan.runs[0].config.network.hidden.empty());
  CHECK(plan.runs[1].config.network.hidden == std::vector<int>{200});
  CHECK(plan.runs[2].config.training.learning_rate == 0.001);
  CHECK(column(plan.runs[1], "ablation") == "wide");
  bool has_column = false;
  for (const auto& c : plan.columns) has_column |= c.key == "ablation";
  CHECK(has_column);
}

TEST_CASE("random: seeded, within bounds, of the right type") {
  const std::string text = kBase +
                           "sweep:\n  random:\n    samples: 50\n    seed: 3\n    params:\n"
                           "      training.learning_rate: {log_uniform: [0.001, 0.1]}\n"
                           "      model.K3: {uniform: [0.2, 0.8]}\n"
                           "      training.batch_size: {int: [10, 12]}\n"
                           "      training.optimizer: {choice: [sgd, adam]}\n";
  auto a = plan_of(text);
  auto b = plan_of(text);
  REQUIRE(a.runs.size() == 50);
  std::set<int> batch_sizes;
  std::set<OptimizerKind> optimizers;
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    const auto& c = a.runs[i].config;
    CHECK(a.runs[i].id == b.runs[i].id);
    CHECK(c.training.learning_rate >= 0.001);
    CHECK(c.training.learning_rate <= 0.1);
    CHECK(c.model.K3 >= 0.2);
    CHECK(c.model.K3 <= 0.8);
    batch_sizes.insert(c.training.batch_size);
    optimizers.insert(c.training.optimizer);
  }
  CHECK(batch_sizes == std::set<int>{10, 11, 12});
  CHECK(optimizers == std::set<OptimizerKind>{OptimizerKind::sgd, OptimizerKind::adam});
  // log_uniform: about half the samples below the geometric mean 0.01.
  int below = 0;
  for (const auto& r : a.runs) below += r.config.training.learning_rate < 0.01;
  CHECK(below > 10);
  CHECK(below < 40);
  // Another seed gives other samples.
  auto other = plan_of(text, {"sweep.random.seed=4"});
  CHECK(other.runs[0].id != a.runs[0].id);
  CHECK(
      has_error(errors_of(kBase + "sweep: {random: {samples: 0, params: {model.K3: {uniform: [0.1, "
                                  "0.2]}}}}\n"),
                "sweep.random.samples", "positive"));
  CHECK(
      has_error(errors_of(kBase + "sweep: {random: {samples: 2, params: {model.K3: {normal: [0.1, "
                                  "0.2]}}}}\n"),
                "sweep.random.params.model.K3.normal", "unknown distribution"));
  CHECK(has_error(errors_of(kBase + "sweep: {random: {samples: 2, params: {model.K3: "
                                    "{log_uniform: [0, 0.2]}}}}\n"),
                  "sweep.random.params.model.K3.log_uniform", "0 < lo"));
}

TEST_CASE("combination: (grid x random x zip x ablations) x seeds") {
  auto plan =
      plan_of(kBase +
              "sweep:\n"
              "  seeds: [0, 1, 2]\n"
              "  grid: {model.K3: [0.2, 0.4]}\n"
              "  random: {samples: 2, params: {training.learning_rate: {uniform: [0.01, 0.1]}}}\n"
              "  zip: {model.K2: [0.5, 1.0, 2.0], data.train_size: [100, 200, 300]}\n"
              "  ablations: {a: {network.hidden: [10]}, b: {network.hidden: [20]}}\n");
  CHECK(plan.runs.size() == 2 * 2 * 3 * 2 * 3);
  CHECK(count_runs(load_spec_text(
            kBase + "sweep: {grid: {model.K3: [0.2, 0.4]}, seeds: [0, 1, 2]}\n", "s.yaml")) == 6);
  // Seeds innermost.
  CHECK(plan.runs[0].config.seed == 0);
  CHECK(plan.runs[1].config.seed == 1);
  CHECK(plan.runs[0].config.model.K3 == plan.runs[1].config.model.K3);
  std::set<std::string> ids;
  for (const auto& r : plan.runs) ids.insert(r.id);
  CHECK(ids.size() == plan.runs.size());
  std::vector<std::string> keys;
  for (const auto& c : plan.columns) keys.push_back(c.key);
  CHECK(keys == std::vector<std::string>{"model.K3", "training.learning_rate", "model.K2",
                                         "data.train_size", "ablation", "seed"});
}

TEST_CASE("empty, huge, conflicting and invalid sweeps are errors") {
  auto errors = errors_of(kBase + "sweep:\n  grid:\n    model.K3: []\n");
  CHECK(has_error(errors, "sweep.grid.model.K3", "no runs"));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 5);
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {}}\n"), "sweep.grid", "empty"));
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {model.K33: [1]}}\n"), "sweep.grid.model.K33",
                  "did you mean 'model.K3'"));
  CHECK(has_error(errors_of(kBase + "sweep: {gird: {model.K3: [0.1]}}\n"), "sweep.gird",
                  "unknown sweep kind"));
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {model.K3: [0.1]}, zip: {model.K3: [0.2]}}\n"),
                  "sweep.zip.model.K3", "one kind only"));
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {seed: [1, 2]}}\n"), "sweep.grid.seed",
                  "sweep.seeds"));
  // A swept value that breaks a rule is reported at the value.
  errors = errors_of(kBase + "sweep:\n  grid:\n    model.K3: [0.5, 1.5]\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].key == "model.K3");
  CHECK(errors[0].line == 5);
  CHECK(errors[0].column == 21);  // the 1.5
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {training.epochs: [1, two]}}\n"),
                  "training.epochs", "expected an integer"));
  CHECK(has_error(errors_of(kBase + "sweep: {grid: {model.K3: [0.2, 0.2]}}\n"), "sweep",
                  "identical configs"));
  // More than a million runs need confirmation (counted without expanding).
  const std::string huge = kBase +
                           "sweep:\n  grid:\n    data.train_size: {r}\n    data.test_size: {r}\n"
                           "    training.batch_size: {r}\n    training.epochs: {r}\n";
  std::string values = "[";
  for (int i = 1; i <= 32; ++i) values += std::to_string(i) + (i < 32 ? ", " : "]");
  std::string text = huge;
  for (std::size_t p; (p = text.find("{r}")) != std::string::npos;) text.replace(p, 3, values);
  Spec spec = load_spec_text(text, "huge.yaml");
  CHECK(count_runs(spec) == 32ull * 32 * 32 * 32);
  try {
    expand_sweep(spec, false);
    FAIL("expected an error");
  } catch (const SpecErrors& e) {
    CHECK(e.errors()[0].message.find("--yes") != std::string::npos);
    CHECK(e.errors()[0].message.find("1048576") != std::string::npos);
  }
}

TEST_CASE("run IDs are stable and the fingerprint follows the sweep") {
  const std::string text = kBase + "sweep: {grid: {model.K3: [0.2, 0.4]}, seeds: [0, 1]}\n";
  auto a = plan_of(text);
  auto b = plan_of(text);
  REQUIRE(a.runs.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) CHECK(a.runs[i].id == b.runs[i].id);
  CHECK(a.fingerprint == b.fingerprint);
  // The same run reached without a sweep has the same ID.
  auto single = plan_of("name: s\nmodel: {K1: 1.0, K3: 0.4}\nseed: 1\n");
  CHECK(single.runs[0].id == a.runs[3].id);
  // Runtime-only threads changes neither IDs nor the fingerprint.
  auto threaded = plan_of(text, {"threads=3"});
  CHECK(threaded.fingerprint == a.fingerprint);
  CHECK(threaded.runs[0].id == a.runs[0].id);
  // Another sweep or base is another fingerprint.
  CHECK(plan_of(text, {"sweep.seeds=[0, 1, 2]"}).fingerprint != a.fingerprint);
  CHECK(plan_of(text, {"training.epochs=2"}).fingerprint != a.fingerprint);
}

TEST_CASE("owned_runs splits a plan into disjoint shards") {
  auto plan = plan_of(kBase + "sweep: {seeds: {repeat: 7}}\n");
  CHECK(owned_runs(plan, 0, 1).size() == 7);
  auto s0 = owned_runs(plan, 0, 3);
  auto s1 = owned_runs(plan, 1, 3);
  auto s2 = owned_runs(plan, 2, 3);
  CHECK(s0 == std::vector<std::size_t>{0, 3, 6});
  CHECK(s1 == std::vector<std::size_t>{1, 4});
  CHECK(s2 == std::vector<std::size_t>{2, 5});
  CHECK_THROWS_AS(owned_runs(plan, 3, 3), std::invalid_argument);
}
