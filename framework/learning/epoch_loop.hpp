// The one epoch loop of every training rule (mlp_backprop included), over a Learner
// (framework/learning/learner.hpp).
#pragma once

#include <cstdint>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/base/experiment.hpp"
#include "framework/learning/layer.hpp"

namespace wuxing {

// Trains on loaded data: `threads` > 0 sets OpenMP's thread count.
RunResult run_training(const ExperimentConfig& config, const DatasetSplit& data,
                       const RunObserver& observer, int threads);

// Fisher-Yates with our portable generator (stream `shuffle`, index = epoch).
std::vector<std::size_t> epoch_order(std::size_t size, std::uint64_t seed, int epoch, bool shuffle);

}  // namespace wuxing
