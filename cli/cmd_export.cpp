// `wuxing export FILE --format csv`: a results file as CSV, for tools that do not read HDF5.
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <string>

#include "analysis/inspect_tables.hpp"
#include "cli/commands.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing::cli {

void add_export_command(CLI::App& app) {
  struct Args {
    std::string file;
    std::string format = "csv";
    std::string table = "runs";
    std::string output;
  };
  auto [cmd, args] = add_command<Args>(app, "export");
  add_results_file(cmd, args->file);
  cmd->add_option("--format", args->format, "csv (the only format so far)")
      ->check(CLI::IsMember({"csv"}))
      ->capture_default_str();
  cmd->add_option("--table", args->table, "runs or epochs")
      ->check(CLI::IsMember({"runs", "epochs"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Write to this file instead of stdout");
  cmd->callback([args] {
    const TextTable t = args->table == "runs" ? index_table(args->file) : epochs_table(args->file);
    const std::string text = render_csv(t);
    if (args->output.empty()) {
      fmt::print("{}", text);
      return;
    }
    const std::string tmp = args->output + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary);
      out << text;
      out.close();
      if (!out) throw StoreError(fmt::format("cannot write {}", tmp));
    }
    std::filesystem::rename(tmp, args->output);
    fmt::print(stderr, "{} rows written to {}\n", t.rows.size(), args->output);
  });
}

}  // namespace wuxing::cli
