#include "framework/pipeline/trainers.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <utility>

#include "framework/base/data.hpp"
#include "framework/learning/train_experiment.hpp"

namespace wuxing {

Trainer production_trainer() {
  return [](const ExperimentConfig& c, const RunObserver& o, int threads) {
    return train_experiment(c, o, threads);
  };
}

void check_data(const SweepPlan& plan) {
  std::map<std::pair<DatasetKind, std::string>, DataConfig> needed;
  for (const auto& r : plan.runs) {
    const DataConfig& d = r.config.data;
    if (d.dataset == DatasetKind::synthetic) continue;
    auto [it, fresh] = needed.try_emplace({d.dataset, d.dir}, d);
    it->second.train_size = std::max(it->second.train_size, d.train_size);
    it->second.test_size = std::max(it->second.test_size, d.test_size);
  }
  for (auto& [key, d] : needed) {
    d.shuffle = false;  // the subset does not matter here, only that it exists
    (void)load_dataset(d, 0);
  }
}

}  // namespace wuxing
