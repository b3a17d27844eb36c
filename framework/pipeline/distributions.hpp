// The distributions a spec may draw a config key from, shared by `sweep.random.params`
// (framework/pipeline/sweep.cpp) and `search.params` (framework/pipeline/search.hpp):
//   {uniform: [lo, hi]}, {log_uniform: [lo, hi]} (0 < lo), {int: [lo, hi]}, {choice: [a, b, ...]}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing::detail {

struct Distribution {
  std::string key;   // the config key drawn
  std::string kind;  // uniform | log_uniform | int | choice
  double lo = 0, hi = 0;
  std::vector<SpecNode> choices;
  Origin origin;  // of the distribution's value
};

// Parses `value` (the distribution of config key `key`, written at `where`, e.g.
// "sweep.random.params.model.K3"). Appends the errors and returns nullopt when it is not valid.
std::optional<Distribution> parse_distribution(const std::string& key, const SpecNode& value,
                                               const std::string& where,
                                               std::vector<SpecError>& errors);

// A string as a double-quoted YAML scalar.
std::string quote_yaml(const std::string& s);
// A YAML value in flow style ("[a, b]", "{k: v}", quoted strings kept quoted).
std::string flow_yaml(const SpecNode& node);

}  // namespace wuxing::detail
