// `wuxing show FILE RUN`: one stored run: status, swept values, provenance, its resolved config
// and a per-epoch table.
#include <fmt/format.h>

#include <memory>
#include <string>

#include "analysis/inspect.hpp"
#include "analysis/inspect_tables.hpp"
#include "cli/commands.hpp"

namespace wuxing::cli {

namespace {

std::string indent(const std::string& text) {
  std::string out = "  ";
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '\n' && i + 1 < text.size()) out += "  ";
  }
  if (out.empty() || out.back() != '\n') out += '\n';
  return out;
}

void show(const std::string& file, const std::string& run, bool config_only) {
  const RunDetails d = read_run_details(file, run);
  if (config_only) {
    fmt::print("{}", d.attribute("config_yaml"));
    return;
  }
  fmt::print("run {} in {}\n", d.id, file);
  const std::string reason = d.attribute("reason");
  fmt::print("status: {}{}\n", d.attribute("status"), reason.empty() ? "" : " (" + reason + ")");
  fmt::print("swept: {} = {}\n", d.attribute("swept_keys"), d.attribute("swept_values"));
  fmt::print("seed {}, plan index {}, {} epoch(s), final test accuracy {}, train {}\n",
             d.attribute("seed"), d.attribute("plan_index"), d.attribute("epochs_done"),
             d.attribute("final_test_accuracy"), d.attribute("final_train_accuracy"));
  fmt::print("time: {} -> {} ({} s)\n", d.attribute("start_time"), d.attribute("end_time"),
             d.attribute("wall_seconds"));
  fmt::print("\nprovenance:\n");
  fmt::print("  git_commit: {} ({}{})\n", d.attribute("git_commit"),
             d.attribute("git_commit_source"), d.attribute("git_dirty") == "1" ? ", dirty" : "");
  for (const char* k : {"wuxing_version", "host"}) fmt::print("  {}: {}\n", k, d.attribute(k));
  for (const auto& [k, v] : d.attributes)
    if (k.rfind("version_", 0) == 0) fmt::print("  {}: {}\n", k, v);
  fmt::print("\nconfig:\n{}", indent(d.attribute("config_yaml")));
  const TextTable epochs = run_epochs_table(d);
  if (epochs.rows.empty())
    fmt::print("\nno epoch recorded\n");
  else
    fmt::print("\nper epoch:\n{}", render_text(epochs));
}

}  // namespace

void add_show_command(CLI::App& app) {
  struct Args {
    std::string file, run;
    bool config_only = false;
  };
  auto [cmd, args] = add_command<Args>(app, "show");
  add_results_file(cmd, args->file);
  cmd->add_option("run", args->run, "Run ID (or a unique prefix of one; see `wuxing ls`)")
      ->required();
  cmd->add_flag("--config", args->config_only,
                "Print only the run's resolved config (YAML that `wuxing run` accepts)");
  cmd->callback([args] { show(args->file, args->run, args->config_only); });
}

}  // namespace wuxing::cli
