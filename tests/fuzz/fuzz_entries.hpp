// The entry functions of the fuzz targets (tests/fuzz/fuzz_*.cpp). They live in a
// header so that the doctest suite (tests/test_reliability.cpp) replays every committed
// crash input (tests/fuzz/regressions/<target>/) through exactly the same code.
//
// An entry function may throw only the errors the API documents for bad input
// (SpecErrors, DataError); anything else, a sanitizer report, or a broken invariant
// (checked with fuzz_require) is a finding.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing::fuzz {

// A broken invariant: report it and abort so that libFuzzer keeps the input.
inline void fuzz_require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

// Spec loader + validator + sweep expansion + canonical form.
inline void spec_entry(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  // `base:` reads files named by the input; a fuzzer would wander the file system
  // (and /dev/zero never ends), which tests nothing of ours.
  if (text.find("base") != std::string::npos) return;
  Spec spec;
  try {
    spec = load_spec_text(text, "fuzz.yaml");
  } catch (const SpecErrors& e) {
    fuzz_require(!e.errors().empty(), "SpecErrors without an error");
    return;
  }
  // A loaded spec is valid: its canonical form must read back to the same config.
  const std::string canonical = canonical_yaml(spec.base);
  ExperimentConfig back;
  try {
    back = config_from_yaml(canonical);
  } catch (const SpecErrors& e) {
    std::fprintf(stderr, "%s\n---\n%s\n", e.what(), canonical.c_str());
    fuzz_require(false, "canonical_yaml of a valid spec does not load");
  }
  fuzz_require(canonical_yaml(back) == canonical, "canonical_yaml does not round-trip");
  fuzz_require(run_id(back) == run_id(spec.base), "run_id changes on round trip");
  fuzz_require(validate_config(back, [](const std::string&) { return Origin{}; }).empty(),
               "canonical form of a valid config fails validation");
  // Sweep expansion, kept small so that one input stays fast.
  std::uint64_t n = 0;
  try {
    n = count_runs(spec);
  } catch (const SpecErrors&) {
    return;
  }
  if (n > 64) return;
  try {
    SweepPlan plan = expand_sweep(spec);
    fuzz_require(plan.runs.size() == n, "count_runs disagrees with expand_sweep");
    for (const auto& r : plan.runs) {
      fuzz_require(r.id == run_id(r.config), "planned run id is not run_id(config)");
      fuzz_require(r.swept.size() == plan.columns.size(), "swept values do not match the columns");
    }
  } catch (const SpecErrors& e) {
    fuzz_require(!e.errors().empty(), "SpecErrors without an error");
  }
}

// One command-line override applied to a small valid spec.
inline void override_entry(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (text.find("base") != std::string::npos) return;  // see spec_entry
  try {
    auto [parts, value] = parse_override(text, 1);
    fuzz_require(!parts.empty(), "override with an empty key path");
    for (const auto& p : parts) fuzz_require(!p.empty(), "empty key component");
  } catch (const SpecErrors& e) {
    fuzz_require(!e.errors().empty(), "SpecErrors without an error");
    return;
  }
  try {
    Spec spec = load_spec_text("name: fuzz\ndata: {dataset: synthetic, test_size: 10}\n",
                               "fuzz.yaml", {text});
    const std::string canonical = canonical_yaml(spec.base);
    fuzz_require(canonical_yaml(config_from_yaml(canonical)) == canonical,
                 "canonical_yaml does not round-trip");
    if (count_runs(spec) <= 64) (void)expand_sweep(spec);
  } catch (const SpecErrors& e) {
    fuzz_require(!e.errors().empty(), "SpecErrors without an error");
  }
}

// The IDX reader on arbitrary bytes (plain or gzip), through an in-memory file.
inline void idx_entry(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("fuzz_idx", 0);
  fuzz_require(fd >= 0, "memfd_create failed");
  std::size_t written = 0;
  while (written < size) {
    const ssize_t n = ::write(fd, data + written, size - written);
    fuzz_require(n > 0, "write to memfd failed");
    written += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    IdxArray a = read_idx(path);
    std::uint64_t payload = 1;
    for (auto d : a.dims) payload *= d;
    fuzz_require(!a.dims.empty(), "IDX array without dims");
    fuzz_require(payload == a.data.size(), "IDX payload size does not match its dims");
  } catch (const DataError&) {
  }
  ::close(fd);
}

}  // namespace wuxing::fuzz
