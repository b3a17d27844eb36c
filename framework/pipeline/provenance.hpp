// Where a result came from: the source commit (and whether the tree was dirty), the
// library versions, the compiler and the host. Recorded with every run.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "framework/pipeline/layer.hpp"

namespace wuxing {

struct Provenance {
  std::string git_commit;         // full hash of the built commit, or "unknown"
  bool git_dirty = false;         // the tree had uncommitted changes when it was built
  std::string git_commit_source;  // "build": recorded when the binary was built
  std::string wuxing_version;
  std::string host;
  std::vector<std::pair<std::string, std::string>> libraries;  // name -> version, compiler included
};

// Computed once per process from what scripts/build-info.cmake recorded when the binary
// was built: the commit of the code that runs, not the source tree's HEAD at run time.
const Provenance& provenance();

// Empty when the source tree this binary was built from is still at the built commit with
// the same uncommitted changes (or is not there); otherwise a one-line warning that it has
// moved on (results keep recording the built commit).
std::string source_tree_warning();

// Current UTC time as ISO 8601 with milliseconds ("2026-11-26T18:35:10.123Z").
std::string utc_now_iso();

}  // namespace wuxing
