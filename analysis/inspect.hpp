// Looking at specs and results files without running anything: the resolved spec as YAML
// (`wuxing config`, wuxing.config), and one stored run's details (`wuxing show`,
// `wuxing export`).
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing {

// The spec after composition and overrides, as YAML that `wuxing run` accepts as it is: the
// canonical resolved config (every key, canonical order; the runtime-only `threads` left out),
// the description, and the `sweep:` and `search:` sections as written (overrides applied).
std::string resolved_spec_yaml(const Spec& spec);

// One run's attributes (as text: numbers in shortest round-trip form, lists as "[a, b]") and
// its per-epoch metrics, as stored under /runs/<id>.
struct RunDetails {
  std::string id;
  std::vector<std::pair<std::string, std::string>> attributes;       // in stored (name) order
  std::vector<std::pair<std::string, std::vector<double>>> metrics;  // "epoch" first
  std::string attribute(const std::string& name) const;              // "" when absent
};

// Throws StoreError naming the file when it is not a results file or has no such run. `run`
// may be a unique prefix of a run ID.
RunDetails read_run_details(const std::filesystem::path& file, const std::string& run);

// The run ID that `prefix` names among `ids`; throws StoreError (naming the file) when none or
// several match.
std::string resolve_run_id(const std::filesystem::path& file, const std::vector<std::string>& ids,
                           const std::string& prefix);

}  // namespace wuxing
