#include "analysis/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "analysis/table.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/store.hpp"

namespace wuxing {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Last entry of a per-epoch metric, NaN when the run recorded no epoch.
double last_or_nan(const std::vector<double>& v) { return v.empty() ? kNaN : v.back(); }

double sum_or_nan(const std::vector<double>& v) {
  return v.empty() ? kNaN : std::accumulate(v.begin(), v.end(), 0.0);
}

// Accuracies and fractions are shown in percent.
double display_scale(const std::string& metric) {
  return metric.find("accuracy") != std::string::npos ||
                 metric.find("fraction") != std::string::npos
             ? 100.0
             : 1.0;
}

std::string metric_label(const std::string& metric) {
  if (metric == "test_accuracy") return "test acc %";
  return display_scale(metric) == 100.0 ? metric + " %" : metric;
}

// ---- cell formatting ----

// "mean ± std" with `digits` decimals after scaling; only the mean for a single run,
// "-" for no run.
std::string mean_std(const Stat& s, double scale, int digits) {
  if (s.n == 0 || !std::isfinite(s.mean)) return "-";
  if (s.n < 2 || !std::isfinite(s.std)) return fmt::format("{:.{}f}", s.mean * scale, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean * scale, digits, s.std * scale, digits);
}

std::string interval(double lo, double hi, double scale, int digits) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return "-";
  return fmt::format("[{:.{}f}, {:.{}f}]", lo * scale, digits, hi * scale, digits);
}

std::string ci_cell(const Stat& s, double scale) {
  return interval(s.mean - s.ci95, s.mean + s.ci95, scale, 2);
}

std::vector<std::string> key_header(const Report& r) {
  return r.by.empty() ? std::vector<std::string>{"group"} : r.by;
}

std::vector<std::string> key_cells(const Report& r, const ReportGroup& g) {
  return r.by.empty() ? std::vector<std::string>{"all"} : g.key;
}

TextTable group_table(const Report& r, bool markdown) {
  const double scale = display_scale(r.metric);
  TextTable t;
  t.header = key_header(r);
  t.right.assign(t.header.size(), false);
  for (const std::string& h :
       {std::string("runs ok"), metric_label(r.metric), std::string("95% CI"),
        std::string("unsettled %"), std::string("clamp events"), std::string("clamp %"),
        std::string("wall s"), std::string("best")}) {
    t.header.push_back(h);
    t.right.push_back(h != "best");
  }
  for (std::size_t i = 0; i < r.groups.size(); ++i) {
    const auto& g = r.groups[i];
    auto row = key_cells(r, g);
    row.push_back(fmt::format("{}/{}", g.ok, g.runs));
    std::string value = mean_std(g.metric, scale, scale == 100.0 ? 2 : 4);
    if (markdown && g.best) value = "**" + value + "**";
    row.push_back(value);
    row.push_back(ci_cell(g.metric, scale));
    row.push_back(mean_std(g.unsettled_fraction, 100.0, 3));
    row.push_back(mean_std(g.clamp_events, 1.0, 1));
    row.push_back(mean_std(g.clamp_fraction, 100.0, 3));
    row.push_back(mean_std(g.wall_seconds, 1.0, 2));
    row.push_back(g.best ? (markdown ? "**best**" : "*") : "");
    t.rows.push_back(std::move(row));
  }
  return t;
}

TextTable not_ok_table(const Report& r) {
  TextTable t;
  t.header = {"run_id", "status"};
  for (const auto& h : key_header(r)) t.header.push_back(h);
  t.header.push_back("seed");
  t.header.push_back("reason");
  t.right.assign(t.header.size(), false);
  for (const auto& run : r.not_ok) {
    std::vector<std::string> row{run.id, std::string(run.status.name())};
    for (const auto& k : r.by.empty() ? std::vector<std::string>{"all"} : run.key) row.push_back(k);
    row.push_back(fmt::format("{}", run.seed));
    row.push_back(run.reason.empty() ? "(no reason stored)" : run.reason);
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string summary_line(const Report& r) {
  std::size_t ok = 0;
  for (const auto& g : r.groups) ok += g.ok;
  return fmt::format("{} runs ({} ok, {} not ok) in {} group(s), grouped by {}", r.total_runs, ok,
                     r.not_ok.size(), r.groups.size(),
                     r.by.empty() ? std::string("nothing (one group)") : join(r.by, ", "));
}

std::string ties_note(const Report& r) {
  if (r.best_ties == 0) return {};
  return fmt::format(" (first of {} groups with exactly this mean: a tie)", r.best_ties + 1);
}

// The leader against the runner-up, and whether "best" was marked.
std::string comparison_text(const Report& r) {
  if (!r.leader) return "no best group: no group has an ok run\n";
  const double scale = display_scale(r.metric);
  const int digits = scale == 100.0 ? 2 : 4;
  const auto& lead = r.groups[*r.leader];
  const char* unit = scale == 100.0 ? " %" : "";
  std::string out =
      fmt::format("leader: {} (mean {} {:.{}f}{}){}\n", join(key_cells(r, lead), ", "), r.metric,
                  lead.metric.mean * scale, digits, unit, ties_note(r));
  if (!r.runner_up) return out + "only one group: nothing to compare, no best mark\n";
  const auto& second = r.groups[*r.runner_up];
  out += fmt::format("runner-up: {} (mean {:.{}f}{})\n", join(key_cells(r, second), ", "),
                     second.metric.mean * scale, digits, unit);
  const Difference& d = r.versus_runner_up;
  if (d.method.empty())
    return out +
           "too few ok runs to compare them (each needs 2, or 2 shared seeds): no best mark\n";
  out += fmt::format("leader - runner-up: {:+.{}f}{}, 95 % CI {} ({})\n", d.mean * scale, digits,
                     scale == 100.0 ? " points" : "", interval(d.lo, d.hi, scale, digits),
                     d.method == "paired" ? fmt::format("paired over {} seeds", d.n)
                                          : std::string("Welch, unpaired"));
  out += r.best ? "separated: the leader is marked best\n"
                : "not separated (the interval includes 0): no best mark\n";
  return out;
}

std::string format_table(const Report& r) {
  std::string out =
      fmt::format("Report of {} (spec '{}'): {}\n", r.file, r.spec_name, summary_line(r));
  out += fmt::format(
      "Mean ± sample std and the 95 % confidence interval of the mean (Student t) of {} over the "
      "ok runs of each group (final epoch; clamp events summed over epochs).\n\n",
      r.metric);
  out += render_text(group_table(r, false));
  out.append("\n").append(comparison_text(r));
  if (!r.not_ok.empty()) {
    out += fmt::format("\nRuns not ok ({}):\n", r.not_ok.size());
    out += render_text(not_ok_table(r));
  }
  return out;
}

std::string format_md(const Report& r) {
  std::string out = fmt::format(
      "## Report: `{}` (spec `{}`)\n\n{}. Mean ± sample std and 95 % confidence interval "
      "(Student t) of {} over the ok runs of each group (final epoch; clamp events summed over "
      "epochs).\n\n",
      r.file, r.spec_name, summary_line(r), r.metric);
  out += render_md(group_table(r, true));
  out += "\n";
  std::vector<std::string> lines = split(comparison_text(r), '\n');
  lines.pop_back();  // the empty piece after the last line's '\n'
  for (const auto& line : lines) out += "- " + line + "\n";
  if (!r.not_ok.empty()) {
    out += fmt::format("\n### Runs not ok ({})\n\n", r.not_ok.size());
    out += render_md(not_ok_table(r));
  }
  return out;
}

std::string format_csv(const Report& r) {
  std::vector<std::string> header = key_header(r);
  for (const char* h : {"runs", "ok", "not_ok"}) header.push_back(h);
  const std::vector<std::string> fixed = {"test_accuracy", "unsettled_fraction", "clamp_events",
                                          "clamp_fraction", "wall_seconds"};
  for (const auto& q : fixed) {
    header.push_back(q + "_mean");
    header.push_back(q + "_std");
  }
  const bool extra = std::find(fixed.begin(), fixed.end(), r.metric) == fixed.end();
  if (extra) {
    header.push_back(r.metric + "_mean");
    header.push_back(r.metric + "_std");
  }
  header.push_back(r.metric + "_ci95_lo");
  header.push_back(r.metric + "_ci95_hi");
  header.push_back("best");
  TextTable t;
  t.header = header;
  for (const auto& g : r.groups) {
    std::vector<std::string> row = key_cells(r, g);
    row.push_back(std::to_string(g.runs));
    row.push_back(std::to_string(g.ok));
    row.push_back(std::to_string(g.runs - g.ok));
    for (const Stat* s : {&g.test_accuracy, &g.unsettled_fraction, &g.clamp_events,
                          &g.clamp_fraction, &g.wall_seconds}) {
      row.push_back(csv_number(s->n ? s->mean : kNaN));
      row.push_back(csv_number(s->std));
    }
    if (extra) {
      row.push_back(csv_number(g.metric.n ? g.metric.mean : kNaN));
      row.push_back(csv_number(g.metric.std));
    }
    row.push_back(csv_number(g.metric.mean - g.metric.ci95));
    row.push_back(csv_number(g.metric.mean + g.metric.ci95));
    row.push_back(g.best ? "1" : "0");
    t.rows.push_back(std::move(row));
  }
  return render_csv(t);
}

}  // namespace

bool higher_is_better(const std::string& metric) {
  return metric.find("accuracy") != std::string::npos;
}

Report summarise_runs(const std::vector<ReportRun>& runs, const std::vector<std::string>& by,
                      const std::string& metric) {
  Report r;
  r.by = by;
  r.metric = metric;
  r.higher_is_better = higher_is_better(metric);
  r.total_runs = runs.size();
  std::map<std::vector<std::string>, std::size_t> index;
  std::vector<std::vector<const ReportRun*>> members;
  for (const auto& run : runs) {
    if (run.key.size() != by.size())
      throw ReportError(fmt::format("run {} has {} grouping values, expected {}", run.id,
                                    run.key.size(), by.size()));
    auto [it, inserted] = index.emplace(run.key, r.groups.size());
    if (inserted) {
      r.groups.emplace_back();
      r.groups.back().key = run.key;
      members.emplace_back();
    }
    members[it->second].push_back(&run);
    if (run.status != RunStatus::ok) r.not_ok.push_back(run);
  }
  std::vector<std::vector<std::pair<std::uint64_t, double>>> seeded(r.groups.size());
  // Better mean; NaN (no epoch finished) is never better.
  auto better = [&](double a, double b) { return r.higher_is_better ? a > b : a < b; };
  for (std::size_t i = 0; i < r.groups.size(); ++i) {
    auto& g = r.groups[i];
    std::vector<double> value, acc, unsettled, clamps, clamp_fraction, wall;
    for (const ReportRun* run : members[i]) {
      ++g.runs;
      if (run->status != RunStatus::ok) continue;
      ++g.ok;
      value.push_back(run->metric);
      seeded[i].emplace_back(static_cast<std::uint64_t>(run->seed), run->metric);
      acc.push_back(run->final_test_accuracy);
      unsettled.push_back(run->unsettled_fraction);
      clamps.push_back(run->clamp_events);
      clamp_fraction.push_back(run->clamp_fraction);
      wall.push_back(run->wall_seconds);
    }
    g.metric = compute_stat(value);
    g.test_accuracy = compute_stat(acc);
    g.unsettled_fraction = compute_stat(unsettled);
    g.clamp_events = compute_stat(clamps);
    g.clamp_fraction = compute_stat(clamp_fraction);
    g.wall_seconds = compute_stat(wall);
    if (g.ok == 0 || !std::isfinite(g.metric.mean)) continue;
    if (!r.leader || better(g.metric.mean, r.groups[*r.leader].metric.mean)) {
      r.runner_up = r.leader;
      r.leader = i;
    } else if (!r.runner_up || better(g.metric.mean, r.groups[*r.runner_up].metric.mean)) {
      r.runner_up = i;
    }
  }
  if (!r.leader) return r;
  for (std::size_t i = 0; i < r.groups.size(); ++i)
    r.best_ties += i != *r.leader && r.groups[i].ok > 0 &&
                   r.groups[i].metric.mean == r.groups[*r.leader].metric.mean;
  if (!r.runner_up) return r;
  r.versus_runner_up = compare_groups(seeded[*r.leader], seeded[*r.runner_up]);
  const Difference& d = r.versus_runner_up;
  const bool separated = !d.method.empty() && (r.higher_is_better ? d.lo > 0 : d.hi < 0);
  if (separated) {
    r.best = r.leader;
    r.groups[*r.leader].best = true;
  }
  return r;
}

Report build_report(const std::filesystem::path& file, const std::vector<std::string>& by) {
  return build_report(std::vector<std::filesystem::path>{file}, by);
}

Report build_report(const std::vector<std::filesystem::path>& files,
                    const std::vector<std::string>& by_in, const std::string& metric) {
  if (files.empty()) throw ReportError("report: no results file given");
  std::vector<StoreHeader> headers;
  std::vector<std::string> names;
  for (const auto& f : files) {
    headers.push_back(read_header(f));
    if (std::find(names.begin(), names.end(), headers.back().spec_name) == names.end())
      names.push_back(headers.back().spec_name);
  }
  auto swept_in = [&](std::size_t i) {
    std::vector<std::string> s;
    for (const auto& c : headers[i].columns) s.push_back(c.key);
    return s;
  };
  std::vector<std::string> by = by_in;
  if (by.empty()) {
    if (names.size() > 1) by.push_back("file");
    for (const auto& c : swept_in(0)) {
      bool everywhere = c != "seed";
      for (std::size_t i = 1; i < files.size() && everywhere; ++i) {
        const auto s = swept_in(i);
        everywhere = std::find(s.begin(), s.end(), c) != s.end();
      }
      if (everywhere) by.push_back(c);
    }
  }
  for (std::size_t i = 0; i < by.size(); ++i) {
    for (std::size_t f = 0; f < files.size() && by[i] != "file"; ++f) {
      const auto swept = swept_in(f);
      if (std::find(swept.begin(), swept.end(), by[i]) == swept.end())
        throw ReportError(fmt::format(
            "{}: cannot group by '{}': not a swept column of this file "
            "(swept columns: {}; or 'file')",
            files[f].string(), by[i], swept.empty() ? std::string("none") : join(swept, ", ")));
    }
    if (std::find(by.begin(), by.begin() + static_cast<std::ptrdiff_t>(i), by[i]) !=
        by.begin() + static_cast<std::ptrdiff_t>(i))
      throw ReportError(fmt::format("--by names '{}' twice", by[i]));
  }

  std::vector<ReportRun> runs;
  std::map<std::string, std::size_t> seen;  // run ID -> position in runs
  for (const auto& file : files) {
    const IndexTable index = read_index(file);
    auto text_col = [&](const std::string& c) -> const std::vector<std::string>& {
      auto it = index.text.find(c);
      if (it == index.text.end())
        throw ReportError(fmt::format("{}: /index has no text column '{}'", file.string(), c));
      return it->second;
    };
    auto num_col = [&](const std::string& c) -> const std::vector<double>& {
      auto it = index.numeric.find(c);
      if (it == index.numeric.end())
        throw ReportError(fmt::format("{}: /index has no numeric column '{}'", file.string(), c));
      return it->second;
    };
    auto cell = [&](const std::string& c, std::size_t row) {
      if (c == "file") return file.string();
      if (auto it = index.numeric.find(c); it != index.numeric.end())
        return fmt::format("{}", it->second[row]);
      return text_col(c)[row];
    };
    const auto& ids = text_col("run_id");
    const auto& status = text_col("status");
    const auto& reason = text_col("reason");
    const auto& acc = num_col("final_test_accuracy");
    const auto& wall = num_col("wall_seconds");
    const std::vector<double>* seeds =
        index.numeric.count("seed") ? &index.numeric.at("seed") : nullptr;
    for (std::size_t i = 0; i < index.rows; ++i) {
      ReportRun run;
      run.id = ids[i];
      const auto parsed = parse_run_status(status[i]);
      if (!parsed)
        throw ReportError(
            fmt::format("{}: run {} has an unknown status '{}'", file.string(), ids[i], status[i]));
      run.status = *parsed;
      run.reason = reason[i];
      for (const auto& c : by) run.key.push_back(cell(c, i));
      run.seed = seeds ? (*seeds)[i] : kNaN;
      run.final_test_accuracy = acc[i];
      run.metric = acc[i];
      run.wall_seconds = wall[i];
      run.unsettled_fraction = run.clamp_events = run.clamp_fraction = kNaN;
      if (run.status == RunStatus::ok) {
        run.unsettled_fraction = last_or_nan(read_metric(file, run.id, "unsettled_fraction"));
        run.clamp_events = sum_or_nan(read_metric(file, run.id, "clamp_events"));
        run.clamp_fraction = last_or_nan(read_metric(file, run.id, "clamp_fraction"));
        if (metric != "test_accuracy") {
          try {
            run.metric = last_or_nan(read_metric(file, run.id, metric));
          } catch (const StoreError&) {
            throw ReportError(fmt::format(
                "{}: run {} has no per-epoch metric '{}' (see docs/results-format.md, metrics/)",
                file.string(), run.id, metric));
          }
        }
      }
      // A run in several files (a shard and its merged file) counts once, ok if ok anywhere.
      auto [it, fresh] = seen.emplace(run.id, runs.size());
      if (fresh)
        runs.push_back(std::move(run));
      else if (runs[it->second].status != RunStatus::ok && run.status == RunStatus::ok)
        runs[it->second] = std::move(run);
    }
  }
  Report r = summarise_runs(runs, by, metric);
  std::vector<std::string> file_names;
  for (const auto& f : files) file_names.push_back(f.string());
  r.file = join(file_names, ", ");
  r.spec_name = join(names, "', '");
  return r;
}

ReportFormat parse_report_format(const std::string& name) {
  if (name == "table") return ReportFormat::table;
  if (name == "md") return ReportFormat::md;
  if (name == "csv") return ReportFormat::csv;
  throw ReportError(fmt::format("unknown report format '{}', expected table, md or csv", name));
}

std::string format_report(const Report& report, ReportFormat format) {
  switch (format) {
    case ReportFormat::table:
      return format_table(report);
    case ReportFormat::md:
      return format_md(report);
    case ReportFormat::csv:
      return format_csv(report);
  }
  return {};
}

}  // namespace wuxing
