// Datasets: IDX files (plain or gzipped), MNIST, Fashion-MNIST and a small synthetic
// set for tests. Pixels stay as bytes (47 MB for MNIST) and are scaled on use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/base/random.hpp"

namespace wuxing {

// One IDX array: the dims from its header and the raw unsigned-byte payload.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

// The largest IDX payload read_idx accepts (MNIST's training images are 47 MB): a header
// promising more is refused before anything is read, so no file, and no gzip bomb, can make
// the loader use more memory than this.
inline constexpr std::uint64_t kMaxIdxPayload = std::uint64_t{1} << 31;  // 2 GiB

// Reads an IDX file of unsigned bytes (type 0x08), plain or gzip-compressed (detected
// by content: the gzip magic 0x1f 0x8b). Throws DataError naming the file and what was
// expected on a missing file, wrong magic number, unsupported type, truncation, a gzip
// error, or bytes after the payload (or after the gzip stream).
IdxArray read_idx(const std::filesystem::path& path);

// Writes an IDX file of unsigned bytes, gzip-compressed if `gzip` (tests, tools).
void write_idx(const std::filesystem::path& path, const IdxArray& array, bool gzip = false);

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Dataset {
  int features = 0;  // pixels per sample (784)
  int classes = 10;
  double pixel_scale = 1.0 / 255.0;  // pixel value = byte * pixel_scale
  std::vector<std::uint8_t> pixels;  // size() * features bytes, sample-major
  std::vector<std::uint8_t> labels;  // size() entries in [0, classes)
  std::size_t size() const { return labels.size(); }
  double pixel(std::size_t sample, int feature) const {
    return pixels[sample * features + feature] * pixel_scale;
  }
};

struct DatasetSplit {
  Dataset train;
  Dataset test;
};

// Loads config.dataset and checks image/label counts, dims and label range.
//
// "mnist", "fashion_mnist": the files {train,t10k}-{images-idx3,labels-idx1}-ubyte, each
//   looked for as given and with ".gz" appended, in config.dir or default_data_dir().
// "synthetic": generated from the seed, no files. config.synthetic_features pixels and
//   config.synthetic_classes classes; train_size / test_size samples are generated.
//   The features are split into `classes` contiguous blocks; a sample of class c has
//   bytes in [160, 255] on block c and in [0, 95] elsewhere, so the classes are
//   linearly separable (by the block sums) with a margin. Labels are drawn uniformly.
//
// Subsets (files only): train_size / test_size must be in [1, available]. If
// config.shuffle, a seeded uniformly random subset of that size is kept, in file order
// (so train_size == available keeps the whole file whatever the seed); otherwise the
// first N samples. Train and test use independent streams derived from `seed`
// (derive_seed), drawn with seeded_permutation (framework/base/random.hpp), so the subset is the
// same on every standard library.
//
// config.input_noise > 0: Gaussian noise is added to the test pixels after the subset is
// taken (add_gaussian_noise, its own seeded stream); the training set stays clean.
DatasetSplit load_dataset(const DataConfig& config, std::uint64_t seed);

// Adds N(0, sigma^2) noise to every pixel of `data`, sigma in pixel units (after
// pixel_scale, so 0.1 is 10 % of the MNIST range), rounded to the nearest byte and clamped
// to [0, 255] so that images stay valid (the clamp makes the noise smaller near black and
// white). Seeded and portable: box_muller on open_unit_from_bits draws (framework/base/random.hpp).
void add_gaussian_noise(Dataset& data, double sigma, std::uint64_t seed);

// Where a dataset's files are looked for when DataConfig::dir is empty.
// "mnist": <source>/data/mnist, where <source> is the source tree the library was built
//   from (the WUXING_SOURCE_DIR compile definition); if that directory does not exist
//   (binary moved elsewhere), data/mnist relative to the current directory.
// "fashion_mnist": /usr/share/datasets/fashion-mnist (Debian dataset-fashion-mnist).
// Throws DataError for synthetic.
std::filesystem::path default_data_dir(DatasetKind dataset);

}  // namespace wuxing
