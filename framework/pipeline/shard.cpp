#include "framework/pipeline/shard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wuxing {

namespace detail {
// Hand-written scanners rather than std::regex: these two patterns are all we need, and
// GCC 12's <regex> trips -Wmaybe-uninitialized in its own headers.
inline void skip_spaces(std::string_view& s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
}
inline bool take_digits(std::string_view& s, std::string* digits = nullptr) {
  std::size_t n = 0;
  while (n < s.size() && std::isdigit(static_cast<unsigned char>(s[n]))) ++n;
  if (n == 0) return false;
  if (digits) *digits = std::string(s.substr(0, n));
  s.remove_prefix(n);
  return true;
}
inline bool take(std::string_view& s, std::string_view word) {
  if (s.substr(0, word.size()) != word) return false;
  s.remove_prefix(word.size());
  return true;
}
// "  i / N  " -> {"i", "N"}.
inline bool match_fraction(std::string_view s, std::string& i, std::string& n) {
  skip_spaces(s);
  if (!take_digits(s, &i)) return false;
  skip_spaces(s);
  if (!take(s, "/")) return false;
  skip_spaces(s);
  if (!take_digits(s, &n)) return false;
  skip_spaces(s);
  return s.empty();
}
// "rank-<r>-of-<N>.h5" or the same with ".parts".
inline bool match_rank_tail(std::string_view s) {
  if (!take(s, "rank-") || !take_digits(s) || !take(s, "-of-") || !take_digits(s) ||
      !take(s, ".h5"))
    return false;
  return s.empty() || s == ".parts";
}
}  // namespace detail

EnvLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* v = std::getenv(name.c_str())) return std::string(v);
    return std::nullopt;
  };
}

namespace {

std::optional<long> env_number(const EnvLookup& env, const std::string& name) {
  const auto text = env(name);
  if (!text || text->empty()) return std::nullopt;
  std::size_t used = 0;
  long v = 0;
  try {
    v = std::stol(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size())
    throw std::invalid_argument(
        fmt::format("--shard slurm: {}='{}' is not an integer", name, *text));
  return v;
}

// "results/x.h5" + "shard-0-of-2" -> "results/x.shard-0-of-2.h5"
std::filesystem::path with_tag(const std::filesystem::path& output, const std::string& tag) {
  std::filesystem::path p = output;
  const std::string ext = p.extension() == ".h5" ? ".h5" : "";
  if (!ext.empty()) p.replace_extension();
  return std::filesystem::path(p.string() + "." + tag + ".h5");
}

}  // namespace

ShardId parse_shard(const std::string& text, const EnvLookup& env) {
  ShardId s;
  if (text == "slurm") {
    const auto id = env_number(env, "SLURM_ARRAY_TASK_ID");
    const auto count = env_number(env, "SLURM_ARRAY_TASK_COUNT");
    if (!id || !count)
      throw std::invalid_argument(
          "--shard slurm: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT must be set (run it as "
          "a task of `sbatch --array=...`, or give --shard i/N)");
    const long min = env_number(env, "SLURM_ARRAY_TASK_MIN").value_or(0);
    const long step = env_number(env, "SLURM_ARRAY_TASK_STEP").value_or(1);
    if (step < 1 || (*id - min) % step != 0)
      throw std::invalid_argument(
          fmt::format("--shard slurm: task id {} does not fit min {} and step {}", *id, min, step));
    const long index = (*id - min) / step;
    if (*count < 1 || index < 0 || index >= *count)
      throw std::invalid_argument(fmt::format(
          "--shard slurm: task id {} (min {}, step {}) gives shard {} of {}, expected 0 <= "
          "shard < {}; use a plain --array=a-b[:step] range (a task list like 1,5,9 is not "
          "supported)",
          *id, min, step, index, *count, *count));
    s.index = static_cast<int>(index);
    s.count = static_cast<int>(*count);
    return s;
  }
  std::string index_digits, count_digits;
  if (!detail::match_fraction(text, index_digits, count_digits))
    throw std::invalid_argument(
        fmt::format("--shard '{}': expected i/N with 0 <= i < N (e.g. 0/4), or 'slurm'", text));
  try {
    s.index = std::stoi(index_digits);
    s.count = std::stoi(count_digits);
  } catch (const std::exception&) {
    throw std::invalid_argument(fmt::format("--shard '{}': number out of range", text));
  }
  if (s.count < 1 || s.index >= s.count)
    throw std::invalid_argument(fmt::format(
        "--shard '{}': expected i/N with 0 <= i < N (shards are numbered from 0)", text));
  return s;
}

std::filesystem::path shard_path(const std::filesystem::path& output, ShardId shard) {
  return with_tag(output, fmt::format("shard-{}-of-{}", shard.index, shard.count));
}

std::filesystem::path rank_path(const std::filesystem::path& output, int rank, int ranks) {
  return with_tag(output, fmt::format("rank-{}-of-{}", rank, ranks));
}

std::vector<std::filesystem::path> leftover_rank_files(const std::filesystem::path& output) {
  std::vector<std::filesystem::path> found;
  const auto dir = output.has_parent_path() ? output.parent_path() : std::filesystem::path(".");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return found;
  const std::string prefix = with_tag(output, "rank-").filename().string();
  const std::string stem = prefix.substr(0, prefix.size() - 3);  // drop ".h5"
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(stem, 0) != 0) continue;
    const std::string rest = name.substr(stem.size() - 5);  // from "rank-"
    if (!detail::match_rank_tail(rest)) continue;
    // A parts directory whose rank file is gone still holds finished runs.
    std::filesystem::path file = entry.path();
    if (name.size() > 6 && name.substr(name.size() - 6) == ".parts")
      file = std::filesystem::path(file.string().substr(0, file.string().size() - 6));
    if (std::find(found.begin(), found.end(), file) == found.end()) found.push_back(file);
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace wuxing
