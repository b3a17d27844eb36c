// data.validation_size: a held-out part of the training file evaluated in place of the test
// set, so that settings can be chosen without the test set.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "tests/support.hpp"

using namespace wuxing;
namespace fs = std::filesystem;

namespace {

// A fake MNIST directory whose image i has every pixel equal to i (so a sample names itself)
// and label i % 10, in `dir`.
void write_numbered_dataset(const fs::path& dir, int train, int test) {
  auto write = [&](const std::string& prefix, int count) {
    IdxArray images{{static_cast<std::uint32_t>(count), 2, 2}, {}},
        labels{{static_cast<std::uint32_t>(count)}, {}};
    for (int i = 0; i < count; ++i) {
      for (int p = 0; p < 4; ++p) images.data.push_back(static_cast<std::uint8_t>(i));
      labels.data.push_back(static_cast<std::uint8_t>(i % 10));
    }
    write_idx(dir / (prefix + "-images-idx3-ubyte"), images);
    write_idx(dir / (prefix + "-labels-idx1-ubyte"), labels);
  };
  write("train", train);
  write("t10k", test);
}

std::set<int> sample_ids(const Dataset& d) {
  std::set<int> ids;
  for (std::size_t i = 0; i < d.size(); ++i) ids.insert(d.pixels[i * d.features]);
  return ids;
}

}  // namespace

TEST_CASE("data.validation_size holds out training samples, disjoint from the training set") {
  const test_support::TempDir dir("validation");
  write_numbered_dataset(dir.path, 100, 40);
  DataConfig config;
  config.dir = dir.path.string();
  config.train_size = 70;
  config.test_size = 40;
  for (bool shuffle : {true, false}) {
    CAPTURE(shuffle);
    config.shuffle = shuffle;
    config.validation_size = 0;
    const DatasetSplit plain = load_dataset(config, 5);
    config.validation_size = 25;
    const DatasetSplit held = load_dataset(config, 5);
    // The training samples are those of the same seed without a validation set.
    CHECK(held.train.pixels == plain.train.pixels);
    CHECK(held.train.labels == plain.train.labels);
    // The evaluation set is 25 training-file samples, none of them trained on.
    REQUIRE(held.test.size() == 25);
    const std::set<int> train = sample_ids(held.train), validation = sample_ids(held.test);
    CHECK(validation.size() == 25);
    for (int id : validation) CHECK(train.count(id) == 0);
    for (std::size_t i = 0; i < held.test.size(); ++i)
      CHECK(held.test.labels[i] == held.test.pixels[i * held.test.features] % 10);
    // ... and it is not the test set (whose images are numbered 0..39 too, but only 40 exist).
    if (!shuffle) CHECK(*validation.begin() == 75);  // the last 25 of the file
  }
  // Too many held out: a clear error naming the key.
  config.validation_size = 31;
  try {
    load_dataset(config, 5);
    FAIL("expected a DataError");
  } catch (const DataError& e) {
    CHECK(std::string(e.what()).find("data.validation_size = 31") != std::string::npos);
    CHECK(std::string(e.what()).find("at most 100") != std::string::npos);
  }
}
