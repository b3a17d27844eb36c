// One experiment, start to end: the learning layer's entry point, which the pipeline hands to
// the runner as its Trainer (framework/pipeline/trainers.cpp).
#pragma once

#include "framework/base/experiment.hpp"
#include "framework/learning/layer.hpp"

namespace wuxing {

// Runs one experiment with `threads` OpenMP threads (the result does not depend on
// it). Throws on bad configuration or missing data; numerical trouble is recorded
// in the result's status and metrics instead of thrown.
RunResult train_experiment(const ExperimentConfig& config, const RunObserver& observer = {},
                           int threads = 1);

}  // namespace wuxing
