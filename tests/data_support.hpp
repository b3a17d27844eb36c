// Fixtures of the dataset tests (test_data.cpp, test_data_idx.cpp): IDX bytes built by hand
// (independently of write_idx), gzip, a fake MNIST-style directory, and the DataError of a
// call. Header-only, as tests/support.hpp.
#pragma once

#include <doctest/doctest.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "tests/support.hpp"

namespace wuxing::data_test {

namespace fs = std::filesystem;

using Bytes = std::vector<std::uint8_t>;

using test_support::TempDir;

// IDX bytes built by hand here, independently of write_idx.
inline Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& payload,
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

inline Bytes gzip_bytes(const Bytes& plain) {
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

inline void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

inline Bytes pattern(std::size_t n, unsigned salt = 0) {
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

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A fake MNIST-style directory: `train` and `test` samples of 2x3 pixels; pixel 0 of
// sample i is i, so a subset shows which samples it kept.
inline void write_fake_dataset(const fs::path& dir, int train, int test, bool gzip,
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

}  // namespace wuxing::data_test
