// Summary tables of results files (`wuxing report`): runs grouped by their swept parameters,
// with mean, standard deviation and 95 % confidence interval (Student t) over the runs of each
// group (usually the seeds) of one metric (the final test accuracy unless --metric says
// otherwise) and of the numerical-trouble measures.
//
// Only runs with status `ok` enter the statistics: a failed or diverged run has no
// meaningful accuracy. Such runs are counted per group and listed with their reasons.
//
// The group with the best mean (highest for accuracies, lowest for anything else) is the
// leader. It is marked "best" only when it is separated from the runner-up: the 95 % interval
// of their difference, paired per seed where both groups have the same seeds (Welch's unpaired
// interval otherwise), excludes zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "analysis/statistics.hpp"
#include "framework/base/experiment.hpp"
#include "framework/pipeline/layer.hpp"

namespace wuxing {

struct ReportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One stored run as the report sees it.
struct ReportRun {
  std::string id;
  RunStatus status;
  std::string reason;
  std::vector<std::string> key;  // values of the grouping columns, as text
  double seed = 0.0;
  double final_test_accuracy = 0.0;
  double metric = 0.0;              // the reported metric, final epoch (test accuracy by default)
  double unsettled_fraction = 0.0;  // of the last epoch
  double clamp_events = 0.0;        // summed over all epochs
  double clamp_fraction = 0.0;      // of the last epoch
  double wall_seconds = 0.0;
};

struct ReportGroup {
  std::vector<std::string> key;  // one value per Report::by column
  std::size_t runs = 0;          // stored runs in the group
  std::size_t ok = 0;            // of which `ok` (the statistics are over these)
  Stat metric;                   // Report::metric
  Stat test_accuracy;
  Stat unsettled_fraction;
  Stat clamp_events;
  Stat clamp_fraction;
  Stat wall_seconds;
  bool best = false;
};

struct Report {
  std::string file;  // the files, comma separated
  std::string spec_name;
  std::string metric = "test_accuracy";
  bool higher_is_better = true;
  std::vector<std::string> by;           // grouping columns
  std::vector<ReportGroup> groups;       // in order of first appearance in /index (sweep order)
  std::optional<std::size_t> leader;     // best mean among groups with an ok run
  std::optional<std::size_t> runner_up;  // second best mean
  Difference versus_runner_up;           // leader - runner-up
  std::optional<std::size_t> best;       // the leader, when separated from the runner-up
  std::size_t best_ties = 0;             // other groups with exactly the leader's mean
  std::vector<ReportRun> not_ok;         // failed and numerical_trouble runs
  std::size_t total_runs = 0;
};

// Higher is better for accuracies, lower for every other metric (losses, trouble, time).
bool higher_is_better(const std::string& metric);

// Groups `runs` (their `key`s hold the values of the `by` columns) and compares the leader
// with the runner-up on `metric` (the runs' `metric` values). Groups appear in the order of
// their first run; among equal means the first group leads.
Report summarise_runs(const std::vector<ReportRun>& runs, const std::vector<std::string>& by,
                      const std::string& metric = "test_accuracy");

// Reads `files` (results files, docs/results-format.md) and groups their runs by the columns
// `by` (empty: every swept column except `seed` that all files have, and `file` when the files
// are of different specs; `file` may always be named). A run stored in several files counts
// once. `metric` is a per-epoch metric (its final value is reported). Throws ReportError naming
// the file and the valid columns for an unknown column or metric, StoreError for an unreadable
// file.
Report build_report(const std::vector<std::filesystem::path>& files,
                    const std::vector<std::string>& by = {},
                    const std::string& metric = "test_accuracy");
Report build_report(const std::filesystem::path& file, const std::vector<std::string>& by = {});

enum class ReportFormat { table, md, csv };
ReportFormat parse_report_format(const std::string& name);  // throws ReportError

// table: aligned text for the terminal; md: Markdown tables; csv: one row per group,
// machine-readable (fractions, not percent; "nan" for undefined values). The table
// and md forms list the runs that are not ok and the leader's comparison with the runner-up;
// the csv form has only the not-ok count per group and the best mark.
std::string format_report(const Report& report, ReportFormat format);

}  // namespace wuxing
