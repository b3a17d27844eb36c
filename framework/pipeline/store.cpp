#include "framework/pipeline/store.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <hdf5.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "framework/pipeline/h5.hpp"
#include "framework/pipeline/provenance.hpp"
#include "framework/pipeline/store_layout.hpp"

namespace wuxing {

using namespace h5;
using namespace detail;

namespace {

// ---- files ----

void fsync_path(const std::filesystem::path& p, bool directory) {
  int fd = ::open(p.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    throw StoreError(
        fmt::format("cannot open {} to sync it: {}", p.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0)
    throw StoreError(fmt::format("fsync {} failed: {}", p.string(), std::strerror(errno)));
}

void atomic_replace(const std::filesystem::path& tmp, const std::filesystem::path& final_path) {
  fsync_path(tmp, false);
  std::error_code ec;
  std::filesystem::rename(tmp, final_path, ec);
  if (ec)
    throw StoreError(
        fmt::format("cannot rename {} to {}: {}", tmp.string(), final_path.string(), ec.message()));
  const auto dir =
      final_path.has_parent_path() ? final_path.parent_path() : std::filesystem::path(".");
  fsync_path(dir, true);
}

// The copied runs' object headers stay in the files' metadata caches until they are
// closed, and HDF5 lets each cache grow to 32 MB: the memory of a re-assembly, which copies
// every stored run, would grow with the length of a sweep up to there. Small caches keep
// it flat.
void limit_metadata_cache(hid_t file) {
  H5AC_cache_config_t mdc{};
  mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  if (H5Fget_mdc_config(file, &mdc) < 0) return;
  mdc.set_initial_size = true;
  mdc.initial_size = 1 << 20;
  mdc.max_size = 2 << 20;
  mdc.min_size = std::min<std::size_t>(mdc.min_size, 1 << 20);
  H5Fset_mdc_config(file, &mdc);
}

Handle create_file(const std::filesystem::path& p) {
  silence();
  return Handle(
      check(H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "create " + p.string()),
      H5Fclose);
}

// The plan indices that change when runs are copied under `header` (see
// StoreHeader::plan_indices): runs of the plan take theirs; the others keep their order after
// the plan's runs.
std::map<std::string, std::int64_t> new_plan_indices(
    const StoreHeader& header, const std::vector<std::filesystem::path>& sources,
    const std::map<std::string, std::size_t>& from) {
  std::map<std::string, std::int64_t> out;
  if (header.plan_indices.empty()) return out;
  // Files written under this very header are numbered already (the usual re-assembly).
  bool all_current = true;
  for (const auto& source : sources) {
    Handle f = open_results(source);
    all_current = all_current && header_of(f).fingerprint == header.fingerprint;
  }
  if (all_current) return out;
  std::vector<std::pair<std::int64_t, std::string>> others;
  std::map<std::string, std::int64_t> stored;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    Handle f;
    for (const auto& [name, source] : from) {
      if (source != i) continue;
      if (f.get() < 0) f = open_results(sources[i]);
      Handle g = open_group(f, "runs/" + name);
      stored[name] = read_attr_number<std::int64_t>(g, "plan_index");
    }
  }
  for (const auto& [name, index] : stored) {
    auto it = header.plan_indices.find(name);
    if (it == header.plan_indices.end())
      others.emplace_back(index, name);
    else if (static_cast<std::int64_t>(it->second) != index)
      out[name] = static_cast<std::int64_t>(it->second);
  }
  std::sort(others.begin(), others.end());
  auto next = static_cast<std::int64_t>(header.plan_indices.size());
  for (const auto& [index, name] : others) {
    if (index != next) out[name] = next;
    ++next;
  }
  return out;
}

}  // namespace

bool compatible_headers(const StoreHeader& a, const StoreHeader& b) {
  if (a.fingerprint == b.fingerprint) return true;
  if (a.base_yaml != b.base_yaml || a.columns.size() != b.columns.size()) return false;
  for (std::size_t i = 0; i < a.columns.size(); ++i)
    if (a.columns[i].key != b.columns[i].key || a.columns[i].numeric != b.columns[i].numeric)
      return false;
  return true;
}

RunRecord make_run_record(const PlannedRun& run) {
  RunRecord rec;
  rec.id = run.id;
  rec.plan_index = run.index;
  rec.config_yaml = run.yaml;
  rec.seed = run.config.seed;
  rec.ablation = run.ablation;
  rec.swept = run.swept;
  return rec;
}

StoreHeader make_store_header(const SweepPlan& plan) {
  StoreHeader h{plan.spec_name, plan.fingerprint, plan.description,
                plan.base_yaml, plan.columns,     {}};
  for (const auto& r : plan.runs) h.plan_indices.emplace(r.id, r.index);
  return h;
}

void write_run_file(const std::filesystem::path& file, const StoreHeader& header,
                    const RunRecord& record) {
  // The part is built in memory (HDF5 core driver) and written out by us: HDF5 1.10 does
  // not survive a failing write (on a full disk it later crashed in H5Ocopy or at exit),
  // whereas our own write() reports ENOSPC cleanly.
  std::vector<char> image;
  {
    silence();
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "file access properties"), H5Pclose);
    check_status(H5Pset_fapl_core(fapl, 1 << 20, 0), "core driver");
    Handle f(check(H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl),
                   "create in-memory " + file.string()),
             H5Fclose);
    write_header(f, header);
    write_run_group(f, record);
    check_status(H5Fflush(f, H5F_SCOPE_GLOBAL), "flush in-memory " + file.string());
    const ssize_t size = H5Fget_file_image(f, nullptr, 0);
    if (size <= 0) check_status(-1, "file image of " + file.string());
    image.resize(static_cast<std::size_t>(size));
    if (H5Fget_file_image(f, image.data(), image.size()) != size)
      check_status(-1, "file image of " + file.string());
    close_file(f, "close in-memory " + file.string());
  }
  const auto tmp = std::filesystem::path(file.string() + ".tmp");
  try {
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      throw StoreError(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
    std::size_t done = 0;
    while (done < image.size()) {
      const ssize_t n = ::write(fd, image.data() + done, image.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : ENOSPC;
        ::close(fd);
        throw StoreError(fmt::format("cannot write {} ({} bytes): {}", tmp.string(), image.size(),
                                     std::strerror(err)));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0)
      throw StoreError(fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
    atomic_replace(tmp, file);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);  // on a full disk, give the space back
    throw;
  }
}

void merge_results(const std::filesystem::path& out, const StoreHeader& header,
                   const std::vector<std::filesystem::path>& sources) {
  // Later sources win: decide where each run comes from before copying anything, so
  // that nothing is copied twice (HDF5 does not reclaim the space of deleted objects).
  std::map<std::string, std::size_t> from;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    Handle f = open_results(sources[i]);
    require_same_spec(sources[i], header_of(f), header);
    for (const auto& name : run_names(f)) from[name] = i;
  }
  merge_results(out, header, sources, from);
}

void merge_results(const std::filesystem::path& out, const StoreHeader& header,
                   const std::vector<std::filesystem::path>& sources,
                   const std::map<std::string, std::size_t>& from) {
  for (const auto& [name, i] : from)
    if (i >= sources.size())
      throw StoreError(
          fmt::format("merge: run {} assigned to source {} of {}", name, i, sources.size()));
  for (const auto& source : sources) {
    Handle f = open_results(source);
    require_same_spec(source, header_of(f), header);
  }
  // HDF5 must not meet a full disk half-way (see write_run_file): refuse up front when
  // the new file (at most the sources' size, plus the index and some slack) cannot fit.
  {
    std::uintmax_t need = 64 * 1024;
    for (const auto& src : sources) need += std::filesystem::file_size(src);
    need += need / 8;
    const auto dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
    struct statvfs fs {};
    if (::statvfs(dir.c_str(), &fs) == 0) {
      const std::uintmax_t avail = static_cast<std::uintmax_t>(fs.f_bavail) * fs.f_frsize;
      if (avail < need)
        throw StoreError(fmt::format(
            "cannot write {}: No space left on device (needs about {} KiB, {} KiB free); "
            "finished runs are kept; free some space and run the same command again",
            out.string(), need / 1024, avail / 1024));
    }
  }
  const auto renumbered = new_plan_indices(header, sources, from);
  const auto tmp = std::filesystem::path(out.string() + ".tmp");
  try {
    Handle dst = create_file(tmp);
    limit_metadata_cache(dst);
    write_header(dst, header);
    Handle runs = create_group(dst, "runs");
    std::size_t copied = 0;
    for (std::size_t i = 0; i < sources.size(); ++i) {
      Handle src;
      for (const auto& [name, source] : from) {
        if (source != i) continue;
        if (src.get() < 0) {
          src = open_results(sources[i]);
          limit_metadata_cache(src);
        }
        const std::string path = "runs/" + name;
        check_status(H5Ocopy(src, path.c_str(), runs, name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
                     fmt::format("copy run {} from {}", name, sources[i].string()));
        if (auto it = renumbered.find(name); it != renumbered.end()) {
          Handle g = open_group(runs, name);
          Handle a(check(H5Aopen(g, "plan_index", H5P_DEFAULT), "open plan_index"), H5Aclose);
          check_status(H5Awrite(a, H5T_NATIVE_INT64, &it->second), "renumber run " + name);
        }
        // HDF5 holds on to what it read from a source until that file is closed (about 40 KB
        // per copied run, heaptrack): reopen it now and then, so that memory does not grow
        // with the sweep.
        if (++copied % 64 == 0) src = Handle();
      }
    }
    runs.reset();
    write_index(dst, header);
    check_status(H5Fflush(dst, H5F_SCOPE_GLOBAL), "flush " + tmp.string());
    close_file(dst, "close " + tmp.string());
    atomic_replace(tmp, out);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

ResultsStore::ResultsStore(std::filesystem::path out, StoreHeader header)
    : out_(std::move(out)), header_(std::move(header)) {
  silence();
  std::error_code ec;
  if (out_.has_parent_path()) {
    std::filesystem::create_directories(out_.parent_path(), ec);
    if (ec)
      throw StoreError(fmt::format("cannot create the output directory {} for {}: {}",
                                   out_.parent_path().string(), out_.string(), ec.message()));
  }
  if (std::filesystem::is_directory(out_))
    throw StoreError(
        fmt::format("{} is a directory; expected a results file name (-o)", out_.string()));
  const std::string lock_path = out_.string() + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0)
    throw StoreError(
        fmt::format("cannot create the lock file {}: {}", lock_path, std::strerror(errno)));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw StoreBusy(fmt::format(
        "{} is being written by another process (lock {} is held); wait for it to finish or use "
        "another output file with -o",
        out_.string(), lock_path));
  }
  try {
    open_existing();
  } catch (...) {
    ::close(lock_fd_);
    lock_fd_ = -1;
    throw;
  }
}

ResultsStore::~ResultsStore() {
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock; the file itself may stay
}

void ResultsStore::open_existing() {
  std::error_code ec;
  std::filesystem::remove(out_.string() + ".tmp", ec);  // an interrupted assembly
  {
    // Fail now, not after the first run has been computed, if the output cannot be written.
    const std::string probe = out_.string() + ".tmp";
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
      throw StoreError(fmt::format("cannot write the results file {}: cannot create {}: {}",
                                   out_.string(), probe, std::strerror(errno)));
    ::close(fd);
    std::filesystem::remove(probe, ec);
  }
  if (std::filesystem::exists(out_)) {
    Handle f = open_results(out_);
    require_same_spec(out_, header_of(f), header_);
    runs_ = runs_of(f);
  }
  const auto parts = parts_dir();
  if (std::filesystem::is_directory(parts)) {
    std::vector<std::filesystem::path> leftovers;
    for (const auto& entry : std::filesystem::directory_iterator(parts)) {
      const auto& p = entry.path();
      if (p.extension() == ".tmp") {
        std::filesystem::remove(p, ec);  // a part that never finished: its run is redone
        continue;
      }
      if (p.extension() != ".h5") continue;
      leftovers.push_back(p);
    }
    std::sort(leftovers.begin(), leftovers.end());
    for (const auto& p : leftovers) {
      Handle f = open_results(p);
      require_same_spec(p, header_of(f), header_);
      for (auto& [id, run] : runs_of(f)) runs_[id] = run;
      dirty_ = true;
    }
    if (dirty_) assemble();
  }
}

std::filesystem::path ResultsStore::parts_dir() const {
  return std::filesystem::path(out_.string() + ".parts");
}

void ResultsStore::add(const RunRecord& record) {
  const auto parts = parts_dir();
  std::error_code ec;
  std::filesystem::create_directories(parts, ec);
  if (ec)
    throw StoreError(
        fmt::format("cannot create {} (where finished runs are kept until they are "
                    "assembled into {}): {}",
                    parts.string(), out_.string(), ec.message()));
  write_run_file(parts / (record.id + ".h5"), header_, record);
  StoredRun s;
  s.id = record.id;
  s.plan_index = record.plan_index;
  s.status = record.result.status;
  s.reason = record.result.reason;
  s.start_time = record.start_time;
  s.end_time = record.end_time;
  s.final_test_accuracy = record.result.epochs.empty() ? std::numeric_limits<double>::quiet_NaN()
                                                       : record.result.epochs.back().test_accuracy;
  s.wall_seconds = record.result.wall_seconds;
  runs_[record.id] = s;
  dirty_ = true;
}

void ResultsStore::assemble() {
  const auto parts = parts_dir();
  std::vector<std::filesystem::path> sources;
  if (std::filesystem::exists(out_)) sources.push_back(out_);
  std::vector<std::filesystem::path> part_files;
  if (std::filesystem::is_directory(parts))
    for (const auto& entry : std::filesystem::directory_iterator(parts))
      if (entry.path().extension() == ".h5") part_files.push_back(entry.path());
  std::sort(part_files.begin(), part_files.end());
  sources.insert(sources.end(), part_files.begin(), part_files.end());
  if (part_files.empty() && std::filesystem::exists(out_)) {
    dirty_ = false;
    return;
  }
  merge_results(out_, header_, sources);
  // Only now that the main file holds them may the parts go.
  std::error_code ec;
  for (const auto& p : part_files) std::filesystem::remove(p, ec);
  std::filesystem::remove(parts, ec);  // only if empty
  dirty_ = false;
}

}  // namespace wuxing
