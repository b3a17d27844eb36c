// Sweeps: the `sweep:` section of a spec expanded into a list of runs.
//
//   sweep:
//     grid:   {model.K3: [0.2, 0.4], training.learning_rate: [0.01, 0.1]}   # cartesian product
//     random: {samples: 8, seed: 1, params: {training.learning_rate: {log_uniform: [1e-3, 1e-1]},
//                                            model.K3: {uniform: [0.2, 0.8]},
//                                            training.rule: {choice: [connection, bptt]},
//                                            training.batch_size: {int: [10, 100]}}}
//     zip:    {model.K1: [1.0, 2.0], model.K3: [0.5, 1.0]}                 # lockstep
//     ablations: {no_noise: {data.input_noise: 0.0}, big: {network.hidden: [200]}}
//     seeds:  [0, 1, 2]          # literal seeds, or
//     seeds:  {repeat: 3}        # seed = base seed + 0, 1, 2
//
// Runs = (grid x random x zip x ablations) x seeds, in that nesting order (seeds
// innermost). A key may be swept by one kind only. Each run's ID is run_id() of its
// resolved config, so the same run always has the same ID.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing {

struct SweptValue {
  std::string key;   // config key path, or "ablation"
  std::string text;  // canonical value text (strings unquoted)
};

struct PlannedRun {
  std::size_t index = 0;  // position in the plan
  ExperimentConfig config;
  std::string ablation;           // name of the ablation variant ("" if none)
  std::vector<SweptValue> swept;  // one per SweepPlan::columns entry
  std::string yaml;               // canonical_yaml(config)
  std::string id;                 // run_id(config)
};

struct SweepColumn {
  std::string key;
  bool numeric = false;  // stored as float64 in /index, else as a string
};

struct SweepPlan {
  std::string spec_name;
  std::string description;
  std::string base_yaml;             // canonical YAML of the spec without the sweep
  std::string fingerprint;           // hash of the base config and every planned run (16 hex)
  std::vector<SweepColumn> columns;  // swept keys, then "ablation" if any, then "seed"
  std::vector<PlannedRun> runs;
};

// Sweeps above this many runs need explicit confirmation (`--yes`).
inline constexpr std::uint64_t kLargeSweepRuns = 1'000'000;

// Expands the spec's sweep (a spec without one gives one run) and validates every
// run's config. Throws SpecErrors naming the sweep entry at fault.
SweepPlan expand_sweep(const Spec& spec, bool confirm_large = false);

// Number of runs the sweep would expand to (saturating), without building them.
std::uint64_t count_runs(const Spec& spec);

// The plan indices this process owns when the sweep is split into `shards` parts
// (index % shards == shard). One process: owned_runs(plan, 0, 1) is every run.
std::vector<std::size_t> owned_runs(const SweepPlan& plan, int shard, int shards);

}  // namespace wuxing
