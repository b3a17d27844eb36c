// IDX files: read_idx and write_idx (plain and gzipped, their errors) and load_dataset on
// IDX directories (framework/base/data_idx.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "tests/data_support.hpp"

using namespace wuxing;
using namespace wuxing::data_test;

TEST_CASE("read_idx round-trips plain and gzipped files written by the test") {
  TempDir dir("data");
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
  TempDir dir("data");
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
  TempDir dir("data");
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
  TempDir dir("data");
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

    TempDir gz_dir("data");
    write_fake_dataset(gz_dir.path, 50, 20, true);
    config.dir = gz_dir.path.string();
    config.dataset = DatasetKind::fashion_mnist;
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
    config.dataset = DatasetKind::fashion_mnist;
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
}
