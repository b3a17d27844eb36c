// Where a result came from: the source commit (and whether the tree was dirty), the
// library versions, the compiler and the host. Recorded with every run.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wuxing {

struct Provenance {
  std::string git_commit;         // full hash, or "unknown"
  bool git_dirty = false;         // uncommitted changes in the source tree
  std::string git_commit_source;  // "runtime" (git at run time) or "build" (configure time)
  std::string wuxing_version;
  std::string host;
  std::vector<std::pair<std::string, std::string>> libraries;  // name -> version, compiler included
};

// Computed once per process: `git -C WUXING_SOURCE_DIR rev-parse HEAD` and
// `git status --porcelain` at run time, falling back to the commit seen when the
// build was configured if git or the source tree is not available.
const Provenance& provenance();

// Current UTC time as ISO 8601 with milliseconds ("2026-11-26T18:35:10.123Z").
std::string utc_now_iso();

}  // namespace wuxing
