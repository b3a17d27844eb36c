// Summary tables of a results file (`wuxing report`): runs grouped by their swept
// parameters, with mean and standard deviation over the runs of each group (usually the
// seeds) of the final test accuracy and the numerical-trouble measures.
//
// Only runs with status `ok` enter the statistics: a failed or diverged run has no
// meaningful accuracy. Such runs are counted per group and listed with their reasons.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace wuxing {

struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One stored run as the report sees it.
struct ReportRun {
  std::string id;
  std::string status;
  std::string reason;
  std::vector<std::string> key;  // values of the grouping columns, as text
  double seed = 0.0;
  double final_test_accuracy = 0.0;
  double unsettled_fraction = 0.0;  // of the last epoch
  double clamp_events = 0.0;        // summed over all epochs
  double clamp_fraction = 0.0;      // of the last epoch
  double wall_seconds = 0.0;
};

// Mean and sample standard deviation (n - 1 in the denominator; NaN when n < 2).
struct Stat {
  std::size_t n = 0;
  double mean = 0.0;
  double std = 0.0;
};
Stat compute_stat(const std::vector<double>& values);

struct ReportGroup {
  std::vector<std::string> key;  // one value per Report::by column
  std::size_t runs = 0;          // stored runs in the group
  std::size_t ok = 0;            // of which `ok` (the statistics are over these)
  Stat test_accuracy;
  Stat unsettled_fraction;
  Stat clamp_events;
  Stat clamp_fraction;
  Stat wall_seconds;
  bool best = false;
};

struct Report {
  std::string file;
  std::string spec_name;
  std::vector<std::string> by;      // grouping columns
  std::vector<ReportGroup> groups;  // in order of first appearance in /index (sweep order)
  std::optional<std::size_t> best;  // group with the highest mean test accuracy
  std::vector<ReportRun> not_ok;    // failed and numerical_trouble runs
  std::size_t total_runs = 0;
};

// Groups `runs` (their `key`s hold the values of the `by` columns). Groups appear in
// the order of their first run; the best group is the first with the highest mean
// test accuracy among groups with at least one ok run.
Report summarise_runs(const std::vector<ReportRun>& runs, const std::vector<std::string>& by);

// Reads `file` (a results file, docs/results-format.md) and groups its runs by the
// columns `by` (empty: every swept column except `seed`). Throws ReportError naming the
// file and the valid columns for an unknown column, StoreError for an unreadable file.
Report build_report(const std::filesystem::path& file, const std::vector<std::string>& by = {});

enum class ReportFormat { table, md, csv };
ReportFormat parse_report_format(const std::string& name);  // throws ReportError

// table: aligned text for the terminal; md: Markdown tables; csv: one row per group,
// machine-readable (fractions, not percent; "nan" for undefined values). The table
// and md forms list the runs that are not ok; the csv form has only their count per
// group (list them with the table form).
std::string format_report(const Report& report, ReportFormat format);

}  // namespace wuxing
