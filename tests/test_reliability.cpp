// Bad input, driven through the real build/wuxing binary: every case must exit non-zero
// with one clear message (file:line:column, key, what was expected, where that applies),
// no abort or sanitizer noise, no partial output file, and an existing results file left
// byte-for-byte (and mtime) unchanged. Also replays the fuzz regression inputs
// (tests/fuzz/regressions/<target>/) through the fuzz entry functions.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <zlib.h>

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/pipeline/store.hpp"
#include "tests/cli_support.hpp"
#include "tests/fuzz/fuzz_entries.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using namespace wuxing;

namespace {

// Whether `text` holds "<file>:<line>:<column>: ", the location every spec error starts with.
bool has_location(const std::string& text, const std::string& file) {
  for (auto at = text.find(file + ":"); at != std::string::npos;
       at = text.find(file + ":", at + 1)) {
    std::size_t q = at + file.size() + 1;
    auto digits = [&] {
      const std::size_t start = q;
      while (q < text.size() && std::isdigit(static_cast<unsigned char>(text[q]))) ++q;
      return q > start;
    };
    if (digits() && q < text.size() && text[q++] == ':' && digits() &&
        text.compare(q, 2, ": ") == 0)
      return true;
  }
  return false;
}

using test_support::check_clean_failure;
using test_support::Outcome;
using test_support::run_wuxing;
using test_support::slurp;
using test_support::TempDir;

// What a file looked like: to prove that a failed command left it alone.
struct Snapshot {
  bool exists = false;
  std::string bytes;
  fs::file_time_type mtime;
  static Snapshot of(const fs::path& p) {
    Snapshot s;
    s.exists = fs::exists(p);
    if (s.exists) {
      s.bytes = slurp(p);
      s.mtime = fs::last_write_time(p);
    }
    return s;
  }
  bool operator==(const Snapshot& o) const {
    return exists == o.exists && bytes == o.bytes && (!exists || mtime == o.mtime);
  }
};

const std::string kGoodSpec =
    "name: good\ndata: {dataset: synthetic, train_size: 20, test_size: 10}\n"
    "training: {epochs: 1}\nsweep: {grid: {model.K3: [0.2, 0.4]}}\n";
const std::vector<std::pair<std::string, std::string>> kFake = {{"WUXING_FAKE_TRAINER", "0"}};

// A directory with a valid results file `existing.h5` written by kGoodSpec.
struct Workspace {
  TempDir dir{"reliability"};
  fs::path good_spec, existing;
  bool check_validate = true;  // bad(): `validate` must reject a bad `run` input too
  Workspace() {
    good_spec = dir.write("good.yaml", kGoodSpec);
    existing = dir.path / "existing.h5";
    auto r = run_wuxing({"run", good_spec.string(), "-o", existing.string()}, dir.path, kFake);
    REQUIRE(r.exited);
    REQUIRE(r.code == 0);
    REQUIRE(read_runs(existing).size() == 2);
  }
  // Runs `args` twice: once writing to a fresh output (which must not appear, nor
  // results/, .tmp or .parts), once onto a copy of the existing results file (which must
  // stay unchanged). Returns the first outcome.
  Outcome bad(std::vector<std::string> args, const std::vector<std::string>& fragments,
              std::size_t max_lines = 3,
              std::vector<std::pair<std::string, std::string>> env = kFake) {
    const fs::path fresh = dir.path / "fresh.h5";
    auto with_output = [&](const fs::path& out) {
      auto a = args;
      a.push_back("-o");
      a.push_back(out.string());
      return a;
    };
    Outcome r = run_wuxing(with_output(fresh), dir.path, env);
    check_clean_failure(r, fragments, max_lines);
    if (args.front() == "run" && check_validate) {
      // `validate` makes every check `run` makes before it starts: the same error, exit 2.
      auto v_args = args;
      v_args.front() = "validate";
      Outcome v = run_wuxing(v_args, dir.path, env);
      CAPTURE(v_args);
      check_clean_failure(v, fragments, max_lines);
      CHECK(v.code == 2);
      CHECK(r.code == 2);
    }
    CHECK_FALSE(fs::exists(fresh));
    CHECK_FALSE(fs::exists(fresh.string() + ".tmp"));
    CHECK_FALSE(fs::exists(fresh.string() + ".parts"));
    CHECK_FALSE(fs::exists(dir.path / "results"));
    const fs::path copy = dir.path / "copy.h5";
    fs::remove(copy);
    fs::copy_file(existing, copy);
    const Snapshot before = Snapshot::of(copy);
    Outcome again = run_wuxing(with_output(copy), dir.path, env);
    check_clean_failure(again, {}, max_lines);
    CHECK(Snapshot::of(copy) == before);
    CHECK_FALSE(fs::exists(copy.string() + ".tmp"));
    CHECK_FALSE(fs::exists(copy.string() + ".parts"));
    return r;
  }
  Outcome bad_spec(const std::string& text, const std::vector<std::string>& fragments,
                   std::size_t max_lines = 3, const std::vector<std::string>& extra = {}) {
    const auto spec = dir.write("bad.yaml", text);
    std::vector<std::string> args = {"run", spec.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return bad(args, fragments, max_lines);
  }
};

// A tiny IDX data set (4x4 pixels, 20 train and 10 test samples) in `dir`.
void write_dataset(const fs::path& dir, bool gzip = false) {
  fs::create_directories(dir);
  auto images = [](std::uint32_t n) {
    IdxArray a;
    a.dims = {n, 4, 4};
    for (std::uint32_t i = 0; i < n * 16; ++i) a.data.push_back(static_cast<std::uint8_t>(i * 7));
    return a;
  };
  auto labels = [](std::uint32_t n) {
    IdxArray a;
    a.dims = {n};
    for (std::uint32_t i = 0; i < n; ++i) a.data.push_back(static_cast<std::uint8_t>(i % 10));
    return a;
  };
  const std::string gz = gzip ? ".gz" : "";
  write_idx(dir / ("train-images-idx3-ubyte" + gz), images(20), gzip);
  write_idx(dir / ("train-labels-idx1-ubyte" + gz), labels(20), gzip);
  write_idx(dir / ("t10k-images-idx3-ubyte" + gz), images(10), gzip);
  write_idx(dir / ("t10k-labels-idx1-ubyte" + gz), labels(10), gzip);
}

std::string mnist_spec(const fs::path& dir) {
  return "name: data-test\ndata: {dataset: mnist, dir: '" + dir.string() +
         "', train_size: 20, test_size: 10}\ntraining: {epochs: 1}\n"
         "network: {hidden: [3]}\nsweep: {grid: {model.K3: [0.2, 0.4]}}\n";
}

}  // namespace

TEST_CASE("bad specs: one clear message at file:line:column, no output, results untouched") {
  Workspace ws;
  SUBCASE("malformed YAML") {
    auto r = ws.bad_spec("name: x\nmodel:\n  K3: [0.5, 0.6\n  K1: 2\n", {"YAML syntax error"});
    CHECK(has_location(r.err, "bad.yaml"));
  }
  SUBCASE("a wrong type") {
    ws.bad_spec("name: x\ntraining:\n  epochs: many\n",
                {"bad.yaml:3:11: training.epochs: expected an integer, got 'many'"});
  }
  SUBCASE("an unknown key, with a suggestion") {
    ws.bad_spec("name: x\nmodel:\n  K33: 0.5\n",
                {"bad.yaml:3:3: model.K33: unknown key; did you mean 'model.K3'?"});
    ws.bad_spec("name: x\ntrainig:\n  epochs: 2\n",
                {"bad.yaml:2:1: trainig: unknown key; did you mean 'training'?"});
  }
  SUBCASE("name: nothing is required, but the name must make a file name") {
    // Every key has a documented default (framework/base/config.hpp; name: experiment), so a
    // spec without `name:` is valid. An empty name or one with a path separator would
    // give a broken default output path (results/.h5, results/../x.h5).
    ws.bad_spec("name:\n", {"bad.yaml:1:", "name: expected"});
    ws.bad_spec("name: ''\n", {"bad.yaml:1:7: name: must not be empty"});
    ws.bad_spec("name: ../escape\n", {"bad.yaml:1:7: name:", "'/'"});
  }
  SUBCASE("out-of-range values") {
    ws.bad_spec("integrator: {h: 0}\n", {"bad.yaml:1:17: integrator.h: must be > 0, got 0"});
    ws.bad_spec("integrator: {h: -0.1}\n", {"integrator.h: must be > 0, got -0.1"});
    ws.bad_spec("model: {K1: 0.5, K3: 0.5}\n",
                {"bad.yaml:1:22: model.K3: K1 must be greater than K3"});
    ws.bad_spec("model: {K1: 0.2, K3: 0.5}\n", {"model.K3: K1 must be greater than K3"});
    ws.bad_spec("training: {learning_rate: -0.01}\n",
                {"bad.yaml:1:27: training.learning_rate: must be >= 0, got -0.01"});
    ws.bad_spec("network: {connectivity: sparse, sparsity: 0}\n",
                {"network.sparsity: must be in (0, 1], got 0"});
    ws.bad_spec("network: {connectivity: sparse, sparsity: 1.5}\n",
                {"network.sparsity: must be in (0, 1], got 1.5"});
    ws.bad_spec("model: {n: 2, g: 1, k: 1}\n",
                {"bad.yaml:1:12: model.n: a neuron needs at least 3 elements, got n = 2"});
    ws.bad_spec("model: {n: 5, g: 2, k: 2}\n",
                {"model.k: the generating and overcoming offsets must differ (g = k = 2)"});
  }
  SUBCASE("a bad override names the command-line argument") {
    ws.bad_spec("name: x\n", {"<command line>:1:1: model.K33: unknown key; did you mean"}, 3,
                {"model.K33=1"});
    ws.bad_spec("name: x\n", {"<command line>:1:2: integrator.h: must be > 0"}, 3,
                {"training.epochs=1", "integrator.h=0"});
  }
  SUBCASE("a base: cycle and a missing include") {
    ws.dir.write("b1.yaml", "base: b2.yaml\n");
    ws.dir.write("b2.yaml", "base: bad.yaml\n");
    auto r = ws.bad_spec("name: x\nbase: b1.yaml\n", {"base: base cycle: "});
    CHECK(r.err.find("bad.yaml -> ") != std::string::npos);
    CHECK(r.err.find("b1.yaml -> ") != std::string::npos);
    CHECK(r.err.find("b2.yaml:1:7: base: ") != std::string::npos);
    ws.bad_spec("name: x\nbase: [missing.yaml]\n",
                {"bad.yaml:2:8: base: cannot read base file", "missing.yaml"});
  }
  SUBCASE("an empty sweep") {
    ws.bad_spec("name: x\nsweep: {grid: {model.K3: []}}\n",
                {"bad.yaml:", "sweep.grid.model.K3", "empty list: the sweep would have no runs"});
    ws.bad_spec("name: x\nsweep: {seeds: []}\n", {"sweep.seeds", "no runs"});
  }
  SUBCASE("a sweep of more than a million runs needs --yes") {
    ws.check_validate = false;  // not a bad spec: `run` asks for a confirmation
    auto r = ws.bad_spec("name: x\nsweep: {seeds: {repeat: 1000001}}\n",
                         {"bad.yaml:2:8: sweep: expands to 1000001 runs (more than 1000000); "
                          "pass --yes to run it anyway"});
    // validate says so too, and exits 0 (the spec itself is valid).
    auto v = run_wuxing({"validate", (ws.dir.path / "bad.yaml").string()}, ws.dir.path);
    CHECK(v.exited);
    CHECK(v.code == 0);
    CHECK(v.out.find("`run` needs --yes") != std::string::npos);
  }
  SUBCASE("non-finite numbers, in the spec or an override") {
    ws.bad_spec("model: {K1: .inf}\n", {"bad.yaml:1:13: model.K1: expected a finite number"});
    ws.bad_spec("name: x\n", {"<command line>:1:1: model.K1: expected a finite number, got .inf"},
                3, {"model.K1=.inf"});
    ws.bad_spec("integrator: {h: .nan}\n", {"integrator.h: expected a finite number, got .nan"});
    ws.bad_spec("model: {K3_range: [0.1, .inf]}\n", {"model.K3_range: expected a finite number"});
  }
  SUBCASE("status thresholds out of range") {
    ws.bad_spec("status: {max_unsettled_fraction: 1.5}\n",
                {"status.max_unsettled_fraction: must be in [0, 1]"});
    ws.bad_spec("status: {min_above_chance: -2}\n",
                {"status.min_above_chance: must be in [-1, 1)"});
  }
  SUBCASE("base= on the command line is refused, not ignored") {
    ws.dir.write("other.yaml", "training: {epochs: 3}\n");
    ws.bad_spec("name: x\n", {"<command line>:1:1: base: cannot be overridden on the command line"},
                3, {"base=other.yaml"});
  }
  SUBCASE("limits: no spec makes the tool use unbounded memory or time before it answers") {
    // Exponential alias expansion ("billion laughs"): 10 levels of 10 aliases = 10^10 nodes.
    std::string laughs = "name: x\nl0: &l0 [a, a, a, a, a, a, a, a, a, a]\n";
    for (int i = 1; i <= 9; ++i) {
      const std::string prev = "*l" + std::to_string(i - 1);
      laughs += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [" + prev;
      for (int j = 1; j < 10; ++j) laughs += ", " + prev;
      laughs += "]\n";
    }
    ws.bad_spec(laughs, {"bad.yaml:", "more than 1000000 YAML nodes"});
    // A file of more than 4 MiB.
    ws.bad_spec("name: x\ndescription: " + std::string(5u << 20, 'a') + "\n",
                {"bad.yaml:1:1: ", "bytes, more than the limit of 4194304 bytes"});
    // A diamond of base: files, each read twice per level: 2^20 reads without the limit.
    for (int i = 0; i < 20; ++i)
      ws.dir.write(
          "d" + std::to_string(i) + ".yaml",
          "base: [d" + std::to_string(i + 1) + ".yaml, d" + std::to_string(i + 1) + ".yaml]\n");
    ws.dir.write("d20.yaml", "seed: 1\n");
    ws.bad_spec("name: x\nbase: d0.yaml\n", {"base: more than 256 base: files read"});
    // A network too large to allocate.
    ws.bad_spec("network: {hidden: [1000000, 1000000]}\n",
                {"network.hidden: the network would have", "more than the limit of 268435456"});
  }
  SUBCASE("a spec file that does not exist") {
    ws.bad({"run", (ws.dir.path / "nothere.yaml").string()}, {"nothere.yaml"});
  }
}

TEST_CASE("bad data: missing, truncated, wrong magic, count mismatch, gzip error") {
  Workspace ws;
  const fs::path data = ws.dir.path / "data";
  auto bad_data = [&](const std::vector<std::string>& fragments) {
    const auto spec = ws.dir.write("data.yaml", mnist_spec(data));
    // The real trainer: the check must come before any run starts or any file is made.
    return ws.bad({"run", spec.string()}, fragments, 3, {});
  };
  SUBCASE("the good data set runs (so the failures below are about the data)") {
    write_dataset(data);
    // t_max 2 settles nothing (an honest numerical_trouble by default): this case only
    // checks that the data loads and the runs complete.
    const auto spec = ws.dir.write("data.yaml", mnist_spec(data) +
                                                    "integrator: {t_max: 2}\n"
                                                    "status: {max_unsettled_fraction: 1, "
                                                    "min_above_chance: -1}\n");
    auto r =
        run_wuxing({"run", spec.string(), "-o", (ws.dir.path / "ok.h5").string()}, ws.dir.path);
    CAPTURE(r.err);
    CHECK(r.code == 0);
  }
  SUBCASE("missing data file") {
    write_dataset(data);
    fs::remove(data / "t10k-labels-idx1-ubyte");
    bad_data({"cannot find", "t10k-labels-idx1-ubyte", "expected the IDX file there"});
  }
  SUBCASE("missing data directory") { bad_data({"cannot find", "train-images-idx3-ubyte"}); }
  SUBCASE("truncated IDX file") {
    write_dataset(data);
    fs::resize_file(data / "train-images-idx3-ubyte", 16 + 100);
    bad_data({"train-images-idx3-ubyte", "truncated file: expected 320 bytes of payload"});
  }
  SUBCASE("wrong magic number") {
    write_dataset(data);
    std::string bytes = slurp(data / "train-labels-idx1-ubyte");
    bytes[2] = 0x09;
    bytes[0] = 0x12;
    ws.dir.write("data/train-labels-idx1-ubyte", bytes);
    bad_data({"train-labels-idx1-ubyte", "wrong magic number: found bytes 12 00 09 01"});
  }
  SUBCASE("image/label count mismatch") {
    write_dataset(data);
    IdxArray labels;
    labels.dims = {19};
    labels.data.assign(19, 1);
    write_idx(data / "train-labels-idx1-ubyte", labels);
    bad_data({"image/label count mismatch", "has 20 images but", "has 19 labels"});
  }
  SUBCASE("gzip error") {
    write_dataset(data, true);
    std::string bytes = slurp(data / "t10k-images-idx3-ubyte.gz");
    for (std::size_t i = 12; i < bytes.size() - 8; ++i) bytes[i] = static_cast<char>(0xff - i);
    ws.dir.write("data/t10k-images-idx3-ubyte.gz", bytes);
    bad_data({"t10k-images-idx3-ubyte.gz", "gzip error"});
  }
  SUBCASE("more samples asked for than the file has") {
    write_dataset(data);
    const auto spec = ws.dir.write("data.yaml", mnist_spec(data));
    ws.bad({"run", spec.string(), "data.train_size=21"}, {"data.train_size = 21: expected 1..20"},
           3, {});
  }
}

TEST_CASE("bad output: unwritable place, another spec's file, a corrupt file") {
  Workspace ws;
  SUBCASE("an output directory that cannot be created (its parent is a file)") {
    // Tests run as root in CI, so permissions would not stop us: a path under a regular
    // file fails for everyone.
    const auto blocker = ws.dir.write("blocker", "a regular file");
    auto r = run_wuxing({"run", ws.good_spec.string(), "-o", (blocker / "sub" / "out.h5").string()},
                        ws.dir.path, kFake);
    check_clean_failure(r, {"blocker/sub", "cannot create the output directory"});
    CHECK(slurp(blocker) == "a regular file");
  }
  SUBCASE("an output path that is a directory") {
    fs::create_directories(ws.dir.path / "adir");
    auto r = run_wuxing({"run", ws.good_spec.string(), "-o", (ws.dir.path / "adir").string()},
                        ws.dir.path, kFake);
    check_clean_failure(r, {"adir", "is a directory"});
  }
  SUBCASE("a read-only file system") {
    const fs::path mnt = ws.dir.path / "ro";
    fs::create_directories(mnt);
    const std::string cmd = "mount -t tmpfs -o ro,size=1m tmpfs '" + mnt.string() + "' 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) {
      MESSAGE("skipped: cannot mount a read-only tmpfs here (needs root)");
      return;
    }
    auto r = run_wuxing({"run", ws.good_spec.string(), "-o", (mnt / "out.h5").string()},
                        ws.dir.path, kFake);
    std::system(("umount '" + mnt.string() + "'").c_str());
    check_clean_failure(r, {"ro/out.h5", "Read-only file system"});
  }
  SUBCASE("a results file written by a different spec") {
    const Snapshot before = Snapshot::of(ws.existing);
    auto r =
        run_wuxing({"run", ws.good_spec.string(), "training.epochs=2", "-o", ws.existing.string()},
                   ws.dir.path, kFake);
    check_clean_failure(r, {"existing.h5", "was written by spec 'good'", "-o"});
    CHECK(Snapshot::of(ws.existing) == before);
    CHECK_FALSE(fs::exists(ws.existing.string() + ".parts"));
  }
  SUBCASE("a corrupt results file") {
    const auto garbage = ws.dir.write("garbage.h5", "this is not an HDF5 file");
    Snapshot before = Snapshot::of(garbage);
    auto r = run_wuxing({"run", ws.good_spec.string(), "-o", garbage.string()}, ws.dir.path, kFake);
    check_clean_failure(r, {"garbage.h5", "not a readable HDF5 file"});
    CHECK(Snapshot::of(garbage) == before);
    // A real results file cut short.
    const auto cut = ws.dir.path / "cut.h5";
    fs::copy_file(ws.existing, cut);
    fs::resize_file(cut, fs::file_size(cut) / 2);
    before = Snapshot::of(cut);
    r = run_wuxing({"run", ws.good_spec.string(), "-o", cut.string()}, ws.dir.path, kFake);
    check_clean_failure(r, {"cut.h5"});
    CHECK(Snapshot::of(cut) == before);
    CHECK_FALSE(fs::exists(cut.string() + ".parts"));
  }
}

TEST_CASE("fuzz regressions replay through the fuzz entry functions") {
  const fs::path root = fs::path(WUXING_SOURCE_DIR) / "tests" / "fuzz";
  struct Target {
    const char* name;
    void (*entry)(const std::uint8_t*, std::size_t);
  };
  const Target targets[] = {
      {"spec", fuzz::spec_entry}, {"override", fuzz::override_entry}, {"idx", fuzz::idx_entry}};
  int replayed = 0;
  for (const auto& t : targets) {
    for (const char* kind : {"regressions", "corpus"}) {
      const fs::path dir = root / kind / t.name;
      if (!fs::is_directory(dir)) continue;
      for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        CAPTURE(e.path().string());
        const std::string bytes = slurp(e.path());
        // An entry function aborts on a finding; here it must simply return.
        t.entry(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
        ++replayed;
      }
    }
  }
  CHECK(replayed > 10);
}
