#include "analysis/inspect_tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "framework/pipeline/store.hpp"

namespace wuxing {

namespace {

std::string cell(const IndexTable& t, const std::string& column, std::size_t row) {
  if (auto it = t.numeric.find(column); it != t.numeric.end()) return csv_number(it->second[row]);
  if (auto it = t.text.find(column); it != t.text.end()) return it->second[row];
  return "";
}

std::vector<std::string> swept_columns(const std::filesystem::path& file) {
  std::vector<std::string> out;
  for (const auto& c : read_header(file).columns) out.push_back(c.key);
  return out;
}

std::string percent(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", 100 * v) : "-"; }

}  // namespace

TextTable index_table(const std::filesystem::path& file, const std::string& status) {
  const IndexTable index = read_index(file);
  TextTable t;
  t.header = index.columns;
  for (const auto& c : t.header) t.right.push_back(index.numeric.count(c) > 0);
  const auto& st = index.text.at("status");
  for (std::size_t i = 0; i < index.rows; ++i) {
    if (!status.empty() && st[i] != status) continue;
    std::vector<std::string> row;
    for (const auto& c : t.header) row.push_back(cell(index, c, i));
    t.rows.push_back(std::move(row));
  }
  return t;
}

TextTable runs_summary_table(const std::filesystem::path& file, const std::string& status) {
  const IndexTable index = read_index(file);
  TextTable t;
  t.header = {"run_id", "status"};
  for (const auto& c : swept_columns(file)) t.header.push_back(c);
  for (const char* c : {"test acc %", "train acc %", "epochs", "wall s"}) t.header.push_back(c);
  for (const auto& c : t.header)
    t.right.push_back(index.numeric.count(c) > 0 || c.find(' ') != std::string::npos ||
                      c == "epochs");
  const auto& st = index.text.at("status");
  for (std::size_t i = 0; i < index.rows; ++i) {
    if (!status.empty() && st[i] != status) continue;
    std::vector<std::string> row;
    for (std::size_t c = 0; c + 4 < t.header.size(); ++c)
      row.push_back(cell(index, t.header[c], i));
    row.push_back(percent(index.numeric.at("final_test_accuracy")[i]));
    row.push_back(percent(index.numeric.at("final_train_accuracy")[i]));
    row.push_back(cell(index, "epochs_done", i));
    row.push_back(fmt::format("{:.1f}", index.numeric.at("wall_seconds")[i]));
    t.rows.push_back(std::move(row));
  }
  return t;
}

TextTable epochs_table(const std::filesystem::path& file) {
  const IndexTable index = read_index(file);
  const auto swept = swept_columns(file);
  TextTable t;
  t.header = {"run_id"};
  t.header.insert(t.header.end(), swept.begin(), swept.end());
  std::vector<std::string> metrics;
  for (std::size_t i = 0; i < index.rows; ++i) {
    const RunDetails d = read_run_details(file, index.text.at("run_id")[i]);
    if (metrics.empty()) {
      for (const auto& [name, values] : d.metrics) metrics.push_back(name);
      t.header.insert(t.header.end(), metrics.begin(), metrics.end());
    }
    const std::size_t epochs = d.metrics.empty() ? 0 : d.metrics.front().second.size();
    for (std::size_t e = 0; e < epochs; ++e) {
      std::vector<std::string> row{d.id};
      for (const auto& c : swept) row.push_back(cell(index, c, i));
      for (const auto& name : metrics) {
        auto it = std::find_if(d.metrics.begin(), d.metrics.end(),
                               [&](const auto& m) { return m.first == name; });
        row.push_back(it != d.metrics.end() && e < it->second.size() ? csv_number(it->second[e])
                                                                     : "nan");
      }
      t.rows.push_back(std::move(row));
    }
  }
  t.right.assign(t.header.size(), true);
  return t;
}

TextTable run_epochs_table(const RunDetails& run) {
  struct Column {
    std::string metric, header;
    double scale;
    int digits;
  };
  const std::vector<Column> shown = {{"epoch", "epoch", 1, 0},
                                     {"train_accuracy", "train acc %", 100, 2},
                                     {"test_accuracy", "test acc %", 100, 2},
                                     {"train_loss", "train loss", 1, 4},
                                     {"test_loss", "test loss", 1, 4},
                                     {"unsettled_fraction", "unsettled %", 100, 3},
                                     {"clamp_fraction", "clamp %", 100, 3},
                                     {"max_re_lambda", "max Re λ", 1, 4},
                                     {"mean_steps", "steps", 1, 1},
                                     {"wall_seconds", "wall s", 1, 2}};
  std::vector<Column> columns;
  const std::set<std::string> known = [&] {
    std::set<std::string> s;
    for (const auto& c : shown) s.insert(c.metric);
    return s;
  }();
  auto find = [&](const std::string& name) -> const std::vector<double>* {
    for (const auto& [n, v] : run.metrics)
      if (n == name) return &v;
    return nullptr;
  };
  for (const auto& c : shown)
    if (find(c.metric)) columns.push_back(c);
  // The trouble counters, only those that were ever nonzero.
  for (const auto& [name, values] : run.metrics) {
    if (known.count(name)) continue;
    if (std::any_of(values.begin(), values.end(), [](double v) { return v != 0; }))
      columns.push_back({name, name, 1, 0});
  }
  TextTable t;
  for (const auto& c : columns) {
    t.header.push_back(c.header);
    t.right.push_back(true);
  }
  const std::size_t epochs = run.metrics.empty() ? 0 : run.metrics.front().second.size();
  for (std::size_t e = 0; e < epochs; ++e) {
    std::vector<std::string> row;
    for (const auto& c : columns) {
      const double v = (*find(c.metric))[e];
      row.push_back(std::isfinite(v) ? fmt::format("{:.{}f}", v * c.scale, c.digits) : "-");
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

}  // namespace wuxing
