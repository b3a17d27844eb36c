#include "framework/base/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <type_traits>

#include "framework/base/hash.hpp"

namespace wuxing {

// A field added to these must be added to the encoding below (and the version bumped).
static_assert(sizeof(TroubleCounts) == 10 * sizeof(std::int64_t), "update checkpoint.cpp");
static_assert(sizeof(EpochMetrics) == 8 + 9 * sizeof(double) + sizeof(TroubleCounts),
              "update checkpoint.cpp");

namespace {

constexpr char kMagic[8] = {'W', 'U', 'X', 'C', 'K', 'P', 'T', '4'};

class Writer {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes_ += s;
  }
  void put_doubles(const std::vector<double>& v) {
    put<std::uint64_t>(v.size());
    bytes_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <class T>
  T get() {
    T v;
    need(sizeof v);
    std::memcpy(&v, bytes_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::size_t count(std::size_t element_size) {
    const auto n = get<std::uint64_t>();
    if (element_size > 0 && n > (bytes_.size() - at_) / element_size)
      throw CheckpointError("a count runs past the end of the file");
    return static_cast<std::size_t>(n);
  }
  std::string get_string() {
    const std::size_t n = count(1);
    std::string s(bytes_.substr(at_, n));
    at_ += n;
    return s;
  }
  std::vector<double> get_doubles() {
    std::vector<double> v(count(sizeof(double)));
    std::memcpy(v.data(), bytes_.data() + at_, v.size() * sizeof(double));
    at_ += v.size() * sizeof(double);
    return v;
  }
  bool at_end() const { return at_ == bytes_.size(); }

 private:
  void need(std::size_t n) const {
    if (n > bytes_.size() - at_) throw CheckpointError("truncated");
  }
  std::string_view bytes_;
  std::size_t at_ = 0;
};

void put_epoch(Writer& w, const EpochMetrics& m) {
  w.put<std::int64_t>(m.epoch);
  for (double v :
       {m.train_accuracy, m.test_accuracy, m.train_loss, m.test_loss, m.unsettled_fraction,
        m.clamp_fraction, m.max_re_lambda, m.mean_steps, m.wall_seconds})
    w.put(v);
  const TroubleCounts& t = m.trouble;
  for (std::int64_t v :
       {t.unsettled_samples, t.backward_unsettled, t.step_cap_hits, t.clamp_events, t.non_finite,
        t.k_clamp_events, t.input_clamps, t.excluded_samples, t.solve_fallbacks, t.held_elements})
    w.put(v);
}

EpochMetrics get_epoch(Reader& r) {
  EpochMetrics m;
  m.epoch = static_cast<int>(r.get<std::int64_t>());
  for (double* v :
       {&m.train_accuracy, &m.test_accuracy, &m.train_loss, &m.test_loss, &m.unsettled_fraction,
        &m.clamp_fraction, &m.max_re_lambda, &m.mean_steps, &m.wall_seconds})
    *v = r.get<double>();
  TroubleCounts& t = m.trouble;
  for (std::int64_t* v : {&t.unsettled_samples, &t.backward_unsettled, &t.step_cap_hits,
                          &t.clamp_events, &t.non_finite, &t.k_clamp_events, &t.input_clamps,
                          &t.excluded_samples, &t.solve_fallbacks, &t.held_elements})
    *v = r.get<std::int64_t>();
  return m;
}

[[noreturn]] void fail_io(const std::string& what, const std::filesystem::path& p) {
  throw CheckpointError(fmt::format("cannot {} {}: {}", what, p.string(), std::strerror(errno)));
}

}  // namespace

void TrainingState::put(std::string name, std::vector<double> values) {
  arrays.emplace_back(std::move(name), std::move(values));
}

const std::vector<double>& TrainingState::get(const std::string& name, std::size_t expected) const {
  for (const auto& [n, v] : arrays) {
    if (n != name) continue;
    if (expected > 0 && v.size() != expected)
      throw CheckpointError(
          fmt::format("'{}' holds {} values, the run needs {}", name, v.size(), expected));
    return v;
  }
  throw CheckpointError(fmt::format("'{}' is missing", name));
}

std::string encode_checkpoint(const std::string& run_id, const TrainingState& s) {
  Writer w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.put_string(run_id);
  w.put<std::int64_t>(s.epochs_done);
  w.put<std::uint64_t>(s.epochs.size());
  for (const auto& m : s.epochs) put_epoch(w, m);
  w.put<std::uint64_t>(s.stability.size());
  for (const auto& rec : s.stability) {
    w.put<std::int64_t>(rec.epoch);
    std::vector<double> flat;
    for (const auto& z : rec.eigenvalues) {
      flat.push_back(z.real());
      flat.push_back(z.imag());
    }
    w.put_doubles(flat);
    w.put<std::uint64_t>(rec.diagnostics.size());
    for (const auto& [name, values] : rec.diagnostics) {
      w.put_string(name);
      w.put_doubles(values);
    }
  }
  w.put<std::uint64_t>(s.arrays.size());
  for (const auto& [name, values] : s.arrays) {
    w.put_string(name);
    w.put_doubles(values);
  }
  w.put(fnv1a64(w.bytes()));
  return std::move(w.bytes());
}

TrainingState decode_checkpoint(const std::string& bytes, const std::string& run_id) {
  if (bytes.size() < sizeof kMagic + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw CheckpointError("not a wuxing checkpoint (wrong magic)");
  const std::string_view body(bytes.data(), bytes.size() - 8);
  std::uint64_t sum = 0;
  std::memcpy(&sum, bytes.data() + body.size(), 8);
  if (sum != fnv1a64(body)) throw CheckpointError("checksum mismatch (torn or damaged file)");
  Reader r(body.substr(sizeof kMagic));
  if (r.get_string() != run_id) throw CheckpointError("it belongs to another run");
  TrainingState s;
  s.epochs_done = static_cast<int>(r.get<std::int64_t>());
  const std::size_t epochs = r.count(sizeof(EpochMetrics) / 2);
  for (std::size_t i = 0; i < epochs; ++i) s.epochs.push_back(get_epoch(r));
  const std::size_t records = r.count(16);
  for (std::size_t i = 0; i < records; ++i) {
    StabilityRecord rec;
    rec.epoch = static_cast<int>(r.get<std::int64_t>());
    const auto flat = r.get_doubles();
    for (std::size_t k = 0; k + 1 < flat.size(); k += 2)
      rec.eigenvalues.emplace_back(flat[k], flat[k + 1]);
    const std::size_t named = r.count(16);
    for (std::size_t k = 0; k < named; ++k) {
      std::string name = r.get_string();
      rec.diagnostics[name] = r.get_doubles();
    }
    s.stability.push_back(std::move(rec));
  }
  const std::size_t arrays = r.count(16);
  for (std::size_t i = 0; i < arrays; ++i) {
    std::string name = r.get_string();
    s.put(std::move(name), r.get_doubles());
  }
  if (!r.at_end()) throw CheckpointError("trailing bytes");
  if (s.epochs_done < 1 || static_cast<std::size_t>(s.epochs_done) != s.epochs.size())
    throw CheckpointError("inconsistent epoch count");
  return s;
}

std::filesystem::path checkpoint_dir(const std::filesystem::path& output) {
  return output.string() + ".checkpoints";
}

std::filesystem::path checkpoint_path(const std::filesystem::path& dir, const std::string& run_id) {
  return dir / (run_id + ".ckpt");
}

void remove_checkpoint(const std::filesystem::path& dir, const std::string& run_id) {
  const std::filesystem::path file = checkpoint_path(dir, run_id);
  std::error_code ec;
  std::filesystem::remove(file, ec);
  std::filesystem::remove(file.string() + ".tmp", ec);  // left by a kill mid-write
}

void write_checkpoint(const std::filesystem::path& file, const std::string& run_id,
                      const TrainingState& state) {
  const std::string bytes = encode_checkpoint(run_id, state);
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec)
    throw CheckpointError(
        fmt::format("cannot create {}: {}", file.parent_path().string(), ec.message()));
  const std::filesystem::path tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_io("create", tmp);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      std::filesystem::remove(tmp, ec);
      errno = saved;
      fail_io("write", tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::filesystem::remove(tmp, ec);
    fail_io("sync", tmp);
  }
  if (::rename(tmp.c_str(), file.c_str()) != 0) {
    std::filesystem::remove(tmp, ec);
    fail_io("rename", tmp);
  }
  if (const int dir = ::open(file.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

std::optional<TrainingState> read_checkpoint(const std::filesystem::path& file,
                                             const std::string& run_id) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return decode_checkpoint(ss.str(), run_id);
  } catch (const CheckpointError& e) {
    throw CheckpointError(fmt::format("checkpoint {}: {}", file.string(), e.what()));
  }
}

}  // namespace wuxing
