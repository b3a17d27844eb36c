// `wuxing ls`, `show`, `config` and `export`: runs inspected without their spec.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "analysis/inspect.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/sweep.hpp"
#include "support.hpp"

namespace wuxing {

namespace {

using test_support::Child;
using test_support::TempDir;

Child wuxing_cli(const std::vector<std::string>& args, const std::filesystem::path& log,
                 const std::map<std::string, std::string>& env = {}) {
  return test_support::run_fake(args, env, log);
}

const char* kSpec =
    "name: inspect-test\ndescription: 'a: quoted, description'\n"
    "data: {dataset: synthetic, train_size: 50, test_size: 20}\n"
    "training: {epochs: 3}\nrecord: {probe_samples: [0], probe_layers: [0]}\n"
    "sweep: {grid: {model.K3: [0.2, 0.4], training.learning_rate: [0.01, 1.5]}, seeds: [0, 7]}\n";

struct Fixture {
  TempDir dir{"inspect"};
  std::filesystem::path spec = dir.path / "s.yaml";
  std::filesystem::path out = dir.path / "r.h5";
  std::filesystem::path log = dir.path / "log";
  Fixture() {
    std::ofstream(spec) << kSpec;
    // learning_rate 1.5: the fake trainer reports numerical trouble, so not every run is ok.
    const Child c = wuxing_cli({"run", spec.string(), "-o", out.string()}, log,
                               {{"WUXING_FAKE_TRAINER", "0"}, {"WUXING_ASSEMBLE_INTERVAL", "0"}});
    REQUIRE(c.exit_code() == 1);
  }
  std::vector<std::string> ids() const { return read_index(out).text.at("run_id"); }
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_CASE("ls lists every run with its status, swept values and final accuracy") {
  Fixture f;
  const Child c = wuxing_cli({"ls", f.out.string()}, f.log);
  REQUIRE(c.exit_code() == 0);
  CAPTURE(c.output);
  CHECK(c.output.find("spec 'inspect-test'") != std::string::npos);
  CHECK(c.output.find("8 run(s) (4 numerical_trouble, 4 ok)") != std::string::npos);
  for (const char* h :
       {"run_id", "status", "model.K3", "training.learning_rate", "seed", "test acc %", "epochs"})
    CHECK(c.output.find(h) != std::string::npos);
  const auto index = read_index(f.out);
  for (std::size_t i = 0; i < index.rows; ++i) {
    const std::string id = index.text.at("run_id")[i];
    std::string row;
    for (const auto& l : lines_of(c.output))
      if (l.rfind(id, 0) == 0) row = l;
    CAPTURE(id);
    REQUIRE(!row.empty());
    CHECK(row.find(index.text.at("status")[i]) != std::string::npos);
    CHECK(row.find(fmt::format("{:.2f}", 100 * index.numeric.at("final_test_accuracy")[i])) !=
          std::string::npos);
  }
  const Child ok = wuxing_cli({"ls", f.out.string(), "--status", "numerical_trouble"}, f.log);
  CHECK(ok.output.find("4 run(s) (4 numerical_trouble)") != std::string::npos);
  const Child missing = wuxing_cli({"ls", (f.dir.path / "none.h5").string()}, f.log);
  CHECK(missing.exit_code() != 0);
  CHECK(missing.output.find("none.h5") != std::string::npos);
}

TEST_CASE("show prints a run's config, provenance and per-epoch table; a prefix is enough") {
  Fixture f;
  const std::string id = f.ids().front();
  const Child c = wuxing_cli({"show", f.out.string(), id.substr(0, 6)}, f.log);
  REQUIRE(c.exit_code() == 0);
  CAPTURE(c.output);
  CHECK(c.output.find("run " + id) != std::string::npos);
  CHECK(c.output.find("git_commit:") != std::string::npos);
  CHECK(c.output.find("version_hdf5:") != std::string::npos);
  CHECK(c.output.find("test acc %") != std::string::npos);
  const auto acc = read_metric(f.out, id, "test_accuracy");
  REQUIRE(acc.size() == 3);
  for (double a : acc) CHECK(c.output.find(fmt::format("{:.2f}", 100 * a)) != std::string::npos);
  // --config prints exactly the stored config, which reads back to the run's ID.
  const Child cfg = wuxing_cli({"show", f.out.string(), id, "--config"}, f.log);
  REQUIRE(cfg.exit_code() == 0);
  CHECK(cfg.output == read_run_attribute(f.out, id, "config_yaml"));
  CHECK(run_id(config_from_yaml(cfg.output)) == id);
  // Unknown and ambiguous runs are named.
  const Child none = wuxing_cli({"show", f.out.string(), "zzzz"}, f.log);
  CHECK(none.exit_code() != 0);
  CHECK(none.output.find("has no run 'zzzz'") != std::string::npos);
  CHECK_THROWS_WITH_AS(resolve_run_id("f.h5", {"abc1", "abc2"}, "abc"),
                       doctest::Contains("ambiguous"), StoreError);
}

TEST_CASE("config prints the resolved spec, which plans the very same runs") {
  Fixture f;
  const Child c =
      wuxing_cli({"config", f.spec.string(), "training.epochs=2", "sweep.seeds=[1,2,3]"}, f.log);
  REQUIRE(c.exit_code() == 0);
  CAPTURE(c.output);
  CHECK(c.output.find("K1: 1") != std::string::npos);  // defaults are spelled out
  CHECK(c.output.find("sweep:") != std::string::npos);
  const auto resolved = f.dir.path / "resolved.yaml";
  std::ofstream(resolved) << c.output;
  const SweepPlan a = expand_sweep(load_spec(f.spec, {"training.epochs=2", "sweep.seeds=[1,2,3]"}));
  const SweepPlan b = expand_sweep(load_spec(resolved));
  CHECK(a.fingerprint == b.fingerprint);
  CHECK(a.runs.size() == 12);
  CHECK(load_spec(resolved).description == "a: quoted, description");
  // A bad override is reported as `validate` reports it.
  const Child bad = wuxing_cli({"config", f.spec.string(), "model.K9=1"}, f.log);
  CHECK(bad.exit_code() == 2);
  CHECK(bad.output.find("model.K9") != std::string::npos);
}

TEST_CASE("export writes /index and the per-epoch metrics as CSV that reads back exactly") {
  Fixture f;
  const auto csv = f.dir.path / "runs.csv";
  REQUIRE(wuxing_cli({"export", f.out.string(), "--format", "csv", "-o", csv.string()}, f.log)
              .exit_code() == 0);
  std::ifstream in(csv);
  std::stringstream ss;
  ss << in.rdbuf();
  const auto lines = lines_of(ss.str());
  const auto index = read_index(f.out);
  REQUIRE(lines.size() == index.rows + 1);
  CHECK(lines[0].rfind("run_id,status,model.K3,training.learning_rate,seed,", 0) == 0);
  // Row i, column final_test_accuracy, parses back to the stored double.
  std::vector<std::string> header;
  {
    std::istringstream h(lines[0]);
    for (std::string cell; std::getline(h, cell, ',');) header.push_back(cell);
  }
  const auto col = static_cast<std::size_t>(
      std::find(header.begin(), header.end(), "final_test_accuracy") - header.begin());
  REQUIRE(col < header.size());
  for (std::size_t i = 0; i < index.rows; ++i) {
    std::istringstream row(lines[i + 1]);
    std::vector<std::string> cells;
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    CHECK(std::stod(cells[col]) == index.numeric.at("final_test_accuracy")[i]);
  }
  const Child epochs = wuxing_cli({"export", f.out.string(), "--table", "epochs"}, f.log);
  REQUIRE(epochs.exit_code() == 0);
  const auto elines = lines_of(epochs.output);
  CHECK(elines[0].rfind("run_id,model.K3,training.learning_rate,seed,epoch,", 0) == 0);
  std::size_t expected = 1;
  for (double e : index.numeric.at("epochs_done")) expected += static_cast<std::size_t>(e);
  CHECK(elines.size() == expected);
  CHECK(wuxing_cli({"export", f.out.string(), "--format", "xml"}, f.log).exit_code() != 0);
}

}  // namespace wuxing
