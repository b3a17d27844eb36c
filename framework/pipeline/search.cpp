#include "framework/pipeline/search.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "framework/pipeline/distributions.hpp"

namespace wuxing {

namespace {

const std::vector<std::string> kPruners = {"median", "successive_halving", "none"};

SearchSpace parse(const Spec& spec, std::vector<SpecError>& errors) {
  SearchSpace space;
  const SpecNode* node = spec.tree.find("search");
  if (!node || node->is_null()) return space;
  auto error = [&](const Origin& o, const std::string& key, const std::string& message) {
    errors.push_back(make_spec_error(o, key, message));
  };
  if (!node->is_map()) {
    error(node->origin, "search", "expected a mapping (params:, trials:, pruner:, seed:)");
    return space;
  }
  if (const SpecNode* sweep = spec.sweep(); sweep && !sweep->is_null())
    error(sweep->origin, "sweep",
          "a spec with search: has no sweep: (each trial is one run); remove one of them");
  ExperimentConfig scratch;
  for (const auto& e : node->entries) {
    const std::string where = "search." + e.key;
    if (e.key == "trials") {
      try {
        apply_value(scratch, "integrator.max_steps", e.value);  // an integer
        space.trials = scratch.integrator.max_steps;
      } catch (const SpecErrors&) {
        space.trials = 0;
      }
      if (space.trials < 1) error(e.value.origin, where, "expected a positive integer");
    } else if (e.key == "seed") {
      try {
        apply_value(scratch, "seed", e.value);
        space.seed = scratch.seed;
      } catch (const SpecErrors&) {
        error(e.value.origin, where, "expected a non-negative integer");
      }
    } else if (e.key == "pruner") {
      space.pruner = e.value.scalar;
      if (!e.value.is_scalar() ||
          std::find(kPruners.begin(), kPruners.end(), space.pruner) == kPruners.end())
        error(e.value.origin, where,
              fmt::format("unknown pruner; expected one of: {}", fmt::join(kPruners, ", ")));
    } else if (e.key != "params") {
      error(e.key_origin, where, "unknown key; expected params, trials, pruner or seed");
    }
  }
  const SpecNode* params = node->find("params");
  if (!params || !params->is_map() || params->entries.empty()) {
    error(params ? params->origin : node->origin, "search.params",
          "expected a non-empty mapping {key.path: {uniform: [lo, hi]}, ...}");
    return space;
  }
  for (const auto& e : params->entries) {
    const std::string where = "search.params." + e.key;
    if (e.key == "seed" || e.key == "name" || e.key == "threads") {
      error(e.key_origin, where, "cannot be searched");
      continue;
    }
    if (!is_config_key(e.key)) {
      const std::string hint = nearest_key(e.key);
      error(e.key_origin, where,
            hint.empty() ? std::string("unknown config key")
                         : fmt::format("unknown config key; did you mean '{}'?", hint));
      continue;
    }
    auto d = detail::parse_distribution(e.key, e.value, where, errors);
    if (!d) continue;
    SearchParam p{d->key, d->kind, d->lo, d->hi, {}};
    for (const auto& c : d->choices) p.choices.push_back(detail::flow_yaml(c));
    space.params.push_back(std::move(p));
  }
  return space;
}

}  // namespace

SearchSpace parse_search(const Spec& spec) {
  std::vector<SpecError> errors;
  SearchSpace space = parse(spec, errors);
  if (!errors.empty()) throw SpecErrors(std::move(errors));
  return space;
}

std::vector<SpecError> search_errors(const Spec& spec) {
  std::vector<SpecError> errors;
  (void)parse(spec, errors);
  return errors;
}

}  // namespace wuxing
