// `wuxing report`: summary tables of a results file (analysis/report.hpp).
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "analysis/report.hpp"
#include "cli/commands.hpp"
#include "framework/store.hpp"

namespace wuxing::cli {

namespace {

struct ReportArgs {
  std::string file;
  std::vector<std::string> by;
  std::string format = "table";
  std::string output;
};

int do_report(const ReportArgs& a) {
  const ReportFormat format = parse_report_format(a.format);
  const Report report = build_report(a.file, a.by);
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
      fmt::print(stderr, "  {} {}: {}\n", r.id, r.status, r.reason);
  }
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  auto* cmd = app.add_subcommand(
      "report",
      "Summarise a results file: runs grouped by their swept parameters (default: every swept "
      "column except the seed), with count, mean and sample std over the ok runs of each group "
      "of the final test accuracy, unsettled fraction, clamp events/fraction and wall time; the "
      "best group (highest mean test accuracy) is marked and runs that are not ok are listed "
      "with their reasons.");
  cmd->add_option("file", args->file, "Results file (HDF5, written by `wuxing run`)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--by", args->by, "Group by these swept columns (comma separated)")
      ->delimiter(',');
  cmd->add_option("--format", args->format, "table (default), md or csv")
      ->check(CLI::IsMember({"table", "md", "csv"}));
  cmd->add_option("-o,--output", args->output, "Write the report to this file instead of stdout");
  cmd->callback([args] {
    const int code = do_report(*args);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace wuxing::cli
