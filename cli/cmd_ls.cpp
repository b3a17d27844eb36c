// `wuxing ls FILE`: the runs of a results file, their status, swept values and final metrics.
#include <fmt/format.h>

#include <map>
#include <memory>
#include <string>

#include "analysis/inspect_tables.hpp"
#include "cli/commands.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing::cli {

void add_ls_command(CLI::App& app) {
  struct Args {
    std::string file;
    std::string status;
  };
  auto [cmd, args] = add_command<Args>(app, "ls");
  add_results_file(cmd, args->file);
  cmd->add_option("--status", args->status, "Only runs with this status (ok, failed, ...)");
  cmd->callback([args] {
    const StoreHeader h = read_header(args->file);
    const TextTable t = runs_summary_table(args->file, args->status);
    std::map<std::string, int> counts;
    for (const auto& row : t.rows) ++counts[row[1]];
    std::string by_status;
    for (const auto& [s, n] : counts)
      by_status += fmt::format("{}{} {}", by_status.empty() ? "" : ", ", n, s);
    fmt::print("{} (spec '{}', fingerprint {}): {} run(s){}\n\n", args->file, h.spec_name,
               h.fingerprint, t.rows.size(), by_status.empty() ? "" : " (" + by_status + ")");
    fmt::print("{}", render_text(t));
  });
}

}  // namespace wuxing::cli
