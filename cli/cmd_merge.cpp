// `wuxing merge OUT SHARD...`: merges the results files of shards into one.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "framework/pipeline/merge.hpp"

namespace wuxing::cli {

void add_merge_command(CLI::App& app) {
  struct Args {
    std::string out;
    std::vector<std::string> inputs;
  };
  auto [cmd, args] = add_command<Args>(app, "merge");
  cmd->add_option("out", args->out, "Merged results file (created, or merged into)")->required();
  cmd->add_option("shards", args->inputs, "Shard results files")->required();
  cmd->callback([args] {
    std::vector<std::filesystem::path> inputs(args->inputs.begin(), args->inputs.end());
    const auto s = merge_shard_files(args->out, inputs);
    fmt::print(stderr, "merged {} file(s) into {}: {} runs ({} ok, {} not ok)\n", s.inputs,
               args->out, s.runs, s.ok, s.not_ok);
  });
}

}  // namespace wuxing::cli
