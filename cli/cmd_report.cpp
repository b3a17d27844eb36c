// `wuxing report`: summary tables of a results file (analysis/report.hpp).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "analysis/report.hpp"
#include "cli/commands.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing::cli {

namespace {

struct ReportArgs {
  std::vector<std::string> files;
  std::string metric = "test_accuracy";
  std::vector<std::string> by;
  std::string format = "table";
  std::string output;
};

int do_report(const ReportArgs& a) {
  const ReportFormat format = parse_report_format(a.format);
  const Report report = build_report(
      std::vector<std::filesystem::path>(a.files.begin(), a.files.end()), a.by, a.metric);
  const std::string text = format_report(report, format);
  if (a.output.empty()) {
    fmt::print("{}", text);
  } else {
    std::ofstream out(a.output, std::ios::binary);
    out << text;
    out.close();
    if (!out) throw ReportError(fmt::format("cannot write {}", a.output));
    fmt::print(stderr, "report written to {}\n", a.output);
  }
  // The csv holds one row per group; the runs that are not ok still get named.
  if (format == ReportFormat::csv && !report.not_ok.empty()) {
    fmt::print(stderr, "{} run(s) not ok (see the table form for details):\n",
               report.not_ok.size());
    for (const auto& r : report.not_ok)
      fmt::print(stderr, "  {} {}: {}\n", r.id, r.status.name(), r.reason);
  }
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto [cmd, args] = add_command<ReportArgs>(app, "report");
  add_input_files(cmd, "files", args->files, "Results files (HDF5, written by `wuxing run`)");
  cmd->add_option("--by", args->by,
                  "Group by these swept columns (comma separated; 'file' groups by file)")
      ->delimiter(',');
  cmd->add_option("--metric", args->metric,
                  "Per-epoch metric to compare, final epoch (test_accuracy, train_accuracy, "
                  "test_loss, ...; higher is better for accuracies, lower for the rest)")
      ->capture_default_str();
  cmd->add_option("--format", args->format, "table (default), md or csv")
      ->check(CLI::IsMember({"table", "md", "csv"}));
  cmd->add_option("-o,--output", args->output, "Write the report to this file instead of stdout");
  cmd->callback([args] {
    const int code = do_report(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace wuxing::cli
