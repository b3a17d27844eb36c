// The table of training rules (training.rule; framework/base/registry.hpp explains the
// mechanism). A rule is a name, a one-line description and the factory of the Learner
// (learner.hpp) that the one epoch loop drives, registered at namespace scope inside
// `namespace wuxing` in its own file of framework/learning/:
//
//   WUXING_REGISTER_RULE(mlp_backprop) { return {"mlp_backprop", "one line", &make_mlp_learner}; }
//
// A rule on the Wuxing network says what it trains and how it gets its gradient
// (WuxingRule, training.hpp; wuxing_rules.cpp has connection, fixed_point, pid and bptt); a rule
// on another model brings a Learner of its own (mlp.cpp). run_training (epoch_loop.cpp), spec
// validation of training.rule, `wuxing run --help` and the docs' test read this table.
#pragma once

#include <memory>
#include <string>

#include "framework/base/config.hpp"
#include "framework/base/registry.hpp"
#include "framework/learning/layer.hpp"
#include "framework/learning/learner.hpp"

namespace wuxing {

using LearnerFactory = std::unique_ptr<Learner> (*)(const ExperimentConfig& config, int features,
                                                    int classes);

// Whether a rule, under these training settings, trains the neurons' K's (and so needs
// training.trainable_K); nullptr: never.
using TrainsK = bool (*)(const TrainingConfig& training);

struct RuleEntry {
  std::string name;         // the spec's training.rule
  std::string description;  // one line: what it trains, with which gradient
  LearnerFactory make;
  TrainsK trains_K = nullptr;
};

const Registry<RuleEntry>& rule_registry();

}  // namespace wuxing

#define WUXING_REGISTER_RULE(id) WUXING_DETAIL_REGISTRATION(RuleEntry, rule, id)
