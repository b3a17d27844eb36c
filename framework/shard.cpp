#include "framework/shard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <vector>

namespace wuxing {

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
  static const std::regex pattern(R"(\s*(\d+)\s*/\s*(\d+)\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern))
    throw std::invalid_argument(
        fmt::format("--shard '{}': expected i/N with 0 <= i < N (e.g. 0/4), or 'slurm'", text));
  try {
    s.index = std::stoi(m[1].str());
    s.count = std::stoi(m[2].str());
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
  static const std::regex tail(R"(rank-\d+-of-\d+\.h5(\.parts)?)");
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(stem, 0) != 0) continue;
    const std::string rest = name.substr(stem.size() - 5);  // from "rank-"
    if (!std::regex_match(rest, tail)) continue;
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
