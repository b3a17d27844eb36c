#include "framework/pipeline/merge.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

#include "framework/pipeline/spec.hpp"

namespace wuxing {

std::vector<std::filesystem::path> results_and_parts(const std::filesystem::path& file) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::exists(file)) out.push_back(file);
  const std::filesystem::path parts(file.string() + ".parts");
  std::error_code ec;
  if (std::filesystem::is_directory(parts, ec)) {
    std::vector<std::filesystem::path> found;
    for (const auto& entry : std::filesystem::directory_iterator(parts, ec))
      if (entry.path().extension() == ".h5") found.push_back(entry.path());
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

std::map<std::string, std::size_t> choose_sources(
    const std::vector<std::map<std::string, StoredRun>>& runs_per_source) {
  std::map<std::string, std::size_t> chosen;
  std::map<std::string, bool> chosen_ok;
  for (std::size_t i = 0; i < runs_per_source.size(); ++i) {
    for (const auto& [id, run] : runs_per_source[i]) {
      const bool ok = run.status == RunStatus::ok;
      auto it = chosen_ok.find(id);
      // Later wins, except that a failed copy never replaces an ok one.
      if (it == chosen_ok.end() || ok || !it->second) {
        chosen[id] = i;
        chosen_ok[id] = ok;
      }
    }
  }
  return chosen;
}

void number_merged_runs(StoreHeader& header, const std::vector<std::string>& fingerprints,
                        const std::vector<std::map<std::string, StoredRun>>& runs_per_source) {
  // Sources of one sweep keep their order; the sweeps follow one another in the order first
  // seen, each after the last index of the ones before.
  std::vector<std::string> sweeps;
  std::map<std::string, std::size_t> end_of;  // sweep fingerprint -> 1 + its largest index
  for (std::size_t i = 0; i < fingerprints.size(); ++i) {
    if (std::find(sweeps.begin(), sweeps.end(), fingerprints[i]) == sweeps.end())
      sweeps.push_back(fingerprints[i]);
    for (const auto& [id, run] : runs_per_source[i])
      end_of[fingerprints[i]] = std::max(end_of[fingerprints[i]], run.plan_index + 1);
  }
  std::map<std::string, std::size_t> offset;
  std::size_t next = 0;
  for (const auto& f : sweeps) {
    offset[f] = next;
    next += end_of[f];
  }
  header.plan_indices.clear();
  for (std::size_t i = 0; i < fingerprints.size(); ++i)
    for (const auto& [id, run] : runs_per_source[i])
      header.plan_indices.emplace(id, offset[fingerprints[i]] + run.plan_index);
  std::vector<std::pair<std::size_t, std::string>> order;
  for (const auto& [id, index] : header.plan_indices) order.emplace_back(index, id);
  std::sort(order.begin(), order.end());
  std::string text = header.base_yaml + "--- merged runs\n";
  for (const auto& [index, id] : order) text += id + "\n";
  header.fingerprint = hex16(fnv1a64(text));
}

OutputLock::OutputLock(const std::filesystem::path& out) {
  const std::string path = out.string() + ".lock";
  if (out.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(out.parent_path(), ec);
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw StoreError(fmt::format("cannot create the lock file {}: {}", path, std::strerror(errno)));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw StoreBusy(fmt::format(
        "{} is being written by another process (lock {} is held); wait for it to finish",
        out.string(), path));
  }
}

OutputLock::~OutputLock() {
  if (fd_ >= 0) ::close(fd_);
}

MergeSummary merge_shard_files(const std::filesystem::path& out,
                               const std::vector<std::filesystem::path>& inputs, bool take_lock) {
  std::optional<OutputLock> lock;
  if (take_lock) lock.emplace(out);
  for (const auto& in : inputs) {
    if (std::filesystem::exists(in) || !results_and_parts(in).empty()) continue;
    throw StoreError(fmt::format("merge: input {} does not exist", in.string()));
  }
  std::vector<std::filesystem::path> sources = results_and_parts(out);
  for (const auto& in : inputs) {
    std::error_code ec;
    if (std::filesystem::equivalent(in, out, ec)) continue;  // already the first source
    for (auto& p : results_and_parts(in)) sources.push_back(std::move(p));
  }
  if (sources.empty()) throw StoreError("merge: no input results files given");

  // Every file must be of one spec, or of compatible specs (store.hpp: compatible_headers);
  // name the first file of each spec seen in the error.
  std::optional<StoreHeader> header;
  std::filesystem::path header_file;
  std::vector<std::map<std::string, StoredRun>> runs;
  std::vector<std::string> fingerprints;
  for (const auto& source : sources) {
    StoreHeader h = read_header(source);
    if (!header) {
      header = h;
      header_file = source;
    } else if (!compatible_headers(h, *header)) {
      throw StoreError(fmt::format(
          "cannot merge {} (spec '{}', fingerprint {}) with {} (spec '{}', fingerprint {}): "
          "they are results of different specs (their base configs or swept columns differ); "
          "{} was left unchanged",
          source.string(), h.spec_name, h.fingerprint, header_file.string(), header->spec_name,
          header->fingerprint, out.string()));
    }
    fingerprints.push_back(h.fingerprint);
    runs.push_back(read_runs(source));
  }
  if (std::any_of(fingerprints.begin(), fingerprints.end(),
                  [&](const std::string& f) { return f != header->fingerprint; }))
    number_merged_runs(*header, fingerprints, runs);
  const auto chosen = choose_sources(runs);
  merge_results(out, *header, sources, chosen);

  MergeSummary s;
  s.inputs = sources.size();
  for (const auto& [id, i] : chosen) {
    ++s.runs;
    if (runs[i].at(id).status == RunStatus::ok)
      ++s.ok;
    else
      ++s.not_ok;
  }
  // The output's own leftover parts are in it now; the inputs' parts stay (inputs are
  // only read).
  const std::filesystem::path out_parts(out.string() + ".parts");
  std::error_code ec;
  if (std::filesystem::is_directory(out_parts, ec)) {
    for (const auto& p : results_and_parts(out))
      if (p != out) std::filesystem::remove(p, ec);
    std::filesystem::remove(out_parts, ec);
  }
  return s;
}

}  // namespace wuxing
