#include "framework/base/data.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

#include "framework/base/data_detail.hpp"

namespace wuxing {

using namespace detail;

namespace {

namespace fs = std::filesystem;

// Independent streams of one run seed (see derive_seed).
enum Stream : std::uint64_t {
  kTrainSubset = 1,
  kTestSubset = 2,
  kSyntheticTrain = 3,
  kSyntheticTest = 4,
  kTestNoise = 5
};

const char* file_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

std::string how_to_get(DatasetKind dataset) {
  if (dataset == DatasetKind::mnist) return "run scripts/setup to fetch MNIST into data/mnist";
  return "install it with `apt-get install dataset-fashion-mnist`";
}

fs::path find_file(const fs::path& dir, const std::string& name, DatasetKind dataset) {
  for (const fs::path& candidate : {dir / name, dir / (name + ".gz")}) {
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  throw DataError(std::string(option_name(dataset)) + ": cannot find " + quoted(dir / name) +
                  " (or " + quoted(dir / (name + ".gz")) +
                  "); expected the IDX file there: " + how_to_get(dataset));
}

Dataset load_pair(const fs::path& images_path, const fs::path& labels_path, int classes) {
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3) {
    fail(images_path, "expected 3 dimensions (images x rows x columns), found " +
                          std::to_string(images.dims.size()) + " (" + dims_text(images.dims) + ")");
  }
  if (labels.dims.size() != 1) {
    fail(labels_path, "expected 1 dimension (labels), found " + std::to_string(labels.dims.size()) +
                          " (" + dims_text(labels.dims) + ")");
  }
  if (images.dims[0] != labels.dims[0]) {
    throw DataError("image/label count mismatch: " + quoted(images_path) + " has " +
                    std::to_string(images.dims[0]) + " images but " + quoted(labels_path) +
                    " has " + std::to_string(labels.dims[0]) + " labels; expected equal counts");
  }
  for (std::size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= classes) {
      fail(labels_path, "label " + std::to_string(labels.data[i]) + " at index " +
                            std::to_string(i) + " is out of range, expected 0.." +
                            std::to_string(classes - 1));
    }
  }
  Dataset out;
  out.features = static_cast<int>(images.dims[1] * images.dims[2]);
  out.classes = classes;
  out.pixels = std::move(images.data);
  out.labels = std::move(labels.data);
  return out;
}

// load_pair, once per process and file version: a sweep of many small runs would otherwise
// spend most of its time re-reading the same files (a full MNIST read takes about 57 ms,
// the training of a 1000-sample run about as long). Keyed by path, size and modification
// time; failures are not kept. Two runs starting together share one read.
std::shared_ptr<const Dataset> load_pair_cached(const fs::path& images_path,
                                                const fs::path& labels_path, int classes) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const Dataset>> cache;
  auto stamp = [](const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    const auto time = fs::last_write_time(p, ec).time_since_epoch().count();
    return fs::absolute(p).string() + "|" + std::to_string(size) + "|" + std::to_string(time);
  };
  const std::string key =
      stamp(images_path) + "#" + stamp(labels_path) + "#" + std::to_string(classes);
  std::lock_guard lock(mutex);
  auto& entry = cache[key];
  if (!entry) {
    try {
      entry = std::make_shared<const Dataset>(load_pair(images_path, labels_path, classes));
    } catch (...) {
      cache.erase(key);
      throw;
    }
  }
  return entry;
}

// Keeps `keep` samples: a seeded uniform subset in file order, or the first `keep`. With
// `held_out` the other end instead: the last `keep` of the same seeded order (or of the
// file), disjoint from the subset of any size up to size - keep that the same seed keeps.
Dataset take_subset(const Dataset& full, int keep, bool shuffle, std::uint64_t seed,
                    const char* key, const fs::path& source, bool held_out = false) {
  if (keep < 1 || static_cast<std::size_t>(keep) > full.size()) {
    throw DataError("data." + std::string(key) + " = " + std::to_string(keep) + ": expected 1.." +
                    std::to_string(full.size()) + " (the number of samples in " + quoted(source) +
                    ")");
  }
  std::size_t n = static_cast<std::size_t>(keep);
  if (n == full.size()) return full;
  std::vector<std::size_t> chosen(n);
  const std::size_t first = held_out ? full.size() - n : 0;
  if (shuffle) {
    Engine engine(seed);
    std::vector<std::size_t> perm = seeded_permutation(full.size(), engine);
    std::copy(perm.begin() + first, perm.begin() + first + n, chosen.begin());
    std::sort(chosen.begin(), chosen.end());
  } else {
    for (std::size_t i = 0; i < n; ++i) chosen[i] = first + i;
  }
  Dataset out;
  out.features = full.features;
  out.classes = full.classes;
  out.pixel_scale = full.pixel_scale;
  std::size_t f = static_cast<std::size_t>(full.features);
  out.pixels.resize(n * f);
  out.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::copy_n(full.pixels.begin() + chosen[i] * f, f, out.pixels.begin() + i * f);
    out.labels[i] = full.labels[chosen[i]];
  }
  return out;
}

Dataset make_synthetic(int samples, int features, int classes, std::uint64_t seed,
                       const char* key) {
  if (samples < 1) {
    throw DataError("data." + std::string(key) + " = " + std::to_string(samples) +
                    ": expected at least 1 sample");
  }
  Engine engine(seed);
  Dataset out;
  out.features = features;
  out.classes = classes;
  std::size_t n = static_cast<std::size_t>(samples);
  std::size_t f = static_cast<std::size_t>(features);
  out.pixels.resize(n * f);
  out.labels.resize(n);
  for (std::size_t s = 0; s < n; ++s) {
    int label = static_cast<int>(uniform_below(engine, static_cast<std::uint64_t>(classes)));
    out.labels[s] = static_cast<std::uint8_t>(label);
    for (std::size_t j = 0; j < f; ++j) {
      // Contiguous blocks of near-equal size: feature j belongs to block j * classes / features.
      bool on = static_cast<int>(j * classes / f) == label;
      out.pixels[s * f + j] = static_cast<std::uint8_t>((on ? 160 : 0) + uniform_below(engine, 96));
    }
  }
  return out;
}

}  // namespace

fs::path default_data_dir(DatasetKind dataset) {
  if (dataset == DatasetKind::mnist) {
#ifdef WUXING_SOURCE_DIR
    fs::path built_from = fs::path(WUXING_SOURCE_DIR) / "data" / "mnist";
    std::error_code ec;
    if (fs::is_directory(built_from, ec)) return built_from;
#endif
    return fs::path("data") / "mnist";
  }
  if (dataset == DatasetKind::fashion_mnist) return "/usr/share/datasets/fashion-mnist";
  throw DataError("data.dataset = '" + std::string(option_name(dataset)) +
                  "': no data directory for it, expected mnist or fashion_mnist");
}

DatasetSplit load_dataset(const DataConfig& config, std::uint64_t seed) {
  DatasetSplit split;
  if (config.dataset == DatasetKind::synthetic) {
    int f = config.synthetic_features, c = config.synthetic_classes;
    if (c < 2 || c > 255 || f < c) {
      throw DataError("data.synthetic_features = " + std::to_string(f) +
                      ", data.synthetic_classes = " + std::to_string(c) +
                      ": expected 2 <= classes <= 255 and classes <= features");
    }
    split.train =
        make_synthetic(config.train_size, f, c, derive_seed(seed, kSyntheticTrain), "train_size");
    split.test =
        make_synthetic(config.test_size, f, c, derive_seed(seed, kSyntheticTest), "test_size");
  } else {  // mnist, fashion_mnist
    fs::path dir = config.dir.empty() ? default_data_dir(config.dataset) : fs::path(config.dir);
    fs::path paths[4];
    for (int i = 0; i < 4; ++i) paths[i] = find_file(dir, file_names[i], config.dataset);
    const auto train_file = load_pair_cached(paths[0], paths[1], 10);
    split.train = take_subset(*train_file, config.train_size, config.shuffle,
                              derive_seed(seed, kTrainSubset), "train_size", paths[0]);
    if (config.validation_size > 0) {
      // Held out of the training file, in place of the test set: settings can be chosen
      // without looking at the test set.
      if (static_cast<std::size_t>(config.train_size) + config.validation_size > train_file->size())
        throw DataError("data.validation_size = " + std::to_string(config.validation_size) +
                        ": train_size + validation_size must be at most " +
                        std::to_string(train_file->size()) + " (the number of samples in " +
                        quoted(paths[0]) + "), got " +
                        std::to_string(config.train_size + config.validation_size));
      split.test = take_subset(*train_file, config.validation_size, config.shuffle,
                               derive_seed(seed, kTrainSubset), "validation_size", paths[0], true);
    } else {
      split.test =
          take_subset(*load_pair_cached(paths[2], paths[3], 10), config.test_size, config.shuffle,
                      derive_seed(seed, kTestSubset), "test_size", paths[2]);
    }
  }
  split.train.pixel_scale = config.pixel_scale;
  split.test.pixel_scale = config.pixel_scale;
  if (config.input_noise > 0.0)
    add_gaussian_noise(split.test, config.input_noise, derive_seed(seed, kTestNoise));
  return split;
}

void add_gaussian_noise(Dataset& data, double sigma, std::uint64_t seed) {
  if (!(sigma >= 0.0) || !(data.pixel_scale > 0.0))
    throw DataError("data.input_noise: need sigma >= 0 and pixel_scale > 0");
  Engine engine(seed);
  const double sigma_bytes = sigma / data.pixel_scale;
  for (auto& p : data.pixels) {
    // One normal per pair of uniforms keeps the stream simple. The draws are sequenced
    // (the order of evaluation of operands is unspecified).
    const double u1 = open_unit_from_bits(engine());
    const double u2 = open_unit_from_bits(engine());
    const double z = box_muller(u1, u2).first;
    const double v = std::nearbyint(static_cast<double>(p) + sigma_bytes * z);
    p = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
  }
}

}  // namespace wuxing
