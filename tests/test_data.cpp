#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numeric>
#include <set>
#include <string>

#include "framework/base/data.hpp"

using namespace wuxing;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

struct TempDir {
  fs::path path;
  TempDir() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("wuxing_test_data_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path operator/(const std::string& name) const { return path / name; }
};

// IDX bytes built by hand here, independently of write_idx.
Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& payload,
                std::uint8_t type = 0x08) {
  Bytes out{0, 0, type, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    out.push_back(d >> 24);
    out.push_back((d >> 16) & 0xff);
    out.push_back((d >> 8) & 0xff);
    out.push_back(d & 0xff);
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Bytes gzip_bytes(const Bytes& plain) {
  z_stream zs;
  std::memset(&zs, 0, sizeof zs);
  REQUIRE(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  Bytes out(deflateBound(&zs, plain.size()) + 64);
  zs.next_in = const_cast<std::uint8_t*>(plain.data());
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

Bytes pattern(std::size_t n, unsigned salt = 0) {
  Bytes out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>((i * 7 + salt) % 251);
  return out;
}

// The message of the DataError thrown by f, or a failure if none is thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  FAIL("expected a DataError");
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fake MNIST-style directory: `train` and `test` samples of 2x3 pixels; pixel 0 of
// sample i is i, so a subset shows which samples it kept.
void write_fake_dataset(const fs::path& dir, int train, int test, bool gzip,
                        int train_labels = -1) {
  auto write = [&](const std::string& name, std::vector<std::uint32_t> dims, const Bytes& data) {
    Bytes b = idx_bytes(dims, data);
    if (gzip) b = gzip_bytes(b);
    write_bytes(dir / (name + (gzip ? ".gz" : "")), b);
  };
  auto images = [](int n) {
    Bytes p(static_cast<std::size_t>(n) * 6);
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < 6; ++j) p[i * 6 + j] = static_cast<std::uint8_t>((i + 40 * j) % 256);
    }
    return p;
  };
  auto labels = [](int n) {
    Bytes l(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) l[i] = static_cast<std::uint8_t>(i % 10);
    return l;
  };
  if (train_labels < 0) train_labels = train;
  write("train-images-idx3-ubyte", {std::uint32_t(train), 2, 3}, images(train));
  write("train-labels-idx1-ubyte", {std::uint32_t(train_labels)}, labels(train_labels));
  write("t10k-images-idx3-ubyte", {std::uint32_t(test), 2, 3}, images(test));
  write("t10k-labels-idx1-ubyte", {std::uint32_t(test)}, labels(test));
}

std::vector<int> first_pixels(const Dataset& d) {
  std::vector<int> out;
  for (std::size_t i = 0; i < d.size(); ++i) out.push_back(d.pixels[i * d.features]);
  return out;
}

}  // namespace

TEST_CASE("read_idx round-trips plain and gzipped files written by the test") {
  TempDir dir;
  std::vector<std::uint32_t> dims{3, 4, 5};
  Bytes payload = pattern(60);
  Bytes file = idx_bytes(dims, payload);

  write_bytes(dir / "a.idx", file);
  IdxArray plain = read_idx(dir / "a.idx");
  CHECK(plain.dims == dims);
  CHECK(plain.data == payload);

  write_bytes(dir / "a.idx.gz", gzip_bytes(file));
  IdxArray gz = read_idx(dir / "a.idx.gz");
  CHECK(gz.dims == dims);
  CHECK(gz.data == payload);

  // Detection is by content, not by name.
  write_bytes(dir / "gzip-without-suffix", gzip_bytes(file));
  CHECK(read_idx(dir / "gzip-without-suffix").data == payload);

  // Concatenated gzip members decode as one stream, as with gzip(1).
  Bytes first(file.begin(), file.begin() + 17), second(file.begin() + 17, file.end());
  Bytes multi = gzip_bytes(first), tail = gzip_bytes(second);
  multi.insert(multi.end(), tail.begin(), tail.end());
  write_bytes(dir / "multi.gz", multi);
  CHECK(read_idx(dir / "multi.gz").data == payload);

  // One dimension, empty payload, and a payload larger than one read chunk.
  write_bytes(dir / "labels", idx_bytes({0}, {}));
  CHECK(read_idx(dir / "labels").dims == std::vector<std::uint32_t>{0});
  Bytes big = pattern(3 * 1000 * 1000, 3);
  write_bytes(dir / "big.gz", gzip_bytes(idx_bytes({1000, 3000}, big)));
  CHECK(read_idx(dir / "big.gz").data == big);
}

TEST_CASE("write_idx writes the IDX bytes, plain and gzipped") {
  TempDir dir;
  IdxArray a{{2, 7}, pattern(14, 5)};
  write_idx(dir / "w", a);
  std::ifstream f(dir / "w", std::ios::binary);
  Bytes got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK(got == idx_bytes(a.dims, a.data));
  write_idx(dir / "w.gz", a, true);
  IdxArray back = read_idx(dir / "w.gz");
  CHECK(back.dims == a.dims);
  CHECK(back.data == a.data);
  CHECK_THROWS_AS(write_idx(dir / "bad", IdxArray{{3}, pattern(2)}), DataError);
}

TEST_CASE("read_idx errors name the file and what was expected") {
  TempDir dir;
  Bytes good = idx_bytes({10, 10}, pattern(100));

  SUBCASE("missing file") {
    std::string msg = error_of([&] { read_idx(dir / "nope-idx3-ubyte"); });
    CHECK(contains(msg, (dir / "nope-idx3-ubyte").string()));
    CHECK(contains(msg, "scripts/setup"));
    CHECK(contains(msg, "apt-get install dataset-fashion-mnist"));
  }
  SUBCASE("wrong magic number") {
    write_bytes(dir / "zip", {0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4});
    std::string msg = error_of([&] { read_idx(dir / "zip"); });
    CHECK(contains(msg, (dir / "zip").string()));
    CHECK(contains(msg, "wrong magic number"));
    CHECK(contains(msg, "50 4b 03 04"));
    CHECK(contains(msg, "expected 00 00 08"));
  }
  SUBCASE("unsupported type") {
    write_bytes(dir / "floats", idx_bytes({2}, pattern(8), 0x0d));
    std::string msg = error_of([&] { read_idx(dir / "floats"); });
    CHECK(contains(msg, (dir / "floats").string()));
    CHECK(contains(msg, "0x0d (float)"));
    CHECK(contains(msg, "expected 0x08"));
  }
  SUBCASE("truncated header") {
    write_bytes(dir / "short", {0, 0, 8});
    CHECK(contains(error_of([&] { read_idx(dir / "short"); }), "expected a 4-byte magic number"));
    write_bytes(dir / "short-dims", {0, 0, 8, 3, 0, 0, 0, 1});
    std::string msg = error_of([&] { read_idx(dir / "short-dims"); });
    CHECK(contains(msg, "expected 12 bytes of dimensions, found 4"));
  }
  SUBCASE("truncated plain file") {
    write_bytes(dir / "cut", Bytes(good.begin(), good.end() - 50));
    std::string msg = error_of([&] { read_idx(dir / "cut"); });
    CHECK(contains(msg, (dir / "cut").string()));
    CHECK(contains(msg, "truncated file: expected 100 bytes of payload (dims 10 x 10), found 50"));
  }
  SUBCASE("truncated gzip file") {
    Bytes gz = gzip_bytes(idx_bytes({1000}, pattern(1000)));
    write_bytes(dir / "cut.gz", Bytes(gz.begin(), gz.begin() + gz.size() / 2));
    std::string msg = error_of([&] { read_idx(dir / "cut.gz"); });
    CHECK(contains(msg, (dir / "cut.gz").string()));
    CHECK(contains(msg, "expected 1000 bytes of payload"));
    CHECK(contains(msg, "gzip stream is cut short"));
    // Cut inside the 8-byte trailer: all the payload is there, the CRC is not.
    write_bytes(dir / "cut-trailer.gz", Bytes(gz.begin(), gz.end() - 3));
    msg = error_of([&] { read_idx(dir / "cut-trailer.gz"); });
    CHECK(contains(msg, (dir / "cut-trailer.gz").string()));
    CHECK(contains(msg, "ends before its trailer"));
  }
  SUBCASE("gzip errors") {
    Bytes gz = gzip_bytes(good);
    Bytes bad_crc = gz;
    bad_crc[gz.size() - 8] ^= 0xff;
    write_bytes(dir / "crc.gz", bad_crc);
    std::string msg = error_of([&] { read_idx(dir / "crc.gz"); });
    CHECK(contains(msg, (dir / "crc.gz").string()));
    CHECK(contains(msg, "gzip error: incorrect data check"));

    Bytes bad_method = gz;
    bad_method[2] = 7;  // the only defined compression method is 8 (deflate)
    write_bytes(dir / "method.gz", bad_method);
    msg = error_of([&] { read_idx(dir / "method.gz"); });
    CHECK(contains(msg, (dir / "method.gz").string()));
    CHECK(contains(msg, "gzip error: unknown compression method"));
  }
  SUBCASE("trailing garbage") {
    Bytes longer = good;
    longer.insert(longer.end(), {1, 2, 3});
    write_bytes(dir / "long", longer);
    std::string msg = error_of([&] { read_idx(dir / "long"); });
    CHECK(contains(msg, (dir / "long").string()));
    CHECK(
        contains(msg, "trailing garbage: expected 100 bytes of payload (dims 10 x 10), found 103"));

    write_bytes(dir / "long.gz", gzip_bytes(longer));
    CHECK(contains(error_of([&] { read_idx(dir / "long.gz"); }), "found 103"));

    Bytes gz = gzip_bytes(good);
    gz.insert(gz.end(), {'j', 'u', 'n', 'k'});
    write_bytes(dir / "junk.gz", gz);
    msg = error_of([&] { read_idx(dir / "junk.gz"); });
    CHECK(contains(msg, (dir / "junk.gz").string()));
    CHECK(contains(msg, "trailing garbage after the end of the gzip stream"));
  }
  SUBCASE("implausible dims") {
    write_bytes(dir / "huge", idx_bytes({0xffffffff, 0xffffffff}, {}));
    CHECK(contains(error_of([&] { read_idx(dir / "huge"); }), "over the limit of 2048 MiB"));
    // Just over the documented limit (kMaxIdxPayload): refused from the header alone.
    write_bytes(dir / "over", idx_bytes({65536, 32769}, pattern(10)));
    CHECK(contains(error_of([&] { read_idx(dir / "over"); }), "over the limit"));
    // A large but possible size fails on truncation without allocating it first.
    write_bytes(dir / "large", idx_bytes({40000, 40000}, pattern(10)));
    CHECK(contains(error_of([&] { read_idx(dir / "large"); }), "found 10"));
  }
}

TEST_CASE("load_dataset reads IDX directories and checks them") {
  TempDir dir;
  DataConfig config;
  config.dir = dir.path.string();
  config.train_size = 5;
  config.test_size = 5;

  SUBCASE("plain and gzipped give the same data") {
    write_fake_dataset(dir.path, 50, 20, false);
    config.train_size = 50;
    config.test_size = 20;
    DatasetSplit plain = load_dataset(config, 1);
    CHECK(plain.train.size() == 50);
    CHECK(plain.test.size() == 20);
    CHECK(plain.train.features == 6);
    CHECK(plain.train.classes == 10);
    CHECK(plain.train.labels[13] == 3);
    CHECK(plain.train.pixels[13 * 6 + 1] == 53);
    CHECK(plain.train.pixel(13, 1) == doctest::Approx(53.0 / 255.0));

    TempDir gz_dir;
    write_fake_dataset(gz_dir.path, 50, 20, true);
    config.dir = gz_dir.path.string();
    config.dataset = "fashion_mnist";
    config.pixel_scale = 0.5;
    DatasetSplit gz = load_dataset(config, 1);
    CHECK(gz.train.pixels == plain.train.pixels);
    CHECK(gz.test.labels == plain.test.labels);
    CHECK(gz.train.pixel(13, 1) == 26.5);
  }
  SUBCASE("image/label count mismatch") {
    write_fake_dataset(dir.path, 50, 20, false, 49);
    std::string msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, "image/label count mismatch"));
    CHECK(contains(msg, (dir / "train-images-idx3-ubyte").string()));
    CHECK(contains(msg, (dir / "train-labels-idx1-ubyte").string()));
    CHECK(contains(msg, "has 50 images"));
    CHECK(contains(msg, "has 49 labels"));
  }
  SUBCASE("label out of range") {
    write_fake_dataset(dir.path, 5, 5, false);
    write_bytes(dir / "t10k-labels-idx1-ubyte", idx_bytes({5}, {1, 2, 3, 12, 4}));
    std::string msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, (dir / "t10k-labels-idx1-ubyte").string()));
    CHECK(contains(msg, "label 12 at index 3 is out of range, expected 0..9"));
  }
  SUBCASE("wrong number of dimensions") {
    write_fake_dataset(dir.path, 5, 5, false);
    write_bytes(dir / "t10k-images-idx3-ubyte", idx_bytes({5, 6}, pattern(30)));
    std::string msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, (dir / "t10k-images-idx3-ubyte").string()));
    CHECK(contains(msg, "expected 3 dimensions"));
  }
  SUBCASE("missing files say how to get them") {
    std::string msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, (dir / "train-images-idx3-ubyte").string()));
    CHECK(contains(msg, "scripts/setup"));
    config.dataset = "fashion_mnist";
    msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, (dir / "train-images-idx3-ubyte.gz").string()));
    CHECK(contains(msg, "apt-get install dataset-fashion-mnist"));
  }
  SUBCASE("sizes must fit the files") {
    write_fake_dataset(dir.path, 50, 20, false);
    config.train_size = 51;
    config.test_size = 20;
    std::string msg = error_of([&] { load_dataset(config, 1); });
    CHECK(contains(msg, "data.train_size = 51: expected 1..50"));
    CHECK(contains(msg, (dir / "train-images-idx3-ubyte").string()));
    config.train_size = 50;
    config.test_size = 0;
    CHECK(contains(error_of([&] { load_dataset(config, 1); }), "data.test_size = 0"));
  }
  SUBCASE("unknown dataset") {
    config.dataset = "cifar";
    CHECK(contains(error_of([&] { load_dataset(config, 1); }), "data.dataset = 'cifar'"));
  }
}

TEST_CASE("seeded subsets are deterministic, differ by seed, and are uniform") {
  TempDir dir;
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
  DataConfig config;
  config.dataset = "synthetic";
  config.train_size = 300;
  config.test_size = 150;
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
  DataConfig config;
  config.dataset = "synthetic";
  config.train_size = 200;
  config.test_size = 4000;
  config.synthetic_features = 20;
  config.synthetic_classes = 2;
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
  fs::path dir = default_data_dir("mnist");
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
  fs::path dir = default_data_dir("fashion_mnist");
  if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) {
    FAIL("Fashion-MNIST is missing at "
         << dir << ": apt-get install dataset-fashion-mnist (scripts/setup)");
  }
  DataConfig config;
  config.dataset = "fashion_mnist";
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
