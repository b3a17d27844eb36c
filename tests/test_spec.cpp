// Spec loading: positions in errors, key suggestions, validation rules, `base:`
// composition, overrides, the canonical form and run IDs.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/support.hpp"

using namespace wuxing;

namespace {

// The errors of loading `text` (none if it loads).
std::vector<SpecError> errors_of(const std::string& text,
                                 const std::vector<std::string>& overrides = {},
                                 const std::string& file = "spec.yaml") {
  try {
    load_spec_text(text, file, overrides);
  } catch (const SpecErrors& e) {
    return e.errors();
  }
  return {};
}

// The one error of loading the spec file `path` (the test stops if it loads, or reports more).
SpecError only_error_of(const std::filesystem::path& path) {
  std::vector<SpecError> errors;
  try {
    load_spec(path);
  } catch (const SpecErrors& e) {
    errors = e.errors();
  }
  REQUIRE(errors.size() == 1);
  return errors[0];
}

bool has_error(const std::vector<SpecError>& errors, const std::string& key,
               const std::string& fragment = "") {
  for (const auto& e : errors)
    if (e.key == key && e.message.find(fragment) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a syntax error names file, line and column") {
  auto errors = errors_of("name: x\nmodel:\n  K3: [0.5, 0.6\n  K1: 2\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == "spec.yaml");
  CHECK(errors[0].line >= 3);
  CHECK(errors[0].column > 0);
  CHECK(errors[0].message.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("an unknown key is an error at its position, suggesting the nearest valid key") {
  auto errors = errors_of("name: x\nmodel:\n  K33: 0.5\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 3);
  CHECK(errors[0].column == 3);
  CHECK(errors[0].key == "model.K33");
  CHECK(errors[0].message.find("did you mean 'model.K3'") != std::string::npos);
  CHECK(errors[0].to_string() == "spec.yaml:3:3: model.K33: unknown key; did you mean 'model.K3'?");

  CHECK(has_error(errors_of("training:\n  learnig_rate: 0.1\n"), "training.learnig_rate",
                  "did you mean 'training.learning_rate'"));
  // The right key in the wrong section.
  CHECK(has_error(errors_of("training:\n  h: 0.1\n"), "training.h", "did you mean 'integrator.h'"));
  CHECK(has_error(errors_of("modle:\n  K3: 0.5\n"), "modle", "did you mean 'model'"));
  // Nothing close: no suggestion.
  auto far = errors_of("zzzzzzzzzzzz: 1\n");
  REQUIRE(far.size() == 1);
  CHECK(far[0].message == "unknown key");
}

TEST_CASE("wrong types are errors naming what was expected") {
  auto errors = errors_of("training:\n  epochs: many\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].line == 2);
  CHECK(errors[0].column == 11);
  CHECK(errors[0].key == "training.epochs");
  CHECK(errors[0].message == "expected an integer, got 'many'");
  CHECK(
      has_error(errors_of("training:\n  epochs: 1.5\n"), "training.epochs", "expected an integer"));
  CHECK(has_error(errors_of("model:\n  K3: \"0.5\"\n"), "model.K3", "expected a number"));
  CHECK(has_error(errors_of("network:\n  hidden: 100\n"), "network.hidden", "list of integers"));
  CHECK(has_error(errors_of("data:\n  shuffle: maybe\n"), "data.shuffle", "true or false"));
  CHECK(has_error(errors_of("seed: -1\n"), "seed", "non-negative integer"));
  CHECK(has_error(errors_of("model:\n  K3_range: [0.1]\n"), "model.K3_range", "two numbers"));
  CHECK(has_error(errors_of("model: 3\n"), "model", "mapping"));
}

TEST_CASE("several errors are reported together") {
  auto errors = errors_of("model:\n  K33: 1\ntraining:\n  epochs: x\n  batch_size: 0\n");
  CHECK(errors.size() == 2);  // validation waits until the keys and types are right
  CHECK(has_error(errors, "model.K33"));
  CHECK(has_error(errors, "training.epochs"));
}

TEST_CASE("physically meaningless values are errors") {
  struct Case {
    std::string override_text;
    std::string key;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {"model.K1=0.5", "model.K1", "K1 must be greater than K3"},
      {"model.n=2", "model.n", "at least 3"},
      {"model.k=1", "model.k", "must differ"},
      {"model.g=0", "model.g", "(0, n)"},
      {"model.k=5", "model.k", "(0, n)"},
      {"integrator.h=0", "integrator.h", "> 0"},
      {"integrator.h=-0.1", "integrator.h", "> 0"},
      {"integrator.t_max=0", "integrator.t_max", "> 0"},
      {"integrator.tol=0", "integrator.tol", "> 0"},
      {"network.sparsity=0", "network.sparsity", "(0, 1]"},
      {"network.sparsity=1.5", "network.sparsity", "(0, 1]"},
      {"training.learning_rate=-0.1", "training.learning_rate", ">= 0"},
      {"training.weight_decay=-1e-4", "training.weight_decay", ">= 0"},
      {"training.lr_schedule=step", "training.lr_schedule", "constant, inverse_epoch, cosine"},
      {"training.batch_size=0", "training.batch_size", ">= 1"},
      {"training.epochs=0", "training.epochs", ">= 1"},
      {"network.x_min=4", "network.x_max", "below x_max"},
      {"training.rule=backprop", "training.rule",
       "mlp_backprop, connection, fixed_point, pid, bptt"},
      {"training.loss=hinge", "training.loss", "cross_entropy, mse"},
      {"training.optimizer=rmsprop", "training.optimizer", "sgd, momentum, adam"},
      {"network.connectivity=dense", "network.connectivity", "uniform_random, fixed, sparse"},
      {"integrator.method=rk45", "integrator.method", "heun"},
      {"data.train_size=0", "data.train_size", "> 0"},
      {"data.test_size=-5", "data.test_size", "> 0"},
      {"data.dataset=cifar", "data.dataset", "mnist"},
      {"model.K3_range=[0.9,0.1]", "model.K3_range", "min < max"},
      {"record.probe_samples=[20]", "record.probe_samples", "test_size"},
      {"record.probe_layers=[1]", "record.probe_layers", "layer indices"},
      {"training.trainable_K=[K4]", "training.trainable_K", "K1, K2, K3"},
  };
  const std::string base = "name: x\ndata: {test_size: 10}\n";
  CHECK(errors_of(base).empty());
  for (const auto& c : cases) {
    CAPTURE(c.override_text);
    auto errors = errors_of(base, {c.override_text});
    CHECK(has_error(errors, c.key, c.fragment));
  }
  // An error in the file names its position.
  auto errors = errors_of("name: x\nintegrator:\n  h: 0\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() == "spec.yaml:3:6: integrator.h: must be > 0, got 0");
  // An error from an override names the command line argument.
  errors = errors_of(base, {"training.epochs=2", "integrator.h=0"});
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].file == "<command line>");
  CHECK(errors[0].column == 2);
}

TEST_CASE("each equation variant checks its own K's (Equation::k_problems)") {
  const std::string base = "name: x\ndata: {test_size: 10}\n";
  // jiang-r1 needs K1 > K3 for a positive fixed point, named at the key the spec sets.
  auto errors = errors_of(base + "model: {K1: 0.5, K3: 0.5}\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].key == "model.K3");
  CHECK(errors[0].message ==
        "K1 must be greater than K3 for a positive fixed point, got K1 = 0.5, K3 = 0.5");
  CHECK(has_error(errors_of(base + "model: {K2: 0}\n"), "model.K2", "K2 must be > 0"));
  CHECK(has_error(errors_of(base + "model: {K3: -0.1}\n"), "model.K3", "K3 must be >= 0"));

  // lv-logistic's x* = K1 / (K2 + K3) is positive for any K1 > 0: K1 <= K3 is valid.
  const std::string lv = base + "model: {variant: lv-logistic, ";
  CHECK(errors_of(lv + "K1: 0.5, K3: 0.5}\n").empty());
  CHECK(errors_of(lv + "K1: 0.2, K3: 0.5}\n").empty());
  CHECK(errors_of(lv + "K1: 0.2, K3: 0.5}\n", {"model.K2=1.0"}).empty());
  // ... but it rejects K1 <= 0.
  for (const char* K1 : {"0", "-0.5"}) {
    CAPTURE(K1);
    errors = errors_of(lv + "K1: " + K1 + ", K3: 0.5}\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].key == "model.K1");
    CHECK(errors[0].message.find("K1 must be > 0, got K1 = ") == 0);
  }
  // A fixed-point target solves K2 = K1 / x* - K3: then K1 > K3 x* is needed, not K2 > 0.
  CHECK(errors_of(lv + "K1: 1.0, K2: 0, K3: 0.5, fixed_point_target: 1.5}\n").empty());
  CHECK(has_error(errors_of(lv + "K1: 1.0, K3: 0.5, fixed_point_target: 2.0}\n"), "model.K3",
                  "K1 must exceed K3 * fixed_point_target"));
}

TEST_CASE("base: composes files, the including file wins, errors name the file they are in") {
  test_support::TempDir dir("spec");
  dir.write("common/model.yaml",
            "model:\n  K3: 0.3\n  K1: 2.0\ntraining:\n  epochs: 4\n  rule: bptt\n");
  dir.write("common/data.yaml",
            "data: {dataset: synthetic, train_size: 100}\ntraining: {epochs: 5}\n");
  auto spec_file = dir.write("exp/spec.yaml",
                             "name: composed\nbase: [../common/model.yaml, ../common/data.yaml]\n"
                             "training:\n  epochs: 2\n");
  Spec spec = load_spec(spec_file);
  CHECK(spec.base.name == "composed");
  CHECK(spec.base.model.K3 == 0.3);
  CHECK(spec.base.model.K1 == 2.0);
  CHECK(spec.base.training.rule == "bptt");
  CHECK(spec.base.training.epochs == 2);  // the including file overrides both bases
  CHECK(spec.base.data.dataset == DatasetKind::synthetic);
  CHECK(spec.base.data.train_size == 100);
  CHECK(spec.origin_of("model.K3").file.find("common/model.yaml") != std::string::npos);
  CHECK(spec.origin_of("model.K3").line == 2);

  // A later base overrides an earlier one.
  auto two = dir.write("exp/two.yaml", "base: [../common/model.yaml, ../common/data.yaml]\n");
  CHECK(load_spec(two).base.training.epochs == 5);

  // An error inside a base names the base file and position.
  dir.write("common/bad.yaml", "model:\n  K3: 0.1\n  K4: 1\n");
  auto uses_bad = dir.write("exp/uses_bad.yaml", "base: ../common/bad.yaml\n");
  const SpecError bad = only_error_of(uses_bad);
  CHECK(bad.file.find("common/bad.yaml") != std::string::npos);
  CHECK(bad.line == 3);
  CHECK(bad.key == "model.K4");
}

TEST_CASE("base: cycles and missing files are errors naming the chain") {
  test_support::TempDir dir("spec");
  dir.write("a.yaml", "base: b.yaml\nname: a\n");
  dir.write("b.yaml", "base: c.yaml\n");
  dir.write("c.yaml", "base: a.yaml\n");
  const SpecError cycle = only_error_of(dir.path / "a.yaml");
  CHECK(cycle.message.find("base cycle") != std::string::npos);
  CHECK(cycle.message.find("a.yaml -> ") != std::string::npos);
  CHECK(cycle.message.find("b.yaml -> ") != std::string::npos);
  CHECK(cycle.message.find("c.yaml -> ") != std::string::npos);
  CHECK(cycle.file.find("c.yaml") != std::string::npos);
  CHECK(cycle.line == 1);
  dir.write("d.yaml", "base: e.yaml\n");
  dir.write("e.yaml", "base: [missing.yaml]\n");
  const SpecError missing = only_error_of(dir.path / "d.yaml");
  CHECK(missing.message.find("missing.yaml") != std::string::npos);
  CHECK(missing.message.find("d.yaml -> ") != std::string::npos);
  CHECK(missing.file.find("e.yaml") != std::string::npos);
  try {
    load_spec(dir.path / "nonexistent.yaml");
    FAIL("expected an error");
  } catch (const SpecErrors& e) {
    CHECK(e.errors()[0].message.find("cannot read") != std::string::npos);
  }
}

TEST_CASE("command-line overrides are parsed as YAML and win over the file") {
  Spec spec = load_spec_text("name: x\ntraining:\n  rule: connection\n", "spec.yaml",
                             {"network.hidden=[100, 50]", "training.rule=bptt", "model.K3=0.25",
                              "data.shuffle=false", "model.fixed_point_target=1.5"});
  CHECK(spec.base.network.hidden == std::vector<int>{100, 50});
  CHECK(spec.base.training.rule == "bptt");
  CHECK(spec.base.model.K3 == 0.25);
  CHECK(spec.base.data.shuffle == false);
  REQUIRE(spec.base.model.fixed_point_target);
  CHECK(*spec.base.model.fixed_point_target == 1.5);
  CHECK(spec.origin_of("model.K3").file == "<command line>");

  CHECK(has_error(errors_of("name: x\n", {"model.K33=1"}), "model.K33", "did you mean 'model.K3'"));
  CHECK(has_error(errors_of("name: x\n", {"model.K3=[1"}), "model.K3", "cannot parse"));
  CHECK(has_error(errors_of("name: x\n", {"novalue"}), "", "key.path=value"));
  // Sweep keys keep their dots.
  auto [parts, value] = parse_override("sweep.grid.model.K3=[0.2, 0.4]", 1);
  CHECK(parts == std::vector<std::string>{"sweep", "grid", "model.K3"});
  CHECK(value.items.size() == 2);
}

TEST_CASE("description and sections may be empty; defaults come from config.hpp") {
  Spec spec = load_spec_text("description: |\n  several\n  lines\nmodel:\n", "s.yaml");
  CHECK(spec.description == "several\nlines\n");
  ExperimentConfig defaults;
  CHECK(canonical_yaml(spec.base) == canonical_yaml(defaults));
}

TEST_CASE("the canonical YAML round-trips and leaves out runtime-only threads") {
  Spec spec = load_spec_text(
      "name: \"quote\\\"d\"\nthreads: 7\nmodel: {K3: 0.1, K1: 3, fixed_point_target: 0.7}\n"
      "network: {hidden: [10, 20]}\ntraining: {trainable_K: [K1, K3], learning_rate: 1e-3}\n"
      "record: {probe_samples: [1, 2], probe_layers: [0, 2]}\n",
      "s.yaml");
  const std::string text = canonical_yaml(spec.base);
  CHECK(text.find("threads") == std::string::npos);
  ExperimentConfig back = config_from_yaml(text);
  CHECK(canonical_yaml(back) == text);
  CHECK(back.name == "quote\"d");
  CHECK(back.training.learning_rate == 1e-3);
  CHECK(back.model.fixed_point_target.value() == 0.7);
  // threads does not change the ID.
  ExperimentConfig a = spec.base, b = spec.base;
  b.threads = 1;
  CHECK(run_id(a) == run_id(b));
  // Doubles are written exactly (shortest round-trip form).
  ExperimentConfig c;
  c.model.K3 = 0.1 + 0.2;
  CHECK(config_from_yaml(canonical_yaml(c)).model.K3 == c.model.K3);
}

TEST_CASE("run IDs: same config same ID, different config different ID, golden value") {
  ExperimentConfig a;
  ExperimentConfig b;
  CHECK(run_id(a) == run_id(b));
  b.model.K3 = 0.5000000000000001;
  CHECK(run_id(a) != run_id(b));
  b = a;
  b.seed = 1;
  CHECK(run_id(a) != run_id(b));
  CHECK(run_id(a).size() == 16);
  // FNV-1a-64 reference values (from the algorithm's published test vectors).
  CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
  // Golden: a fixed config. If this changes, every stored run ID changes: that is
  // only acceptable together with a new results-format version.
  ExperimentConfig golden;
  golden.name = "golden";
  golden.seed = 42;
  golden.model.K3 = 0.25;
  golden.network.hidden = {100};
  golden.data.train_size = 2000;
  golden.training.epochs = 3;
  CHECK(run_id(golden) == "8a6fed3c96cbfdee");
  // A key added later (integrator.backward_method) stays out of the canonical YAML at its
  // default, so the golden ID above holds; any other value is part of the ID and round-trips.
  CHECK(canonical_yaml(golden).find("backward_method") == std::string::npos);
  ExperimentConfig solve = golden;
  solve.integrator.backward_method = BackwardMethod::solve;
  CHECK(run_id(solve) != run_id(golden));
  CHECK(config_from_yaml(canonical_yaml(solve)).integrator.backward_method ==
        BackwardMethod::solve);
}

TEST_CASE("nested keys: training.pid") {
  Spec spec = load_spec_text("training:\n  rule: pid\n  pid:\n    kp: 2\n    ki: 0.5\n", "s.yaml",
                             {"training.pid.kd=0.25"});
  CHECK(spec.base.training.pid.kp == 2);
  CHECK(spec.base.training.pid.ki == 0.5);
  CHECK(spec.base.training.pid.kd == 0.25);
  CHECK(spec.origin_of("training.pid.ki").line == 5);
  const std::string text = canonical_yaml(spec.base);
  CHECK(text.find("training:\n") != std::string::npos);
  CHECK(text.find("\n  pid:\n    kp: 2\n    ki: 0.5\n    kd: 0.25\n") != std::string::npos);
  CHECK(canonical_yaml(config_from_yaml(text)) == text);
  auto errors = errors_of("training:\n  pid:\n    kq: 1\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].key == "training.pid.kq");
  CHECK(errors[0].line == 3);
  CHECK(errors[0].message.find("did you mean 'training.pid.kp'") != std::string::npos);
  CHECK(has_error(errors_of("training:\n  pid: 3\n"), "training.pid", "mapping"));
  CHECK(has_error(errors_of("training:\n  pid: {integral_leak: 2}\n"), "training.pid.integral_leak",
                  "[0, 1]"));
  CHECK(has_error(errors_of("data: {synthetic_features: 4, synthetic_classes: 5}\n"),
                  "data.synthetic_classes", "[2, synthetic_features]"));
}

TEST_CASE("a rule that trains the K's needs training.trainable_K (the rule table says which)") {
  const std::string none = "  trainable_K: []\n";
  CHECK(has_error(errors_of("training:\n  rule: fixed_point\n" + none), "training.trainable_K",
                  "the fixed_point rule trains the K's"));
  CHECK(has_error(errors_of("training:\n  rule: pid\n  pid_target: fixed_point\n" + none),
                  "training.trainable_K", "the pid rule trains the K's"));
  CHECK(errors_of("training:\n  rule: pid\n  pid_target: connection\n" + none).empty());
  CHECK(errors_of("training:\n  rule: connection\n" + none).empty());
  CHECK(errors_of("training:\n  rule: fixed_point\n  trainable_K: [K3]\n").empty());
}

TEST_CASE("every experiment spec in experiments/ loads and expands") {
  // stability-*.yaml files are inputs of `wuxing stability`, not of `run`.
  const std::filesystem::path dir = std::filesystem::path(WUXING_SOURCE_DIR) / "experiments";
  REQUIRE(std::filesystem::is_directory(dir));
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const auto& p = entry.path();
    if (p.extension() != ".yaml" || p.filename().string().rfind("stability-", 0) == 0) continue;
    CAPTURE(p.string());
    CHECK_NOTHROW(expand_sweep(load_spec(p)));
    ++checked;
  }
  CHECK(checked >= 1);
}
