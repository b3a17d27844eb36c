// Set-up shared by the network benchmarks (bench_heun.cpp, bench_network.cpp): the MNIST
// subsets and the quickstart's settings. Kept outside the timed loops.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <string>
#include <utility>

#include "framework/base/config.hpp"
#include "framework/base/data.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing::bench {

// The MNIST subsets of these sizes (scripts/setup), loaded once per size pair; nullptr, with
// the benchmark skipped and the loader's message, when the data cannot be read.
inline const DatasetSplit* mnist_subsets(benchmark::State& state, int train_size, int test_size) {
  struct Loaded {
    DatasetSplit split;
    std::string error;
  };
  static std::map<std::pair<int, int>, Loaded> loaded;
  auto [it, fresh] = loaded.try_emplace({train_size, test_size});
  if (fresh) {
    DataConfig dc;
    dc.train_size = train_size;
    dc.test_size = test_size;
    try {
      it->second.split = load_dataset(dc, 1);
    } catch (const DataError& e) {
      it->second.error = e.what();
    }
  }
  if (!it->second.error.empty()) {
    state.SkipWithError(it->second.error.c_str());
    return nullptr;
  }
  return &it->second.split;
}

// The quickstart's settings (experiments/quickstart.yaml: h = 0.2, tol = 1e-4, the fixed
// pairing, SGD) with one hidden layer of this width (none for 0), and nothing recorded.
inline ExperimentConfig quickstart_config(int hidden) {
  static const ExperimentConfig quickstart =
      load_spec(std::string(WUXING_SOURCE_DIR) + "/experiments/quickstart.yaml").base;
  ExperimentConfig c = quickstart;
  c.network.hidden.clear();
  if (hidden > 0) c.network.hidden = {hidden};
  c.record = RecordConfig{};
  return c;
}

}  // namespace wuxing::bench
