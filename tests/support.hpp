// Fixtures shared by the test files. Header-only on purpose: CMake registers every
// tests/*.cpp as its own ctest entry, and a support.cpp would become an entry with no
// test case in it.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing::test_support {

// A fresh, empty directory under the system temp directory, removed with all it holds
// when it goes out of scope. The component name and the pid keep test binaries run in
// parallel (ctest -j) out of each other's way.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view component) {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("wuxing_" + std::string(component) + "_" + std::to_string(::getpid()) + "_" +
            std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;  // never throw from a destructor (e.g. a tmpfs still mounted below)
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& name) const { return path / name; }
  // Writes `text` (as bytes) to `name` below the directory, making its folders; its path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
};

// The record the runner would store for `run`, with fixed start and end times and the
// result left for the caller to fill in.
inline RunRecord record_skeleton(const PlannedRun& run) {
  RunRecord rec = make_run_record(run);
  rec.start_time = "2026-01-01T00:00:00.000Z";
  rec.end_time = "2026-01-01T00:00:01.000Z";
  return rec;
}

// A small sweep with real training on synthetic data (4 runs of a few seconds), for the
// tests that compare ways of distributing a sweep with one process.
inline std::string real_training_spec(std::string_view name) {
  return "name: " + std::string(name) +
         "\ndata: {dataset: synthetic, train_size: 60, test_size: 20}\n"
         "training: {epochs: 2}\nrecord: {probe_samples: [0], probe_layers: [0]}\n"
         // Runs this small mostly do not settle; these tests compare ways of distributing a
         // sweep, not statuses, so every run counts as ok.
         "status: {max_unsettled_fraction: 1, min_above_chance: -1}\n"
         "sweep: {grid: {model.K3: [0.3, 0.6]}, seeds: {repeat: 2}}\n";
}

// A child process's exit status and everything it wrote (stdout and stderr together).
struct Child {
  int status = -1;
  std::string output;
  int exit_code() const { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
};

// Runs argv (argv[0] looked up on PATH) with extra environment variables to its end, its
// output going to `log`.
inline Child run_child(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env,
                       const std::filesystem::path& log) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  Child c;
  waitpid(pid, &c.status, 0);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  c.output = ss.str();
  return c;
}

// build/wuxing_fake's command line with `args`, after `launcher` (e.g. mpirun -np 2) if any.
inline std::vector<std::string> fake_argv(const std::vector<std::string>& args,
                                          std::vector<std::string> launcher = {}) {
  launcher.push_back(WUXING_FAKE_BINARY);
  launcher.insert(launcher.end(), args.begin(), args.end());
  return launcher;
}

// Runs build/wuxing_fake with `args` and extra environment to its end.
inline Child run_fake(const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env,
                      const std::filesystem::path& log) {
  return run_child(fake_argv(args), env, log);
}

// A child process whose stderr (where build/wuxing writes its progress lines) comes through
// a pipe, so that a test can wait for the event it needs (a run reported finished, a
// message) instead of sleeping a fixed time; stdout goes to /dev/null. Reading the pipe
// is what paces the test, so a loaded machine passes as an idle one does.
class WatchedChild {
 public:
  WatchedChild(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(fds[0]);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      const int null_fd = ::open("/dev/null", O_WRONLY);
      dup2(null_fd, 1);
      dup2(fds[1], 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    ::close(fds[1]);
    fd_ = fds[0];
  }
  WatchedChild(const WatchedChild&) = delete;
  WatchedChild& operator=(const WatchedChild&) = delete;
  ~WatchedChild() {
    if (pid_ > 0 && status_ < 0) {
      kill(pid_, SIGKILL);
      (void)wait();
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Reads stderr until `count` lines (counted from the start) contain `needle`. Returns
  // false when stderr closed first (the child ended or closed it).
  bool wait_for(std::string_view needle, int count = 1) {
    for (;;) {
      int seen = 0;
      std::size_t at = 0, line_start = 0;
      for (std::size_t nl; (nl = output_.find('\n', line_start)) != std::string::npos;
           line_start = nl + 1) {
        at = output_.find(needle, line_start);
        if (at != std::string::npos && at < nl && ++seen >= count) return true;
      }
      if (!read_some()) return false;
    }
  }
  // Lines seen so far.
  int lines() const {
    int n = 0;
    for (char c : output_) n += c == '\n';
    return n;
  }
  // Reads stderr until `count` lines have come (false if it closed first).
  bool wait_for_lines(int count) {
    while (lines() < count)
      if (!read_some()) return false;
    return true;
  }
  void signal(int sig) { kill(pid_, sig); }
  // Reads stderr to its end and reaps the child; returns its wait status.
  int wait() {
    if (status_ >= 0) return status_;
    while (read_some()) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    status_ = status;
    return status_;
  }
  int exit_code() {
    const int s = wait();
    return WIFEXITED(s) ? WEXITSTATUS(s) : -1;
  }
  const std::string& output() const { return output_; }

 private:
  bool read_some() {
    if (fd_ < 0) return false;
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n > 0) {
        output_.append(buf, static_cast<std::size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      ::close(fd_);
      fd_ = -1;
      return false;
    }
  }
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = -1;
  std::string output_;
};

// Every column of /index (but the wall and start times, which differ between two
// executions) and every per-epoch metric of every run must be identical; with
// `same_header`, the spec fingerprints too.
inline void require_same_results(const std::filesystem::path& a, const std::filesystem::path& b,
                                 bool same_header = true) {
  const auto same = [](double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); };
  const IndexTable ia = read_index(a), ib = read_index(b);
  REQUIRE(ia.columns == ib.columns);
  REQUIRE(ia.rows == ib.rows);
  for (const auto& c : ia.columns) {
    if (c == "wall_seconds" || c == "start_time") continue;
    CAPTURE(c);
    if (ia.text.count(c)) {
      CHECK(ia.text.at(c) == ib.text.at(c));
    } else {
      const auto& x = ia.numeric.at(c);
      const auto& y = ib.numeric.at(c);
      REQUIRE(x.size() == y.size());
      for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(x[i], y[i]));
    }
  }
  if (same_header) CHECK(read_header(a).fingerprint == read_header(b).fingerprint);
  for (const auto& id : ia.text.at("run_id"))
    for (const char* m : {"test_accuracy", "train_accuracy", "train_loss", "test_loss",
                          "unsettled_fraction", "mean_steps", "clamp_events"}) {
      CAPTURE(id);
      CAPTURE(m);
      const auto x = read_metric(a, id, m), y = read_metric(b, id, m);
      REQUIRE(x.size() == y.size());
      for (std::size_t i = 0; i < x.size(); ++i) CHECK(same(x[i], y[i]));
    }
}

}  // namespace wuxing::test_support
