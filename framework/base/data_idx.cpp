// IDX files (plain or gzipped): read_idx and write_idx of framework/base/data.hpp, and the
// messages every data error shares (data_detail.hpp).
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>

#include "framework/base/data.hpp"
#include "framework/base/data_detail.hpp"

namespace wuxing {

namespace fs = std::filesystem;

namespace detail {

std::string quoted(const fs::path& path) {
  // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) about "'" + s + "'".
  std::string out = "'";
  out += path.string();
  out += '\'';
  return out;
}

[[noreturn]] void fail(const fs::path& path, const std::string& what) {
  throw DataError(quoted(path) + ": " + what);
}

std::string hex_bytes(const std::uint8_t* bytes, std::size_t n) {
  std::string out;
  char buf[8];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%s%02x", i ? " " : "", bytes[i]);
    out += buf;
  }
  return out;
}

std::string dims_text(const std::vector<std::uint32_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? " x " : "") + std::to_string(dims[i]);
  return out;
}

}  // namespace detail

using namespace detail;

namespace {

const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0b:
      return "short";
    case 0x0c:
      return "int";
    case 0x0d:
      return "float";
    case 0x0e:
      return "double";
    default:
      return "unknown";
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// A stream of decoded bytes. read() returns fewer than n bytes only at the end of data.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::size_t read(std::uint8_t* dst, std::size_t n) = 0;
  // True when the data ended because the container was cut short (a partial gzip stream).
  virtual bool cut_short() const { return false; }
};

class PlainSource final : public Source {
 public:
  PlainSource(std::FILE* file, const fs::path& path) : file_(file), path_(path) {}
  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t got = std::fread(dst, 1, n, file_);
    if (got < n && std::ferror(file_))
      fail(path_, std::string("read error: ") + std::strerror(errno));
    return got;
  }

 private:
  std::FILE* file_;
  const fs::path& path_;
};

// Inflates one or more concatenated gzip members (as gzip(1) does); anything after the
// last member that is not another member is an error, not silently ignored.
class GzipSource final : public Source {
 public:
  GzipSource(std::FILE* file, const fs::path& path) : file_(file), path_(path), in_(1 << 18) {
    std::memset(&zs_, 0, sizeof zs_);
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
      fail(path_, "gzip error: cannot initialise zlib");
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;

  std::size_t read(std::uint8_t* dst, std::size_t n) override {
    std::size_t total = 0;
    while (total < n) {
      if (member_done_) {
        if (!refill()) break;  // clean end of file after a complete member
        bool another_member =
            zs_.next_in[0] == 0x1f && (zs_.avail_in < 2 || zs_.next_in[1] == 0x8b);
        if (!another_member) {
          fail(path_,
               "gzip error: trailing garbage after the end of the gzip stream (found bytes " +
                   hex_bytes(zs_.next_in, std::min<std::size_t>(zs_.avail_in, 4)) +
                   ", expected end of file)");
        }
        inflateReset(&zs_);
        member_done_ = false;
      }
      if (zs_.avail_in == 0 && !refill()) {
        // Reported by the caller, which knows how many bytes it expected.
        cut_short_ = true;
        break;
      }
      std::size_t want = std::min<std::size_t>(n - total, UINT_MAX);
      zs_.next_out = dst + total;
      zs_.avail_out = static_cast<uInt>(want);
      int rc = inflate(&zs_, Z_NO_FLUSH);
      total += want - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR) {
        if (zs_.avail_in != 0) fail(path_, "gzip error: inflate made no progress");
      } else if (rc != Z_OK) {
        fail(path_, std::string("gzip error: ") + (zs_.msg ? zs_.msg : zError(rc)) +
                        " (corrupt gzip stream)");
      }
    }
    return total;
  }
  bool cut_short() const override { return cut_short_; }

 private:
  bool refill() {
    if (zs_.avail_in > 0) return true;
    std::size_t got = std::fread(in_.data(), 1, in_.size(), file_);
    if (got == 0 && std::ferror(file_))
      fail(path_, std::string("read error: ") + std::strerror(errno));
    zs_.next_in = in_.data();
    zs_.avail_in = static_cast<uInt>(got);
    return got > 0;
  }

  std::FILE* file_;
  const fs::path& path_;
  std::vector<std::uint8_t> in_;
  z_stream zs_;
  bool member_done_ = false;
  bool cut_short_ = false;
};

std::string cut_note(const Source& source) {
  return source.cut_short() ? " (the gzip stream is cut short: the .gz file is truncated)" : "";
}

}  // namespace

IdxArray read_idx(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    fail(path,
         "no such file (expected an IDX file; for MNIST run scripts/setup, for "
         "Fashion-MNIST `apt-get install dataset-fashion-mnist`)");
  }
  if (fs::is_directory(path, ec)) fail(path, "is a directory, expected an IDX file");
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));

  std::array<std::uint8_t, 2> probe{};
  std::size_t probed = std::fread(probe.data(), 1, 2, file.get());
  bool gzip = probed == 2 && probe[0] == 0x1f && probe[1] == 0x8b;
  std::rewind(file.get());
  std::unique_ptr<Source> source;
  if (gzip) {
    source = std::make_unique<GzipSource>(file.get(), path);
  } else {
    source = std::make_unique<PlainSource>(file.get(), path);
  }

  std::array<std::uint8_t, 4> magic{};
  std::size_t got = source->read(magic.data(), 4);
  if (got < 4) {
    fail(path, "truncated IDX header: expected a 4-byte magic number, found " +
                   std::to_string(got) + " bytes" + cut_note(*source));
  }
  if (magic[0] != 0 || magic[1] != 0) {
    fail(path, "wrong magic number: found bytes " + hex_bytes(magic.data(), 4) +
                   ", expected 00 00 08 0N (IDX of unsigned bytes with N dimensions)" +
                   (gzip ? "" : "; not a gzip file either"));
  }
  if (magic[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", magic[2]);
    fail(path, std::string("unsupported IDX element type ") + type + " (" +
                   idx_type_name(magic[2]) + "), expected 0x08 (unsigned byte)");
  }
  int ndims = magic[3];
  if (ndims == 0) fail(path, "IDX header declares 0 dimensions, expected at least 1");

  std::vector<std::uint8_t> raw_dims(4 * static_cast<std::size_t>(ndims));
  got = source->read(raw_dims.data(), raw_dims.size());
  if (got < raw_dims.size()) {
    fail(path, "truncated IDX header: expected " + std::to_string(raw_dims.size()) +
                   " bytes of dimensions, found " + std::to_string(got) + cut_note(*source));
  }
  IdxArray out;
  std::uint64_t payload = 1;
  for (int d = 0; d < ndims; ++d) {
    const std::uint8_t* b = raw_dims.data() + 4 * d;
    std::uint32_t dim = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) |
                        (std::uint32_t{b[2]} << 8) | std::uint32_t{b[3]};
    out.dims.push_back(dim);
    // Cap at 2^40 bytes so a corrupt header cannot overflow the product.
    payload = dim == 0 ? 0
                       : (payload > (std::uint64_t{1} << 40) / dim ? (std::uint64_t{1} << 41)
                                                                   : payload * dim);
  }
  if (payload > kMaxIdxPayload) {
    fail(path, "IDX dims " + dims_text(out.dims) + " give a payload over the limit of " +
                   std::to_string(kMaxIdxPayload >> 20) +
                   " MiB (a gzip file could otherwise expand without bound)");
  }

  // Grow in doubling chunks from 1 MiB so that a corrupt header promising a huge payload
  // fails on truncation instead of allocating it first (a 12-byte file claiming 96 MiB
  // made the first chunk 64 MiB: a libFuzzer timeout under ASan,
  // tests/fuzz/regressions/idx/).
  std::size_t filled = 0;
  std::size_t want = static_cast<std::size_t>(payload);
  while (filled < want) {
    std::size_t next = std::min(want, std::max<std::size_t>(filled * 2, std::size_t{1} << 20));
    out.data.resize(next);
    std::size_t n = source->read(out.data.data() + filled, next - filled);
    filled += n;
    if (filled < next) {
      fail(path, "truncated file: expected " + std::to_string(want) + " bytes of payload (dims " +
                     dims_text(out.dims) + "), found " + std::to_string(filled) +
                     cut_note(*source));
    }
  }

  // Also drives the gzip stream to its end, so its CRC and length are checked.
  std::size_t extra = 0;
  std::vector<std::uint8_t> sink(1 << 16);
  while (std::size_t n = source->read(sink.data(), sink.size())) {
    extra += n;
    if (n < sink.size()) break;
  }
  if (source->cut_short()) {
    fail(path,
         "gzip error: the gzip stream ends before its trailer (expected a CRC and length; "
         "the .gz file is truncated)");
  }
  if (extra > 0) {
    fail(path, "trailing garbage: expected " + std::to_string(want) + " bytes of payload (dims " +
                   dims_text(out.dims) + "), found " + std::to_string(want + extra));
  }
  return out;
}

void write_idx(const fs::path& path, const IdxArray& array, bool gzip) {
  if (array.dims.empty() || array.dims.size() > 255) {
    fail(path, "write_idx: expected 1..255 dims, got " + std::to_string(array.dims.size()));
  }
  std::uint64_t payload = 1;
  for (std::uint32_t d : array.dims) payload *= d;
  if (payload != array.data.size()) {
    fail(path, "write_idx: dims " + dims_text(array.dims) + " need " + std::to_string(payload) +
                   " bytes, data has " + std::to_string(array.data.size()));
  }
  std::vector<std::uint8_t> header{0, 0, 0x08, static_cast<std::uint8_t>(array.dims.size())};
  for (std::uint32_t d : array.dims) {
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back((d >> shift) & 0xff);
  }
  if (gzip) {
    gzFile gz = gzopen(path.c_str(), "wb");
    if (!gz) fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
    bool ok = gzwrite(gz, header.data(), static_cast<unsigned>(header.size())) ==
              static_cast<int>(header.size());
    for (std::size_t off = 0; ok && off < array.data.size(); off += 1 << 24) {
      unsigned len = static_cast<unsigned>(std::min<std::size_t>(array.data.size() - off, 1 << 24));
      ok = gzwrite(gz, array.data.data() + off, len) == static_cast<int>(len);
    }
    if (gzclose(gz) != Z_OK || !ok) fail(path, "gzip error while writing");
    return;
  }
  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file) fail(path, std::string("cannot open for writing: ") + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), file.get()) == header.size() &&
            std::fwrite(array.data.data(), 1, array.data.size(), file.get()) == array.data.size();
  if (std::fclose(file.release()) != 0 || !ok) {
    fail(path, std::string("write error: ") + std::strerror(errno));
  }
}

}  // namespace wuxing
