// Datasets: IDX files (plain or gzipped), MNIST, Fashion-MNIST and a small synthetic
// set for tests. Pixels stay as bytes (47 MB for MNIST) and are scaled on use.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <filesystem>
#include <string>
#include <vector>

#include "framework/config.hpp"

namespace wuxing {

// One IDX array: the dims from its header and the raw unsigned-byte payload.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

// Reads an IDX file of unsigned bytes (type 0x08), plain or gzip-compressed (detected
// by content). Throws DataError naming the file and what was expected on a missing
// file, wrong magic number, unsupported type, truncation or a gzip error.
IdxArray read_idx(const std::filesystem::path& path);

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Dataset {
  int features = 0;                   // pixels per sample (784)
  int classes = 10;
  double pixel_scale = 1.0 / 255.0;   // pixel value = byte * pixel_scale
  std::vector<std::uint8_t> pixels;   // size() * features bytes, sample-major
  std::vector<std::uint8_t> labels;   // size() entries in [0, classes)
  std::size_t size() const { return labels.size(); }
  double pixel(std::size_t sample, int feature) const {
    return pixels[sample * features + feature] * pixel_scale;
  }
};

struct DatasetSplit {
  Dataset train;
  Dataset test;
};

// Loads config.dataset ("mnist", "fashion_mnist" or "synthetic"), keeps a seeded
// subset of train_size / test_size samples, and checks image/label counts agree.
DatasetSplit load_dataset(const DataConfig& config, std::uint64_t seed);

// Where a dataset's files are looked for when DataConfig::dir is empty.
std::filesystem::path default_data_dir(const std::string& dataset);

}  // namespace wuxing
