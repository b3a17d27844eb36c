// Faults while build/wuxing runs a sweep: SIGKILL at seeded random moments, a double
// Ctrl-C, a full disk, and numerical trouble (NaN, divergence, the step cap, clamps) in
// real runs. Nothing that was reported finished may be lost, no file may be left
// unreadable, and the next run completes the rest.
// (The single clean SIGINT and 8 fixed kill points are in test_runner.cpp.)
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "framework/base/checkpoint.hpp"
#include "framework/pipeline/store.hpp"
#include "tests/support.hpp"

namespace fs = std::filesystem;
using namespace wuxing;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts build/wuxing with stderr (the progress lines) to `err_file`, stdout discarded.
pid_t start_wuxing(const std::vector<std::string>& args, const fs::path& err_file,
                   const std::vector<std::pair<std::string, std::string>>& env) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    const int err_fd = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(null_fd, 1);
    dup2(err_fd, 2);
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    std::string binary = WUXING_FAKE_BINARY;
    argv.push_back(binary.data());
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(WUXING_FAKE_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Run IDs that the progress output reported as finished ("[3/24] run <id> ok: ...").
std::set<std::string> reported_finished(const std::string& progress) {
  // A scan rather than std::regex, whose GCC 12 headers warn under the sanitizer build.
  std::set<std::string> ids;
  const std::string marker = "] run ";
  for (auto at = progress.find(marker); at != std::string::npos;
       at = progress.find(marker, at + 1)) {
    const std::string id = progress.substr(at + marker.size(), 16);
    const bool hex =
        id.size() == 16 && id.find_first_not_of("0123456789abcdef") == std::string::npos;
    const std::size_t after = at + marker.size() + 16;
    if (!hex || after >= progress.size() || progress[after] != ' ') continue;
    for (const char* status : {"ok:", "failed:", "numerical_trouble:"})
      if (progress.compare(after + 1, std::strlen(status), status) == 0) ids.insert(id);
  }
  return ids;
}

// Every run stored in the main file and in leftover parts (id -> start time), opening
// each with the store API (which throws on an unreadable file).
std::map<std::string, std::string> stored_runs(const fs::path& out) {
  std::map<std::string, std::string> found;
  if (fs::exists(out)) {
    for (const auto& [id, r] : read_runs(out)) found[id] = r.start_time;
    (void)read_index(out);
  }
  const fs::path parts(out.string() + ".parts");
  if (fs::is_directory(parts))
    for (const auto& e : fs::directory_iterator(parts))
      if (e.path().extension() == ".h5")
        for (const auto& [id, r] : read_runs(e.path())) found[id] = r.start_time;
  return found;
}

// h5dump -H (the HDF5 tools' own reader) accepts the file.
bool h5dump_reads(const fs::path& file) {
  const std::string cmd = "h5dump -H '" + file.string() + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}
bool have_h5dump() { return std::system("command -v h5dump >/dev/null 2>&1") == 0; }

}  // namespace

TEST_CASE("SIGKILL at 24 seeded random moments never loses a reported run; the rerun finishes") {
  test_support::TempDir dir("faults");
  const fs::path spec = dir.path / "kill.yaml";
  std::ofstream(spec) << "name: kill-random\ndata: {dataset: synthetic, train_size: 50, "
                         "test_size: 10}\ntraining: {epochs: 2}\n"
                         "record: {probe_samples: [0, 1], probe_layers: [0], stability: true}\n"
                         "sweep: {grid: {model.K3: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}, "
                         "seeds: {repeat: 10}}\n";
  const fs::path out = dir.path / "kill.h5";
  const std::vector<std::string> args = {"run",        spec.string(), "-o",
                                         out.string(), "--threads",   "2"};
  // 40 ms per epoch: 80 ms per run, 60 runs on 2 threads; each run prints 3 progress lines
  // (2 epochs, 1 finish). Each kill lands after a seeded random number of progress lines
  // (0: at start-up), so it waits for the child's progress, not for the clock: a loaded
  // machine lands the kills at the same points of the sweep. Assembling after every run
  // gives the kills plenty of renames and HDF5 writes to land in.
  const std::map<std::string, std::string> env = {{"WUXING_FAKE_TRAINER", "40"},
                                                  {"WUXING_ASSEMBLE_INTERVAL", "0"}};
  const std::vector<std::string> argv = test_support::fake_argv(args);
  std::mt19937 rng(20261126);
  std::uniform_int_distribution<int> kill_line(0, 9);
  const bool h5dump = have_h5dump();
  if (!h5dump) MESSAGE("h5dump not found: checking files with the store API only");
  std::map<std::string, std::string> seen;  // id -> start time
  std::set<std::string> reported;           // ever reported finished
  int kills = 0, signalled = 0;
  for (int k = 0; k < 24; ++k) {
    const int line = kill_line(rng);
    CAPTURE(k);
    CAPTURE(line);
    test_support::WatchedChild child(argv, env);
    child.wait_for_lines(line);
    child.signal(SIGKILL);
    const int status = child.wait();
    ++kills;
    if (WIFSIGNALED(status)) ++signalled;
    const auto now = stored_runs(out);  // throws if any file is unreadable
    if (fs::exists(out) && h5dump) CHECK(h5dump_reads(out));
    for (const auto& id : reported_finished(child.output())) reported.insert(id);
    for (const auto& id : reported) {
      CAPTURE(id);
      CHECK(now.count(id) == 1);  // reported finished => stored
    }
    for (const auto& [id, start] : seen) {
      CAPTURE(id);
      REQUIRE(now.count(id) == 1);  // not lost
      CHECK(now.at(id) == start);   // not redone
    }
    seen = now;
  }
  MESSAGE(kills << " kills (" << signalled << " before the sweep ended), " << seen.size()
                << " of 60 runs stored before the final run");
  CHECK(signalled >= 20);
  CHECK(seen.size() < 60);
  const fs::path err = dir.path / "err_final";
  const int status = wait_for(start_wuxing(args, err, {env.begin(), env.end()}));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto runs = read_runs(out);
  CHECK(runs.size() == 60);
  for (const auto& [id, r] : runs) CHECK(r.status == RunStatus::ok);
  for (const auto& [id, start] : seen) CHECK(runs.at(id).start_time == start);
  CHECK(read_index(out).rows == 60);
  if (h5dump) CHECK(h5dump_reads(out));
  CHECK_FALSE(fs::exists(out.string() + ".parts"));
  CHECK_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST_CASE("a second Ctrl-C stops at once: reported runs are kept and the rerun finishes") {
  test_support::TempDir dir("faults");
  const fs::path spec = dir.path / "int.yaml";
  std::ofstream(spec) << "name: int-twice\ndata: {dataset: synthetic, train_size: 50, "
                         "test_size: 10}\ntraining: {epochs: 4}\n"
                         "sweep: {grid: {model.K3: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}}\n";
  const fs::path out = dir.path / "int.h5";
  const std::vector<std::string> args = {"run",        spec.string(), "-o",
                                         out.string(), "--threads",   "2"};
  const std::vector<std::pair<std::string, std::string>> env = {{"WUXING_FAKE_TRAINER", "50"}};
  test_support::WatchedChild child(
      {WUXING_FAKE_BINARY, "run", spec.string(), "-o", out.string(), "--threads", "2"},
      {{"WUXING_FAKE_TRAINER", "50"}});
  // The first Ctrl-C once two runs are reported finished; the second once the first was
  // acknowledged (a second signal sent before the handler ran would merge with the first).
  REQUIRE(child.wait_for(" ok: test acc", 2));
  child.signal(SIGINT);
  const bool acknowledged = child.wait_for("Ctrl-C again");
  if (acknowledged) child.signal(SIGINT);
  int status = child.wait();
  CAPTURE(child.output());
  CHECK(acknowledged);
  // Either the first stop was already complete (exit 130) or the second one ended the
  // process with SIGINT (the documented "stop now").
  CHECK(((WIFEXITED(status) && WEXITSTATUS(status) == 130) ||
         (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT)));
  const auto reported = reported_finished(child.output());
  const auto stored = stored_runs(out);
  for (const auto& id : reported) CHECK(stored.count(id) == 1);
  status = wait_for(start_wuxing(args, dir.path / "err2", env));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(read_runs(out).size() == 6);
}

TEST_CASE("a full disk gives a clear error, keeps what was stored, and resume works once freed") {
  test_support::TempDir dir("faults");
  const fs::path mnt = dir.path / "disk";
  fs::create_directories(mnt);
  // 160 KiB: a few runs (~40 KiB each here) fit, the sweep does not.
  const std::string mount_cmd =
      "mount -t tmpfs -o size=160k tmpfs '" + mnt.string() + "' 2>/dev/null";
  if (std::system(mount_cmd.c_str()) != 0) {
    MESSAGE(
        "skipped: cannot mount a small tmpfs here (needs root); the full-disk test did not run");
    return;
  }
  struct Unmount {
    fs::path p;
    ~Unmount() { std::system(("umount '" + p.string() + "' 2>/dev/null").c_str()); }
  } unmount{mnt};
  const fs::path spec = dir.path / "disk.yaml";
  std::ofstream(spec) << "name: full-disk\ndata: {dataset: synthetic, train_size: 50, "
                         "test_size: 10}\ntraining: {epochs: 3}\n"
                         "record: {probe_samples: [0, 1, 2], probe_layers: [0]}\n"
                         "sweep: {grid: {model.K3: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]}}\n";
  const fs::path out = mnt / "full.h5";
  const std::vector<std::string> args = {"run",        spec.string(), "-o",
                                         out.string(), "--threads",   "1"};
  const std::vector<std::pair<std::string, std::string>> env = {{"WUXING_FAKE_TRAINER", "0"},
                                                                {"WUXING_ASSEMBLE_INTERVAL", "0"}};
  const fs::path err = dir.path / "err";
  int status = wait_for(start_wuxing(args, err, env));
  const std::string message = slurp(err);
  CAPTURE(message);
  REQUIRE(WIFEXITED(status));  // no abort
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(message.find("No space left on device") != std::string::npos);
  CHECK(message.find("full.h5") != std::string::npos);
  for (const char* noise : {"terminate called", "HDF5-DIAG", "Aborted", "AddressSanitizer"})
    CHECK(message.find(noise) == std::string::npos);
  // What was stored is readable and includes everything reported finished.
  const auto before = stored_runs(out);
  for (const auto& id : reported_finished(message)) CHECK(before.count(id) == 1);
  CHECK(before.size() < 8);
  if (fs::exists(out) && have_h5dump()) CHECK(h5dump_reads(out));
  MESSAGE(before.size() << " of 8 runs stored when the disk filled");

  // Free space: the same command completes the rest.
  REQUIRE(std::system(("mount -o remount,size=16m '" + mnt.string() + "'").c_str()) == 0);
  status = wait_for(start_wuxing(args, dir.path / "err2", env));
  CAPTURE(slurp(dir.path / "err2"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  const auto runs = read_runs(out);
  CHECK(runs.size() == 8);
  for (const auto& [id, start] : before) CHECK(runs.at(id).start_time == start);
  CHECK_FALSE(fs::exists(out.string() + ".parts"));
  CHECK_FALSE(fs::exists(out.string() + ".tmp"));
}

TEST_CASE("numerical trouble in real runs is recorded per run and the sweep goes on") {
  test_support::TempDir dir("faults");
  const fs::path spec = dir.path / "num.yaml";
  // Real (tiny) training on the synthetic set. bptt with a learning rate of 1e308
  // overflows its coefficients (the connection rule's clamps would absorb it); a pixel
  // scale of 1e308 gives input neurons no steady state; a step cap of 3 and a narrow
  // clamp box make the trouble counters count.
  std::ofstream(spec) << "name: numerics\nseed: 1\n"
                         "data: {dataset: synthetic, train_size: 40, test_size: 20, "
                         "synthetic_features: 8, synthetic_classes: 2}\n"
                         "network: {hidden: [4]}\n"
                         "integrator: {t_max: 20}\n"
                         "training: {epochs: 3, batch_size: 10}\n"
                         // Off, but for `unsettled`: runs this small settle poorly.
                         "status: {max_unsettled_fraction: 1, min_above_chance: -1}\n"
                         "sweep:\n  ablations:\n    normal: \n"
                         "    unsettled: {integrator.h: 1.0e308, "
                         "status.max_unsettled_fraction: 0.5}\n"
                         "    diverge: {training.rule: bptt, training.learning_rate: 1.0e308}\n"
                         "    nan_input: {data.pixel_scale: 1.0e308}\n"
                         "    step_cap: {integrator.max_steps: 3}\n"
                         "    clamp: {network.x_max: 0.05}\n";
  const fs::path out = dir.path / "num.h5";
  const fs::path err = dir.path / "err";
  const int status =
      wait_for(start_wuxing({"run", spec.string(), "-o", out.string(), "--threads", "2"}, err, {}));
  const std::string message = slurp(err);
  CAPTURE(message);
  REQUIRE(WIFEXITED(status));
  auto index = read_index(out);
  REQUIRE(index.rows == 6);  // every run stored, troubled or not
  std::map<std::string, std::size_t> row;
  for (std::size_t i = 0; i < index.rows; ++i) row[index.text["ablation"][i]] = i;
  const auto id = [&](const std::string& a) { return index.text["run_id"][row.at(a)]; };
  const auto sum = [&](const std::string& a, const std::string& metric) {
    double s = 0;
    for (double v : read_metric(out, id(a), metric)) s += v;
    return s;
  };
  CHECK(index.text["status"][row.at("normal")] == "ok");
  CHECK(sum("normal", "non_finite") == 0);
  // Divergence: recorded as numerical_trouble with its reason, the exit code says a run
  // failed, and the message names it.
  CHECK(index.text["status"][row.at("diverge")] == "numerical_trouble");
  CHECK(index.text["reason"][row.at("diverge")].find("non-finite") != std::string::npos);
  CHECK(sum("diverge", "non_finite") > 0);
  CHECK(index.text["status"][row.at("nan_input")] == "failed");
  CHECK(index.text["reason"][row.at("nan_input")].find("no steady state") != std::string::npos);
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(message.find("failed: run " + id("diverge") + ": numerical_trouble") != std::string::npos);
  CHECK(message.find("failed: run " + id("nan_input") + ": failed") != std::string::npos);
  // A run that trained to the end with (nearly) no forward phase settled is not `ok`.
  CHECK(index.text["status"][row.at("unsettled")] == "numerical_trouble");
  CHECK(index.text["reason"][row.at("unsettled")].find("forward phases mostly did not settle") !=
        std::string::npos);
  CHECK(message.find("3 run(s) failed") != std::string::npos);
  CHECK(message.find("--rerun-failed") != std::string::npos);
  // The step cap and the clamps are counted per epoch in the store.
  CHECK(sum("step_cap", "step_cap_hits") > 0);
  CHECK(sum("normal", "step_cap_hits") == 0);
  CHECK(sum("clamp", "clamp_events") > 0);
  CHECK(sum("normal", "clamp_events") == 0);
}

TEST_CASE("kill -9 at 20+ points of a 5-epoch run: no finished epoch lost, bit-identical resume") {
  test_support::TempDir dir("faults");
  const fs::path spec = dir.path / "ckpt.yaml";
  // Real training (adam: optimizer moments; stability records) on the synthetic set, a few
  // hundred ms per epoch.
  std::ofstream(spec) << "name: ckpt\nseed: 3\ndata: {dataset: synthetic, train_size: 300, "
                         "test_size: 60}\nnetwork: {hidden: [6]}\n"
                         "training: {epochs: 5, batch_size: 10, optimizer: adam, "
                         "learning_rate: 0.01}\nrecord: {stability: true}\n";
  const fs::path reference = dir.path / "ref.h5";
  const fs::path out = dir.path / "out.h5";
  auto argv_for = [&](const fs::path& o) {
    return std::vector<std::string>{WUXING_FAKE_BINARY, "run", spec.string(), "-o", o.string(),
                                    "--threads",        "1"};
  };
  int ref_code = -1;
  {
    test_support::WatchedChild ref(argv_for(reference), {});
    ref_code = ref.exit_code();
    CAPTURE(ref.output());
    REQUIRE((ref_code == 0 || ref_code == 1));  // 1: a status other than ok, also fine here
  }
  const std::string id = read_index(reference).text.at("run_id").at(0);
  const fs::path ckpt = checkpoint_path(checkpoint_dir(out), id);
  // Kill points, repeated: at start-up; once the run has started (it prints that it resumes,
  // so the kill lands in the data loading or inside the next epoch); and right after an
  // epoch was reported (its checkpoint must already be on disk). Only the last kind moves
  // the run on, so every epoch is interrupted at several points.
  enum class At { startup, resumed, epoch_reported };
  const At cycle[] = {At::startup, At::resumed, At::resumed, At::startup, At::epoch_reported};
  int kills = 0, reported = 0, done_before = 0;
  bool finished = false;
  for (int k = 0; !finished && k < 60; ++k) {
    const At at = cycle[k % 5];
    CAPTURE(k);
    test_support::WatchedChild child(argv_for(out), {});
    bool landed = true;
    if (at == At::resumed && done_before > 0)
      landed = child.wait_for("resumes from its checkpoint");
    if (at == At::epoch_reported) landed = child.wait_for("/5: train acc");
    child.signal(SIGKILL);
    const int status = child.wait();
    finished = WIFEXITED(status);
    if (finished) CHECK(WEXITSTATUS(status) == ref_code);
    if (WIFSIGNALED(status) && landed) ++kills;
    // The epochs this start reported finished ("epoch e/5: ...").
    for (std::size_t at_line = child.output().find("epoch "); at_line != std::string::npos;
         at_line = child.output().find("epoch ", at_line + 1)) {
      const int e = std::atoi(child.output().c_str() + at_line + 6);
      if (child.output().compare(at_line + 6 + std::to_string(e).size(), 3, "/5:") == 0)
        reported = std::max(reported, e);
    }
    if (finished) break;
    const auto state = read_checkpoint(ckpt, id);
    int done = state ? state->epochs_done : 0;
    // A kill after the last epoch may land after the run was stored, which removes its
    // checkpoint: then all 5 epochs are kept, in the results file.
    if (!state && fs::exists(out)) {
      const auto stored = read_index(out).text.at("run_id");
      if (std::find(stored.begin(), stored.end(), id) != stored.end()) done = 5;
    }
    CAPTURE(done);
    CAPTURE(reported);
    CHECK(done >= reported);     // no epoch reported finished is lost
    CHECK(done >= done_before);  // and none stored before
    done_before = done;
  }
  MESSAGE(kills << " kills landed before the run finished; epochs checkpointed before the last "
                   "start: "
                << done_before);
  CHECK(kills >= 20);
  if (!finished) {
    test_support::WatchedChild last(argv_for(out), {});
    REQUIRE(last.exit_code() == ref_code);
  }
  // Resumed at every kill, and still the uninterrupted run's results, bit for bit: /index and
  // the metrics (but the clocks), and with h5diff the final parameters and the stability
  // records (eigenvalues of every epoch).
  test_support::require_same_results(reference, out);
  if (std::system("command -v h5diff >/dev/null 2>&1") == 0) {
    for (const char* group : {"parameters", "stability"}) {
      const std::string g = "/runs/" + id + "/" + group;
      CAPTURE(g);
      CHECK(std::system(
                ("h5diff -q '" + reference.string() + "' '" + out.string() + "' " + g + " " + g)
                    .c_str()) == 0);
    }
  } else {
    MESSAGE("h5diff not found: final parameters not compared");
  }
  CHECK(read_runs(out).at(id).status == read_runs(reference).at(id).status);
  CHECK_FALSE(fs::exists(checkpoint_dir(out)));
}
