#include "framework/pipeline/provenance.hpp"

#include <H5public.h>
#include <fmt/format.h>
#include <unistd.h>

#include <Eigen/Core>
#include <array>
#include <boost/version.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>

#ifndef WUXING_SOURCE_DIR
#define WUXING_SOURCE_DIR "."
#endif
#ifndef WUXING_VERSION
#define WUXING_VERSION "unknown"
#endif
#ifndef WUXING_YAML_CPP_VERSION
#define WUXING_YAML_CPP_VERSION "unknown"
#endif

namespace wuxing {

namespace detail {
// Written at every build by scripts/build-info.cmake (build/generated/build_info.cpp).
extern const char* const kBuildCommit;
extern const bool kBuildDirty;
extern const char* const kBuildDiffHash;
}  // namespace detail

namespace {

// Runs a command and returns its stdout, or nullopt-like empty + ok=false on failure.
bool capture(const std::string& command, std::string& out) {
  out.clear();
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return false;
  std::array<char, 512> buf{};
  std::size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return status == 0;
}

Provenance compute() {
  Provenance p;
  p.wuxing_version = WUXING_VERSION;
  const std::string built = detail::kBuildCommit;
  p.git_commit = built.empty() ? "unknown" : built;
  p.git_dirty = detail::kBuildDirty;
  p.git_commit_source = "build";
  std::array<char, 256> host{};
  if (gethostname(host.data(), host.size() - 1) == 0) p.host = host.data();

  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
  p.libraries = {
    {"yaml-cpp", WUXING_YAML_CPP_VERSION},
    {"fmt",
     fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
    {"hdf5", fmt::format("{}.{}.{}", maj, min, rel)},
    {"eigen",
     fmt::format("{}.{}.{}", EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION)},
    {"boost", fmt::format("{}.{}.{}", BOOST_VERSION / 100000, BOOST_VERSION / 100 % 1000,
                          BOOST_VERSION % 100)},
#if defined(__clang__)
    {"compiler", fmt::format("clang {}", __clang_version__)},
#elif defined(__GNUC__)
    {"compiler", fmt::format("gcc {}", __VERSION__)},
#else
    {"compiler", "unknown"},
#endif
#ifdef _OPENMP
    {"openmp", fmt::format("{}", _OPENMP)},
#endif
  };
  return p;
}

}  // namespace

const Provenance& provenance() {
  static const Provenance p = compute();
  return p;
}

std::string source_tree_warning() {
  const Provenance& p = provenance();
  const std::string dir = WUXING_SOURCE_DIR;
  std::string head;
  if (p.git_commit == "unknown" ||
      !capture(fmt::format("git -C '{}' rev-parse HEAD 2>/dev/null", dir), head) ||
      head.size() < 40)
    return {};  // no source tree here (an installed binary): nothing to compare with
  if (head != p.git_commit)
    return fmt::format(
        "this binary was built from commit {}{} but the source tree {} is now at {}: results "
        "record the built commit; rebuild to run the current code",
        p.git_commit.substr(0, 12), p.git_dirty ? " (with uncommitted changes)" : "", dir,
        head.substr(0, 12));
  std::string status;
  if (!capture(fmt::format("git -C '{}' status --porcelain --untracked-files=no 2>/dev/null", dir),
               status))
    return {};
  std::string diff_hash;
  if (!status.empty())
    capture(
        fmt::format("git -C '{}' diff HEAD 2>/dev/null | git hash-object --stdin 2>/dev/null", dir),
        diff_hash);
  if (status.empty() != !p.git_dirty || diff_hash != detail::kBuildDiffHash)
    return fmt::format(
        "the source tree {} has {} uncommitted changes than when this binary was built (commit "
        "{}): results record the built state; rebuild to run the current code",
        dir, status.empty() ? "fewer" : "other", p.git_commit.substr(0, 12));
  return {};
}

std::string utc_now_iso() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t t = system_clock::to_time_t(now);
  const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace wuxing
