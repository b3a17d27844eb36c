#include "analysis/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "framework/store.hpp"

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

// ---- cell formatting ----

// "mean ± std" with `digits` decimals after scaling; only the mean for a single run,
// "-" for no run.
std::string mean_std(const Stat& s, double scale, int digits) {
  if (s.n == 0 || !std::isfinite(s.mean)) return "-";
  if (s.n < 2 || !std::isfinite(s.std)) return fmt::format("{:.{}f}", s.mean * scale, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean * scale, digits, s.std * scale, digits);
}

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  return fmt::format("{}", v);  // shortest text that reads back to the same double
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

// Display width in code points (the cells hold "±", which is two bytes in UTF-8).
std::size_t width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

std::string pad(const std::string& s, std::size_t w, bool right) {
  const std::string fill(w > width(s) ? w - width(s) : 0, ' ');
  return right ? fill + s : s + fill;
}

struct TextTable {
  std::vector<std::string> header;
  std::vector<bool> right;  // right-aligned (numbers)
  std::vector<std::vector<std::string>> rows;
};

std::string render_text(const TextTable& t) {
  std::vector<std::size_t> w(t.header.size(), 0);
  for (std::size_t c = 0; c < t.header.size(); ++c) w[c] = width(t.header[c]);
  for (const auto& r : t.rows)
    for (std::size_t c = 0; c < r.size(); ++c) w[c] = std::max(w[c], width(r[c]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      s += (c ? "  " : "") + pad(cells[c], w[c], t.right[c]);
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(t.header);
  std::vector<std::string> rule;
  for (std::size_t c = 0; c < w.size(); ++c) rule.push_back(std::string(w[c], '-'));
  out += line(rule);
  for (const auto& r : t.rows) out += line(r);
  return out;
}

std::string render_md(const TextTable& t) {
  std::string out = "|";
  // Appends piecewise: `" " + std::string` trips GCC 12's false -Wrestrict positive.
  for (const auto& h : t.header) out.append(" ").append(md_cell(h)).append(" |");
  out += "\n|";
  for (std::size_t c = 0; c < t.header.size(); ++c) out += t.right[c] ? "---:|" : "---|";
  out += "\n";
  for (const auto& r : t.rows) {
    out += "|";
    for (const auto& cell : r) out.append(" ").append(md_cell(cell)).append(" |");
    out += "\n";
  }
  return out;
}

std::vector<std::string> key_header(const Report& r) {
  return r.by.empty() ? std::vector<std::string>{"group"} : r.by;
}

std::vector<std::string> key_cells(const Report& r, const ReportGroup& g) {
  return r.by.empty() ? std::vector<std::string>{"all"} : g.key;
}

TextTable group_table(const Report& r, bool markdown) {
  TextTable t;
  t.header = key_header(r);
  t.right.assign(t.header.size(), false);
  for (const char* h :
       {"runs ok", "test acc %", "unsettled %", "clamp events", "clamp %", "wall s", "best"}) {
    t.header.push_back(h);
    t.right.push_back(std::string(h) != "best");
  }
  for (std::size_t i = 0; i < r.groups.size(); ++i) {
    const auto& g = r.groups[i];
    auto row = key_cells(r, g);
    row.push_back(fmt::format("{}/{}", g.ok, g.runs));
    std::string acc = mean_std(g.test_accuracy, 100.0, 2);
    if (markdown && g.best) acc = "**" + acc + "**";
    row.push_back(acc);
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
    std::vector<std::string> row{run.id, run.status};
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

std::string format_table(const Report& r) {
  std::string out =
      fmt::format("Report of {} (spec '{}'): {}\n", r.file, r.spec_name, summary_line(r));
  out +=
      "Mean ± sample std over the ok runs of each group (final epoch; clamp events summed "
      "over epochs).\n\n";
  out += render_text(group_table(r, false));
  if (r.best)
    out += fmt::format("\n* best: {} (mean test accuracy {:.2f} %)\n",
                       join(key_cells(r, r.groups[*r.best]), ", "),
                       100.0 * r.groups[*r.best].test_accuracy.mean);
  else
    out += "\nno best group: no group has an ok run\n";
  if (!r.not_ok.empty()) {
    out += fmt::format("\nRuns not ok ({}):\n", r.not_ok.size());
    out += render_text(not_ok_table(r));
  }
  return out;
}

std::string format_md(const Report& r) {
  std::string out = fmt::format(
      "## Report: `{}` (spec `{}`)\n\n{}. Mean ± sample std over the "
      "ok runs of each group (final epoch; clamp events summed over "
      "epochs).\n\n",
      r.file, r.spec_name, summary_line(r));
  out += render_md(group_table(r, true));
  if (!r.not_ok.empty()) {
    out += fmt::format("\n### Runs not ok ({})\n\n", r.not_ok.size());
    out += render_md(not_ok_table(r));
  }
  return out;
}

std::string format_csv(const Report& r) {
  std::vector<std::string> header = key_header(r);
  for (const char* h : {"runs", "ok", "not_ok"}) header.push_back(h);
  for (const char* q :
       {"test_accuracy", "unsettled_fraction", "clamp_events", "clamp_fraction", "wall_seconds"}) {
    header.push_back(std::string(q) + "_mean");
    header.push_back(std::string(q) + "_std");
  }
  header.push_back("best");
  std::string out;
  for (std::size_t c = 0; c < header.size(); ++c)
    out.append(c ? "," : "").append(csv_field(header[c]));
  out += "\n";
  for (const auto& g : r.groups) {
    std::vector<std::string> row;
    for (const auto& k : key_cells(r, g)) row.push_back(csv_field(k));
    row.push_back(std::to_string(g.runs));
    row.push_back(std::to_string(g.ok));
    row.push_back(std::to_string(g.runs - g.ok));
    for (const Stat* s : {&g.test_accuracy, &g.unsettled_fraction, &g.clamp_events,
                          &g.clamp_fraction, &g.wall_seconds}) {
      row.push_back(csv_number(s->n ? s->mean : kNaN));
      row.push_back(csv_number(s->std));
    }
    row.push_back(g.best ? "1" : "0");
    out += join(row, ",") + "\n";
  }
  return out;
}

}  // namespace

Stat compute_stat(const std::vector<double>& values) {
  Stat s;
  s.n = values.size();
  if (s.n == 0) {
    s.mean = kNaN;
    s.std = kNaN;
    return s;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) {
    s.std = kNaN;
    return s;
  }
  // Two-pass: the deviations are summed after the mean is known (no cancellation).
  double ss = 0.0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  s.std = std::sqrt(ss / static_cast<double>(s.n - 1));
  return s;
}

Report summarise_runs(const std::vector<ReportRun>& runs, const std::vector<std::string>& by) {
  Report r;
  r.by = by;
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
    if (run.status != "ok") r.not_ok.push_back(run);
  }
  for (std::size_t i = 0; i < r.groups.size(); ++i) {
    auto& g = r.groups[i];
    std::vector<double> acc, unsettled, clamps, clamp_fraction, wall;
    for (const ReportRun* run : members[i]) {
      ++g.runs;
      if (run->status != "ok") continue;
      ++g.ok;
      acc.push_back(run->final_test_accuracy);
      unsettled.push_back(run->unsettled_fraction);
      clamps.push_back(run->clamp_events);
      clamp_fraction.push_back(run->clamp_fraction);
      wall.push_back(run->wall_seconds);
    }
    g.test_accuracy = compute_stat(acc);
    g.unsettled_fraction = compute_stat(unsettled);
    g.clamp_events = compute_stat(clamps);
    g.clamp_fraction = compute_stat(clamp_fraction);
    g.wall_seconds = compute_stat(wall);
    // NaN accuracy (no epoch finished) never compares greater, so it is never best.
    if (g.ok > 0 && std::isfinite(g.test_accuracy.mean) &&
        (!r.best || g.test_accuracy.mean > r.groups[*r.best].test_accuracy.mean))
      r.best = i;
  }
  if (r.best) r.groups[*r.best].best = true;
  return r;
}

Report build_report(const std::filesystem::path& file, const std::vector<std::string>& by_in) {
  const StoreHeader header = read_header(file);
  const IndexTable index = read_index(file);
  std::vector<std::string> swept;
  for (const auto& c : header.columns) swept.push_back(c.key);

  std::vector<std::string> by = by_in;
  if (by.empty()) {
    for (const auto& c : swept)
      if (c != "seed") by.push_back(c);
  }
  for (std::size_t i = 0; i < by.size(); ++i) {
    if (std::find(swept.begin(), swept.end(), by[i]) == swept.end())
      throw ReportError(fmt::format(
          "{}: cannot group by '{}': not a swept column of this file "
          "(swept columns: {})",
          file.string(), by[i], swept.empty() ? std::string("none") : join(swept, ", ")));
    if (std::find(by.begin(), by.begin() + static_cast<std::ptrdiff_t>(i), by[i]) !=
        by.begin() + static_cast<std::ptrdiff_t>(i))
      throw ReportError(fmt::format("--by names '{}' twice", by[i]));
  }

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

  std::vector<ReportRun> runs;
  for (std::size_t i = 0; i < index.rows; ++i) {
    ReportRun run;
    run.id = ids[i];
    run.status = status[i];
    run.reason = reason[i];
    for (const auto& c : by) run.key.push_back(cell(c, i));
    run.seed = seeds ? (*seeds)[i] : kNaN;
    run.final_test_accuracy = acc[i];
    run.wall_seconds = wall[i];
    if (run.status == "ok") {
      run.unsettled_fraction = last_or_nan(read_metric(file, run.id, "unsettled_fraction"));
      run.clamp_events = sum_or_nan(read_metric(file, run.id, "clamp_events"));
      run.clamp_fraction = last_or_nan(read_metric(file, run.id, "clamp_fraction"));
    } else {
      run.unsettled_fraction = run.clamp_events = run.clamp_fraction = kNaN;
    }
    runs.push_back(std::move(run));
  }
  Report r = summarise_runs(runs, by);
  r.file = file.string();
  r.spec_name = header.spec_name;
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
