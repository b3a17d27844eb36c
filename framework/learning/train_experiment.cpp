#include "framework/learning/train_experiment.hpp"

#include "framework/base/data.hpp"
#include "framework/learning/training.hpp"

namespace wuxing {

RunResult train_experiment(const ExperimentConfig& config, const RunObserver& observer,
                           int threads) {
  const DatasetSplit data = load_dataset(config.data, config.seed);
  return run_training(config, data, observer, threads);
}

}  // namespace wuxing
