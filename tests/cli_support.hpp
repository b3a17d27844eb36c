// Running build/wuxing as a user would and checking how it fails: shared by the bad-input
// catalogue (test_reliability.cpp) and the command-line tests (test_cli.cpp). Header-only for
// the reason given in support.hpp.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace wuxing::test_support {

namespace fs = std::filesystem;

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Outcome {
  bool exited = false;
  int code = -1;    // exit code if exited
  int signal = 0;   // terminating signal otherwise
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `binary` with `args` in `cwd`, extra environment `env`; waits for it.
inline Outcome run_binary(const std::string& binary, const std::vector<std::string>& args,
                          const fs::path& cwd,
                          const std::vector<std::pair<std::string, std::string>>& env = {}) {
  static int counter = 0;
  const fs::path out_file =
      fs::temp_directory_path() /
      ("wuxing_rel_out_" + std::to_string(::getpid()) + "_" + std::to_string(counter));
  const fs::path err_file =
      fs::temp_directory_path() /
      ("wuxing_rel_err_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::chdir(cwd.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::string name = binary;
    std::vector<char*> argv;
    argv.push_back(name.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(name.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome r;
  r.exited = WIFEXITED(status);
  if (r.exited) r.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = slurp(out_file);
  r.err = slurp(err_file);
  fs::remove(out_file);
  fs::remove(err_file);
  return r;
}

// Runs build/wuxing with `args` in `cwd`, extra environment `env`; waits for it. When `env`
// sets WUXING_FAKE_TRAINER, runs build/wuxing_fake: the fake trainer is only in the tests'
// build of the command line (tests/fake/).
inline Outcome run_wuxing(const std::vector<std::string>& args, const fs::path& cwd,
                          const std::vector<std::pair<std::string, std::string>>& env = {}) {
  bool fake = false;
  for (const auto& kv : env) fake = fake || kv.first == "WUXING_FAKE_TRAINER";
  return run_binary(fake ? WUXING_FAKE_BINARY : WUXING_BINARY, args, cwd, env);
}

// Lines that mean the program did not handle the error itself.
inline const char* kNoise[] = {"terminate called", "what():",       "Aborted",   "core dumped",
                               "AddressSanitizer", "runtime error", "HDF5-DIAG", "Traceback",
                               "Segmentation",     "std::",         "Assertion", "basic_string"};

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find("WUXING_FAKE_TRAINER is set") == std::string::npos && !line.empty())
      out.push_back(line);
  return out;
}

// The common checks of every bad-input case.
inline void check_clean_failure(const Outcome& r, const std::vector<std::string>& fragments,
                                std::size_t max_lines = 3) {
  CAPTURE(r.err);
  CAPTURE(r.out);
  REQUIRE(r.exited);  // not killed by a signal (abort, segfault)
  CHECK(r.code != 0);
  for (const char* noise : kNoise) CHECK(r.err.find(noise) == std::string::npos);
  const auto lines = lines_of(r.err);
  CHECK(lines.size() >= 1);
  CHECK(lines.size() <= max_lines);
  for (const auto& f : fragments) {
    CAPTURE(f);
    CHECK(r.err.find(f) != std::string::npos);
  }
}

}  // namespace wuxing::test_support
