// The `search:` section of a spec: the space `wuxing tune` (python3 -m wuxing.tune) searches
// with Optuna, one run per trial (docs/python.md):
//
//   search:
//     trials: 30                  # finished trials (complete or pruned) over all workers
//     pruner: median              # median | successive_halving | none
//     seed: 0                     # the sampler's seed
//     params:                     # as sweep.random.params
//       training.learning_rate: {log_uniform: [1.0e-3, 1.0e-1]}
//       model.K3: {uniform: [0.2, 0.8]}
//       training.batch_size: {int: [10, 100]}
//       training.optimizer: {choice: [sgd, adam]}
//
// A spec with `search:` has no `sweep:`: each trial is one run, stored in the results file with
// the searched keys as its swept columns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing {

struct SearchParam {
  std::string key;   // config key
  std::string kind;  // uniform | log_uniform | int | choice
  double lo = 0, hi = 0;
  std::vector<std::string> choices;  // YAML flow text of each choice
};

struct SearchSpace {
  std::vector<SearchParam> params;  // empty: the spec has no search
  std::int64_t trials = 30;
  std::string pruner = "median";
  std::uint64_t seed = 0;
};

// Throws SpecErrors naming file, line and key for a malformed section.
SearchSpace parse_search(const Spec& spec);

// The errors of the spec's search section (none when there is no section); load_spec reports
// them with the rest.
std::vector<SpecError> search_errors(const Spec& spec);

}  // namespace wuxing
