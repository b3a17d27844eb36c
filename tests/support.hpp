// Fixtures shared by the test files. Header-only on purpose: CMake registers every
// tests/*.cpp as its own ctest entry, and a support.cpp would become an entry with no
// test case in it.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "framework/store.hpp"
#include "framework/sweep.hpp"

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
};

// The record the runner would store for `run`, with fixed start and end times and the
// result left for the caller to fill in.
inline RunRecord record_skeleton(const PlannedRun& run) {
  RunRecord rec;
  rec.id = run.id;
  rec.plan_index = run.index;
  rec.config_yaml = run.yaml;
  rec.seed = run.config.seed;
  rec.ablation = run.ablation;
  rec.swept = run.swept;
  rec.start_time = "2026-01-01T00:00:00.000Z";
  rec.end_time = "2026-01-01T00:00:01.000Z";
  return rec;
}

}  // namespace wuxing::test_support
