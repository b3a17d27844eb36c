// The named options (framework/base/options.hpp): a spec word parses into its enum value and
// prints back as the same word (as the strings they replaced printed, so run IDs stay), and a
// word that is none of them is an error at its position, naming the key and the words.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "framework/base/options.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/sweep.hpp"

using namespace wuxing;

namespace {

std::vector<SpecError> errors_of(const std::string& text) {
  try {
    load_spec_text(text, "spec.yaml", {});
  } catch (const SpecErrors& e) {
    return e.errors();
  }
  return {};
}

// A spec that sets `key` (section.leaf) to `word` on line 3, the word at column leaf + 5.
std::string spec_with(const std::string& key, const std::string& word) {
  const auto dot = key.find('.');
  return "name: x\n" + key.substr(0, dot) + ":\n  " + key.substr(dot + 1) + ": " + word + "\n";
}

// Every word of E, set at `key`: the loaded config holds its value (read by `get`), the key
// prints as the quoted word, and E's table takes the word to the value and back; a word of no
// value is an error at its position naming the key and E's words.
template <NamedOption E, class Get>
void check_option(const std::string& key, Get get) {
  CAPTURE(key);
  const auto& names = option_names<E>();
  std::string words;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string word(names[i]);
    CAPTURE(word);
    const E value = static_cast<E>(i);
    CHECK(option_name(value) == names[i]);
    REQUIRE(parse_option<E>(word).has_value());
    CHECK(*parse_option<E>(word) == value);
    const Spec spec = load_spec_text(spec_with(key, word), "spec.yaml", {});
    CHECK(get(spec.base) == value);
    CHECK(value_text(spec.base, key) == "\"" + word + "\"");
    words += (i ? ", " : "") + word;
  }
  CHECK_FALSE(parse_option<E>("bogus").has_value());
  const auto errors = errors_of(spec_with(key, "bogus"));
  REQUIRE(errors.size() == 1);
  const int column = static_cast<int>(key.size() - key.find('.')) + 4;
  CHECK(errors[0].to_string() == "spec.yaml:3:" + std::to_string(column) + ": " + key +
                                     ": unknown value 'bogus'; expected one of: " + words);
}

}  // namespace

TEST_CASE("each named option round-trips word -> enum -> word, and names its words on an error") {
  using C = const ExperimentConfig&;
  check_option<Sharing>("model.sharing", [](C c) { return c.model.sharing; });
  check_option<InputSharing>("model.input_sharing", [](C c) { return c.model.input_sharing; });
  check_option<Connectivity>("network.connectivity", [](C c) { return c.network.connectivity; });
  check_option<SparseBase>("network.sparse_base", [](C c) { return c.network.sparse_base; });
  check_option<WeightInit>("network.init", [](C c) { return c.network.init; });
  check_option<Readout>("network.readout", [](C c) { return c.network.readout; });
  check_option<DatasetKind>("data.dataset", [](C c) { return c.data.dataset; });
  check_option<BackwardMethod>("integrator.backward_method",
                               [](C c) { return c.integrator.backward_method; });
  check_option<ForwardMethod>("integrator.forward_method",
                              [](C c) { return c.integrator.forward_method; });
  check_option<PidTarget>("training.pid_target", [](C c) { return c.training.pid_target; });
  check_option<UnsettledPolicy>("training.unsettled_policy",
                                [](C c) { return c.training.unsettled_policy; });
  check_option<OptimizerKind>("training.optimizer", [](C c) { return c.training.optimizer; });
  check_option<LrSchedule>("training.lr_schedule", [](C c) { return c.training.lr_schedule; });
  check_option<MlpActivation>("training.mlp_activation",
                              [](C c) { return c.training.mlp_activation; });
}

TEST_CASE("a bad named option is an error wherever it is set: file, line:col, key, the words") {
  // In a flow mapping, among other errors of the same file.
  auto errors = errors_of("name: x\nnetwork: {hidden: [4], readout: linear}\nmodel: {n: 2}\n");
  bool found = false;
  for (const auto& e : errors)
    if (e.key == "network.readout") {
      found = true;
      CHECK(e.to_string() ==
            "spec.yaml:2:33: network.readout: unknown value 'linear'; expected one of: state, "
            "drive");
    }
  CHECK(found);
  // A list where a word belongs.
  errors = errors_of("name: x\ntraining:\n  optimizer: [sgd]\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].to_string() ==
        "spec.yaml:3:14: training.optimizer: expected a name (one of: sgd, momentum, adam), got "
        "a list");
  // A command-line override names the argument.
  try {
    load_spec_text("name: x\n", "spec.yaml", {"training.lr_schedule=step"});
    FAIL("no error");
  } catch (const SpecErrors& e) {
    REQUIRE(e.errors().size() == 1);
    CHECK(e.errors()[0].file == "<command line>");
    CHECK(e.errors()[0].key == "training.lr_schedule");
    CHECK(e.errors()[0].message ==
          "unknown value 'step'; expected one of: constant, inverse_epoch, cosine");
  }
  // A sweep value, at its own position, when the sweep expands.
  const Spec spec = load_spec_text(
      "name: x\nsweep:\n  grid:\n    integrator.forward_method: [solve, tabel]\n", "spec.yaml", {});
  try {
    (void)expand_sweep(spec, false);
    FAIL("no error");
  } catch (const SpecErrors& e) {
    REQUIRE(e.errors().size() == 1);
    CHECK(e.errors()[0].to_string() ==
          "spec.yaml:4:40: integrator.forward_method: unknown value 'tabel'; expected one of: "
          "integrate, solve, table");
  }
}
