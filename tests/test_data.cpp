// Datasets: seeded subsets, the synthetic set, test-input noise, and the real MNIST and
// Fashion-MNIST files (framework/base/data.cpp; the IDX files: test_data_idx.cpp).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "tests/data_support.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using namespace wuxing::data_test;

namespace {

std::vector<int> first_pixels(const Dataset& d) {
  std::vector<int> out;
  for (std::size_t i = 0; i < d.size(); ++i) out.push_back(d.pixels[i * d.features]);
  return out;
}

}  // namespace

TEST_CASE("seeded subsets are deterministic, differ by seed, and are uniform") {
  TempDir dir("data");
  write_fake_dataset(dir.path, 50, 30, false);
  DataConfig config;
  config.dir = dir.path.string();
  config.train_size = 10;
  config.test_size = 10;

  DatasetSplit a = load_dataset(config, 7), b = load_dataset(config, 7),
               c = load_dataset(config, 8);
  CHECK(a.train.pixels == b.train.pixels);
  CHECK(a.train.labels == b.train.labels);
  CHECK(a.test.pixels == b.test.pixels);
  CHECK(a.train.pixels != c.train.pixels);
  CHECK(a.test.pixels != c.test.pixels);

  // A subset of distinct samples, kept in file order, each with its own label.
  std::vector<int> ids = first_pixels(a.train);
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  CHECK(std::set<int>(ids.begin(), ids.end()).size() == 10);
  for (std::size_t i = 0; i < a.train.size(); ++i) CHECK(a.train.labels[i] == ids[i] % 10);

  // Train and test subsets come from independent streams: not the same index set.
  CHECK(first_pixels(a.train) != first_pixels(a.test));

  // The whole file is kept in order whatever the seed.
  config.train_size = 50;
  std::vector<int> all = first_pixels(load_dataset(config, 99).train);
  for (int i = 0; i < 50; ++i) CHECK(all[i] == i);

  // shuffle = false: the first N.
  config.train_size = 10;
  config.shuffle = false;
  std::vector<int> first = first_pixels(load_dataset(config, 7).train);
  for (int i = 0; i < 10; ++i) CHECK(first[i] == i);

  // Each index is kept with probability 10/50: 2000 seeds give 400 +- 18 (1 sd) each.
  std::vector<int> hits(50, 0);
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    Engine engine(derive_seed(seed, 1));
    std::vector<std::size_t> perm = seeded_permutation(50, engine);
    for (int i = 0; i < 10; ++i) ++hits[perm[i]];
  }
  for (int i = 0; i < 50; ++i) CHECK(std::abs(hits[i] - 400) < 100);
}

TEST_CASE("synthetic dataset: deterministic, seed-dependent, separable by block means") {
  DataConfig config = test_support::synthetic_data(300, 150, 16, 3);  // 16, 3: the defaults
  DatasetSplit a = load_dataset(config, 3), b = load_dataset(config, 3),
               c = load_dataset(config, 4);
  CHECK(a.train.size() == 300);
  CHECK(a.test.size() == 150);
  CHECK(a.train.features == 16);
  CHECK(a.train.classes == 3);
  CHECK(a.train.pixels == b.train.pixels);
  CHECK(a.test.labels == b.test.labels);
  CHECK(a.train.pixels != c.train.pixels);
  CHECK(a.train.pixels != a.test.pixels);

  for (const Dataset* d : {&a.train, &a.test}) {
    std::vector<int> per_class(3, 0);
    int correct = 0;
    for (std::size_t s = 0; s < d->size(); ++s) {
      int label = d->labels[s];
      REQUIRE(label < 3);
      ++per_class[label];
      // Classify by the mean byte of each class's block; must be perfect.
      std::vector<double> sum(3, 0.0), count(3, 0.0);
      for (int j = 0; j < 16; ++j) {
        sum[j * 3 / 16] += d->pixels[s * 16 + j];
        count[j * 3 / 16] += 1;
      }
      int best = 0;
      for (int k = 1; k < 3; ++k) {
        if (sum[k] / count[k] > sum[best] / count[best]) best = k;
      }
      correct += best == label;
    }
    CHECK(correct == static_cast<int>(d->size()));
    for (int n : per_class) CHECK(n > static_cast<int>(d->size()) / 6);
  }

  config.synthetic_features = 40;
  config.synthetic_classes = 5;
  DatasetSplit big = load_dataset(config, 3);
  CHECK(big.train.features == 40);
  CHECK(*std::max_element(big.train.labels.begin(), big.train.labels.end()) == 4);
  config.synthetic_classes = 41;
  CHECK(contains(error_of([&] { load_dataset(config, 3); }), "classes <= features"));
}

TEST_CASE("data.input_noise: seeded Gaussian noise on the test pixels only") {
  DataConfig config = test_support::synthetic_data(200, 4000, 20, 2);
  const DatasetSplit clean = load_dataset(config, 7);
  config.input_noise = 0.05;  // 12.75 bytes
  const DatasetSplit noisy = load_dataset(config, 7), again = load_dataset(config, 7);
  CHECK(noisy.train.pixels == clean.train.pixels);
  CHECK(noisy.test.labels == clean.test.labels);
  CHECK(noisy.test.pixels == again.test.pixels);
  CHECK(noisy.test.pixels != clean.test.pixels);
  // Away from the clamps (clean bytes in [40, 95] are > 3 sigma from 0 and from 255) the
  // difference is N(0, 12.75^2) plus the rounding (variance 1/12).
  double sum = 0, sum_sq = 0, n = 0;
  for (std::size_t i = 0; i < clean.test.pixels.size(); ++i) {
    const int c = clean.test.pixels[i];
    if (c < 40 || c > 95) continue;
    const double d = static_cast<double>(noisy.test.pixels[i]) - c;
    sum += d;
    sum_sq += d * d;
    n += 1;
  }
  REQUIRE(n > 10000);
  const double mean = sum / n, sd = std::sqrt(sum_sq / n - mean * mean);
  const double want = std::sqrt(12.75 * 12.75 + 1.0 / 12.0);
  CHECK(std::abs(mean) < 4 * want / std::sqrt(n));
  CHECK(sd == doctest::Approx(want).epsilon(0.03));
  // Clamped at the byte range: bright pixels never wrap around.
  config.input_noise = 1.0;
  const DatasetSplit loud = load_dataset(config, 7);
  int at_bounds = 0;
  for (std::uint8_t p : loud.test.pixels) at_bounds += p == 0 || p == 255;
  CHECK(at_bounds > static_cast<int>(loud.test.pixels.size()) / 4);
}

namespace {

struct PixelStats {
  double mean = 0, std = 0;
};

PixelStats pixel_stats(const Dataset& d) {
  std::uint64_t sum = 0, sum_sq = 0;
  for (std::uint8_t p : d.pixels) {
    sum += p;
    sum_sq += std::uint64_t{p} * p;
  }
  double n = static_cast<double>(d.pixels.size());
  double mean = sum / n / 255.0;
  return {mean, std::sqrt(sum_sq / n / (255.0 * 255.0) - mean * mean)};
}

std::vector<int> class_counts(const Dataset& d) {
  std::vector<int> counts(10, 0);
  for (std::uint8_t l : d.labels) ++counts.at(l);
  return counts;
}

}  // namespace

TEST_CASE("real MNIST: 60000/10000 samples, known class counts and pixel statistics") {
  fs::path dir = default_data_dir(DatasetKind::mnist);
  if (!fs::exists(dir / "train-images-idx3-ubyte")) {
    FAIL("MNIST is missing at " << dir << ": run scripts/setup (it always fetches MNIST)");
  }
  DatasetSplit mnist = load_dataset(DataConfig{}, 0);
  REQUIRE(mnist.train.size() == 60000);
  REQUIRE(mnist.test.size() == 10000);
  CHECK(mnist.train.features == 784);
  CHECK(mnist.train.pixels.size() == 60000u * 784u);
  // The published per-digit counts of the MNIST training and test sets.
  CHECK(class_counts(mnist.train) ==
        std::vector<int>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  CHECK(class_counts(mnist.test) ==
        std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
  // The normalisation constants used everywhere for MNIST: mean 0.1307, std 0.3081.
  PixelStats s = pixel_stats(mnist.train);
  CHECK(std::abs(s.mean - 0.1307) < 0.001);
  CHECK(std::abs(s.std - 0.3081) < 0.001);
}

TEST_CASE("real Fashion-MNIST: 60000/10000 samples, balanced classes, pixel statistics") {
  fs::path dir = default_data_dir(DatasetKind::fashion_mnist);
  if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) {
    FAIL("Fashion-MNIST is missing at "
         << dir << ": apt-get install dataset-fashion-mnist (scripts/setup)");
  }
  DataConfig config;
  config.dataset = DatasetKind::fashion_mnist;
  DatasetSplit fashion = load_dataset(config, 0);
  REQUIRE(fashion.train.size() == 60000);
  REQUIRE(fashion.test.size() == 10000);
  CHECK(fashion.train.features == 784);
  CHECK(class_counts(fashion.train) == std::vector<int>(10, 6000));
  CHECK(class_counts(fashion.test) == std::vector<int>(10, 1000));
  PixelStats s = pixel_stats(fashion.train);
  CHECK(std::abs(s.mean - 0.2860) < 0.001);
  CHECK(std::abs(s.std - 0.3530) < 0.001);
}
