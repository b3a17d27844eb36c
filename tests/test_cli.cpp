// The command line itself (cli/main.cpp): exit codes of usage errors, "did you mean",
// --version with the commit, and help wrapped to the terminal.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "framework/pipeline/store.hpp"
#include "tests/cli_support.hpp"
#include "tests/support.hpp"

using namespace wuxing;
using test_support::check_clean_failure;
using test_support::run_wuxing;

TEST_CASE("command-line errors exit with the documented usage code 2 and say what to do") {
  test_support::TempDir dir("cli");
  auto usage = [&](const std::vector<std::string>& args,
                   const std::vector<std::string>& fragments) {
    auto r = run_wuxing(args, dir.path);
    CAPTURE(args);
    check_clean_failure(r, fragments);
    CHECK(r.code == 2);
    return r;
  };
  const auto spec = dir.write("x.yaml", "name: x\n");
  usage({}, {"a subcommand is required", "subcommands: run, validate"});
  usage({"rn", "x"}, {"unknown subcommand 'rn'; did you mean 'run'?"});
  usage({"validat"}, {"did you mean 'validate'?"});
  usage({"frobnicate"}, {"unknown subcommand 'frobnicate'", "subcommands: run"});
  usage({"report", (dir.path / "missing.h5").string()}, {"missing.h5"});
  usage({"run"}, {"spec is required"});
  usage({"run", "--threads", "many", spec.string()}, {"--threads"});
  usage({"run", spec.string(), "--no-such-flag"}, {"--no-such-flag"});

  auto version = run_wuxing({"--version"}, dir.path);
  CHECK(version.code == 0);
  CHECK(version.out.find("wuxing 0.") == 0);
  CHECK(version.out.find("commit ") != std::string::npos);

  // Help is wrapped to the terminal ($COLUMNS when stdout is not one); only the
  // preformatted spec example at the end may run longer.
  for (const char* columns : {"60", "100"}) {
    auto help = run_wuxing({"run", "--help"}, dir.path, {{"COLUMNS", columns}});
    CHECK(help.code == 0);
    std::istringstream in(help.out);
    int long_lines = 0;
    for (std::string line; std::getline(in, line) && line.rfind("Spec syntax", 0) != 0;)
      if (line.size() > static_cast<std::size_t>(std::atoi(columns))) ++long_lines;
    CAPTURE(columns);
    CAPTURE(help.out);
    CHECK(long_lines == 0);
  }
}

TEST_CASE("results record the commit the binary was built from, the one --version names") {
  test_support::TempDir dir("cli");
  const auto spec =
      dir.write("p.yaml", "name: p\ndata: {dataset: synthetic, train_size: 20, test_size: 10}\n");
  const auto out = dir.path / "p.h5";
  auto r = run_wuxing({"run", spec.string(), "-o", out.string()}, dir.path,
                      {{"WUXING_FAKE_TRAINER", "0"}});
  REQUIRE(r.code == 0);
  const std::string id = read_index(out).text.at("run_id").at(0);
  const std::string commit = read_run_attribute(out, id, "git_commit");
  CHECK(read_run_attribute(out, id, "git_commit_source") == "build");
  auto version = run_wuxing({"--version"}, dir.path);
  CAPTURE(version.out);
  CHECK(version.out.find("(commit " + commit) != std::string::npos);
}

TEST_CASE("the production binary holds no test stand-in; the tests' build/wuxing_fake does") {
  auto contains = [](const char* binary, const std::string& what) {
    return test_support::slurp(binary).find(what) != std::string::npos;
  };
  CHECK_FALSE(contains(WUXING_BINARY, "WUXING_FAKE_TRAINER"));
  CHECK_FALSE(contains(WUXING_BINARY, "fake trainer"));
  CHECK(contains(WUXING_FAKE_BINARY, "WUXING_FAKE_TRAINER"));

  // So build/wuxing trains for real whatever the environment says.
  test_support::TempDir dir("cli");
  const auto spec = dir.write("p.yaml",
                              "name: p\ndata: {dataset: synthetic, train_size: 20, test_size: 10}\n"
                              "training: {epochs: 1}\n");
  for (const bool fake : {false, true}) {
    const std::string binary = fake ? WUXING_FAKE_BINARY : WUXING_BINARY;
    const auto out = dir.path / (fake ? "fake.h5" : "real.h5");
    auto r = test_support::run_binary(binary, {"run", spec.string(), "-o", out.string()}, dir.path,
                                      {{"WUXING_FAKE_TRAINER", "0"}});
    CAPTURE(binary);
    CAPTURE(r.err);
    REQUIRE(r.code == 0);
    CHECK((r.err.find("fake trainer") != std::string::npos) == fake);
  }
}

TEST_CASE("validate checks a stability spec: ok, or every error as file:line:col: key") {
  test_support::TempDir dir("cli");
  auto ok = run_wuxing(
      {"validate", std::string(WUXING_SOURCE_DIR) + "/experiments/stability-hopf.yaml"}, dir.path);
  CAPTURE(ok.err);
  CHECK(ok.code == 0);
  CHECK(ok.out.find("ok: stability spec") != std::string::npos);
  const auto bad = dir.write("bad.yaml", "stability:\n  n: [5]\n  ratios: 3\n  h: fast\n");
  auto r = run_wuxing({"validate", bad.string()}, dir.path);
  check_clean_failure(r, {bad.string() + ":3:3: stability.ratios: unknown key",
                          bad.string() + ":4:6: stability.h: expected a number, got 'fast'"});
  CHECK(r.code == 2);
  auto o = run_wuxing({"validate", bad.string(), "stability.h=0.1", "stability.ratios="}, dir.path);
  CHECK(o.code == 2);
  CHECK(o.err.find("stability.h") == std::string::npos);  // overridden
}
