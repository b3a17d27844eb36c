// IDX loading speed: full MNIST (plain files from scripts/setup) against Fashion-MNIST
// (gzip, from the Debian package). Files are read from the page cache after the first
// iteration, so this is parse + inflate speed, not disk speed.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "framework/base/data.hpp"

namespace {

namespace fs = std::filesystem;

// Reads the four IDX files of a dataset; bytes = decoded payload + headers.
void BM_LoadIdx(benchmark::State& state, wuxing::DatasetKind dataset) {
  fs::path dir = wuxing::default_data_dir(dataset);
  const char* names[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
  std::vector<fs::path> files;
  std::uintmax_t on_disk = 0;
  for (const char* name : names) {
    fs::path p = dir / name;
    if (!fs::exists(p)) p += ".gz";
    if (!fs::exists(p)) {
      state.SkipWithError(("missing " + p.string()).c_str());
      return;
    }
    on_disk += fs::file_size(p);
    files.push_back(p);
  }
  std::int64_t decoded = 0;
  for (auto _ : state) {
    decoded = 0;
    for (const fs::path& p : files) {
      wuxing::IdxArray a = wuxing::read_idx(p);
      decoded += static_cast<std::int64_t>(a.data.size());
      benchmark::DoNotOptimize(a.data.data());
    }
  }
  state.SetBytesProcessed(decoded * state.iterations());  // decoded payload bytes/s
  state.counters["file_bytes/s"] = benchmark::Counter(
      static_cast<double>(on_disk) * state.iterations(), benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_LoadIdx, mnist_plain, wuxing::DatasetKind::mnist)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadIdx, fashion_mnist_gzip, wuxing::DatasetKind::fashion_mnist)
    ->Unit(benchmark::kMillisecond);

// The whole load_dataset path as the second and later runs of a sweep see it: the files
// come from the process's cache (framework/base/data.cpp), so this is the subset copy (the
// first read of the files is BM_LoadIdx).
void BM_LoadDataset(benchmark::State& state, wuxing::DatasetKind dataset, int train_size) {
  wuxing::DataConfig config;
  config.dataset = dataset;
  config.train_size = train_size;
  for (auto _ : state) {
    try {
      wuxing::DatasetSplit split = wuxing::load_dataset(config, 1);
      benchmark::DoNotOptimize(split.train.pixels.data());
    } catch (const wuxing::DataError& e) {
      state.SkipWithError(e.what());
      return;
    }
  }
}

BENCHMARK_CAPTURE(BM_LoadDataset, mnist_full, wuxing::DatasetKind::mnist, 60000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadDataset, mnist_subset_1000, wuxing::DatasetKind::mnist, 1000)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LoadDataset, fashion_mnist_full, wuxing::DatasetKind::fashion_mnist, 60000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
