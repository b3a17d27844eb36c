#include "framework/experiment.hpp"

#include <fmt/format.h>

#include <cmath>

#include "framework/data.hpp"
#include "framework/training.hpp"

namespace wuxing {

RunResult train_experiment(const ExperimentConfig& config, const RunObserver& observer,
                           int threads) {
  const DatasetSplit data = load_dataset(config.data, config.seed);
  return run_training(config, data, observer, threads);
}

bool close_epoch(RunResult& result, EpochMetrics m, const RunObserver& observer, bool stopped) {
  const int epoch = m.epoch;
  if (result.status == "ok" && !(std::isfinite(m.test_loss) && std::isfinite(m.train_loss))) {
    result.status = "numerical_trouble";
    result.reason = fmt::format("non-finite loss in epoch {}", epoch);
  }
  result.epochs.push_back(std::move(m));
  if (observer.on_epoch) observer.on_epoch(result.epochs.back());
  if (stopped) {
    result.status = "failed";
    result.reason = fmt::format("stopped on request during epoch {}", epoch);
  }
  return result.status == "ok";
}

}  // namespace wuxing
