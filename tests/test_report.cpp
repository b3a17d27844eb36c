// `wuxing report`: grouping, means, standard deviations and the best mark on a results
// file this test writes itself (through the store, with metrics it chooses), checked
// against statistics computed here independently; failed runs listed; each output
// format parses; the command line writes the same text.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "analysis/report.hpp"
#include "framework/pipeline/spec.hpp"
#include "framework/pipeline/store.hpp"
#include "framework/pipeline/sweep.hpp"
#include "tests/support.hpp"

using namespace wuxing;
using namespace wuxing::test_support;

namespace {

SweepPlan report_plan() {
  return expand_sweep(load_spec_text(
      "name: report-test\ndata: {dataset: synthetic, train_size: 100, test_size: 20}\n"
      "training: {epochs: 2}\n"
      "sweep: {grid: {model.K3: [0.2, 0.4], training.rule: [connection, bptt]}, "
      "seeds: [0, 1, 2]}\n",
      "report-test.yaml", {}));
}

// What the test stores for run i: accuracies spread irregularly so that every group
// has a different mean and a non-zero spread.
struct Chosen {
  double k3 = 0;
  std::string rule;
  RunStatus status = RunStatus::ok;
  std::string reason;
  std::vector<double> test_acc, unsettled, clamp_fraction;
  std::vector<std::int64_t> clamp_events;
  double wall = 0;
};

Chosen choose(const PlannedRun& run) {
  Chosen c;
  c.k3 = run.config.model.K3;
  c.rule = run.config.training.rule;
  const double i = static_cast<double>(run.index);
  const double jitter = std::fmod(std::sin(1.7 * i + 0.3) * 43758.5453, 1.0);  // in (-1, 1)
  const double base = 0.6 + 0.5 * c.k3 + (c.rule == "bptt" ? 0.15 : 0.0);
  c.test_acc = {base - 0.2, base + 0.05 * jitter};
  c.unsettled = {0.1, 0.01 * (1.0 + jitter)};
  c.clamp_fraction = {0.002, 0.001 * (2.0 + jitter)};
  c.clamp_events = {static_cast<std::int64_t>(run.index) * 3, 7 + static_cast<std::int64_t>(i)};
  c.wall = 1.5 + 0.25 * i;
  if (run.index == 4) {
    c.status = "failed";
    c.reason = "trainer threw: something broke";
    c.test_acc.clear();
    c.unsettled.clear();
    c.clamp_fraction.clear();
    c.clamp_events.clear();
  } else if (run.index == 9) {
    c.status = "numerical_trouble";
    c.reason = "non-finite loss in epoch 2";
  }
  return c;
}

RunRecord record_for(const PlannedRun& run, const Chosen& c) {
  RunRecord rec = record_skeleton(run);
  rec.result.status = c.status;
  rec.result.reason = c.reason;
  for (std::size_t e = 0; e < c.test_acc.size(); ++e) {
    EpochMetrics m;
    m.epoch = static_cast<int>(e) + 1;
    m.test_accuracy = c.test_acc[e];
    m.train_accuracy = c.test_acc[e];
    m.train_loss = m.test_loss = 1.0;
    m.unsettled_fraction = c.unsettled[e];
    m.clamp_fraction = c.clamp_fraction[e];
    m.trouble.clamp_events = c.clamp_events[e];
    rec.result.epochs.push_back(m);
  }
  rec.result.wall_seconds = c.wall;
  return rec;
}

struct Expected {
  std::size_t runs = 0, ok = 0;
  std::vector<double> acc, unsettled, clamps, clamp_fraction, wall;
};

// Mean and sample std by the textbook one-pass formula (a different computation from
// the report's two-pass one).
std::pair<double, double> mean_std(const std::vector<double>& v) {
  double s = 0, s2 = 0;
  for (double x : v) {
    s += x;
    s2 += x * x;
  }
  const double n = static_cast<double>(v.size());
  const double mean = s / n;
  return {mean, std::sqrt((s2 - n * mean * mean) / (n - 1))};
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(' ');
  const auto b = s.find_last_not_of(' ');
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

struct Fixture {
  TempDir dir{"report"};
  std::filesystem::path file;
  SweepPlan plan = report_plan();
  std::map<std::pair<double, std::string>, Expected> expected;
  std::map<std::string, Expected> by_rule;

  Fixture() : file(dir.path / "report-test.h5") {
    REQUIRE(plan.runs.size() == 12);
    ResultsStore store(file, make_store_header(plan));
    for (const auto& run : plan.runs) {
      const Chosen c = choose(run);
      store.add(record_for(run, c));
      for (Expected* e : {&expected[{c.k3, c.rule}], &by_rule[c.rule]}) {
        ++e->runs;
        if (c.status != RunStatus::ok) continue;
        ++e->ok;
        e->acc.push_back(c.test_acc.back());
        e->unsettled.push_back(c.unsettled.back());
        e->clamps.push_back(static_cast<double>(c.clamp_events[0] + c.clamp_events[1]));
        e->clamp_fraction.push_back(c.clamp_fraction.back());
        e->wall.push_back(c.wall);
      }
    }
    store.assemble();
  }
};

void check_stat(const Stat& s, const std::vector<double>& values) {
  const auto [mean, sd] = mean_std(values);
  CHECK(s.n == values.size());
  CHECK(s.mean == doctest::Approx(mean).epsilon(1e-12));
  CHECK(s.std == doctest::Approx(sd).epsilon(1e-9));
  CHECK(s.std > 0.0);
  CHECK(s.ci95 == doctest::Approx(t_quantile_975(static_cast<double>(values.size()) - 1) * sd /
                                  std::sqrt(static_cast<double>(values.size())))
                      .epsilon(1e-9));
}

}  // namespace

TEST_CASE("report: grouping by every swept column but the seed, statistics, best mark") {
  Fixture fx;
  const Report r = build_report(fx.file);
  CHECK(r.spec_name == "report-test");
  REQUIRE(r.by == std::vector<std::string>{"model.K3", "training.rule"});
  CHECK(r.total_runs == 12);
  REQUIRE(r.groups.size() == 4);

  double best_mean = -1;
  std::vector<std::string> best_key;
  for (const auto& g : r.groups) {
    REQUIRE(g.key.size() == 2);
    const auto it = fx.expected.find({std::stod(g.key[0]), g.key[1]});
    REQUIRE(it != fx.expected.end());
    const Expected& e = it->second;
    CHECK(g.runs == e.runs);
    CHECK(g.ok == e.ok);
    check_stat(g.test_accuracy, e.acc);
    check_stat(g.unsettled_fraction, e.unsettled);
    check_stat(g.clamp_events, e.clamps);
    check_stat(g.clamp_fraction, e.clamp_fraction);
    check_stat(g.wall_seconds, e.wall);
    const double m = mean_std(e.acc).first;
    if (m > best_mean) {
      best_mean = m;
      best_key = g.key;
    }
  }
  // Sweep order: K3 outer, rule inner (the grid's key order), seeds fastest.
  CHECK(r.groups[0].key == std::vector<std::string>{"0.2", "connection"});
  CHECK(r.groups[1].key == std::vector<std::string>{"0.2", "bptt"});
  CHECK(r.groups[3].key == std::vector<std::string>{"0.4", "bptt"});
  // Runs 4 and 9 are not ok: groups (0.2, bptt) and (0.4, bptt) keep 2 of 3.
  CHECK(r.groups[1].ok == 2);
  CHECK(r.groups[2].ok == 3);
  CHECK(r.groups[3].ok == 2);

  REQUIRE(r.leader.has_value());
  CHECK(r.groups[*r.leader].key == best_key);
  CHECK(best_key == std::vector<std::string>{"0.4", "bptt"});
  REQUIRE(r.runner_up.has_value());
  CHECK(r.groups[*r.runner_up].key == std::vector<std::string>{"0.2", "bptt"});
  // The two share only seed 2 (seed 0 of the leader and seed 1 of the runner-up are not ok):
  // Welch's unpaired interval, computed here from the values.
  const auto& la = fx.expected.at({0.4, "bptt"}).acc;
  const auto& ra = fx.expected.at({0.2, "bptt"}).acc;
  const auto [lm, ls] = mean_std(la);
  const auto [rm, rs] = mean_std(ra);
  const double vl = ls * ls / 2, vr = rs * rs / 2;
  const double df = (vl + vr) * (vl + vr) / (vl * vl + vr * vr);
  const double half = t_quantile_975(df) * std::sqrt(vl + vr);
  CHECK(r.versus_runner_up.method == "welch");
  CHECK(r.versus_runner_up.mean == doctest::Approx(lm - rm).epsilon(1e-12));
  CHECK(r.versus_runner_up.lo == doctest::Approx(lm - rm - half).epsilon(1e-9));
  const bool separated = lm - rm - half > 0;
  int marked = 0;
  for (const auto& g : r.groups) marked += g.best;
  CHECK(marked == (separated ? 1 : 0));
  CHECK(r.best.has_value() == separated);

  REQUIRE(r.not_ok.size() == 2);
  CHECK(r.not_ok[0].id == fx.plan.runs[4].id);
  CHECK(r.not_ok[0].status == RunStatus::failed);
  CHECK(r.not_ok[0].reason == "trainer threw: something broke");
  CHECK(r.not_ok[1].id == fx.plan.runs[9].id);
  CHECK(r.not_ok[1].status == RunStatus::numerical_trouble);
  CHECK(r.not_ok[1].reason == "non-finite loss in epoch 2");
}

TEST_CASE("report: --by picks the grouping; unknown or repeated columns are errors") {
  Fixture fx;
  const Report r = build_report(fx.file, {"training.rule"});
  REQUIRE(r.groups.size() == 2);
  for (const auto& g : r.groups) {
    const Expected& e = fx.by_rule.at(g.key.at(0));
    CHECK(g.runs == 6);
    CHECK(g.ok == e.ok);
    check_stat(g.test_accuracy, e.acc);
    check_stat(g.wall_seconds, e.wall);
  }
  CHECK(r.groups[*r.best].key[0] == "bptt");

  // By seed: each group holds one run per (K3, rule), all three seeds present.
  const Report s = build_report(fx.file, {"seed"});
  CHECK(s.groups.size() == 3);

  try {
    build_report(fx.file, {"model.K2"});
    FAIL("expected a ReportError");
  } catch (const ReportError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("model.K2") != std::string::npos);
    CHECK(msg.find("model.K3, training.rule, seed") != std::string::npos);
    CHECK(msg.find(fx.file.string()) != std::string::npos);
  }
  CHECK_THROWS_AS(build_report(fx.file, {"seed", "seed"}), ReportError);
  CHECK_THROWS_AS(parse_report_format("html"), ReportError);
  CHECK_THROWS_AS(build_report(fx.dir.path / "missing.h5"), StoreError);
}

TEST_CASE("report: csv parses, one row per group, values round-trip") {
  Fixture fx;
  const Report r = build_report(fx.file);
  const auto lines = lines_of(format_report(r, ReportFormat::csv));
  REQUIRE(lines.size() == 5);
  const auto header = split(lines[0], ',');
  const std::vector<std::string> want{"model.K3",
                                      "training.rule",
                                      "runs",
                                      "ok",
                                      "not_ok",
                                      "test_accuracy_mean",
                                      "test_accuracy_std",
                                      "unsettled_fraction_mean",
                                      "unsettled_fraction_std",
                                      "clamp_events_mean",
                                      "clamp_events_std",
                                      "clamp_fraction_mean",
                                      "clamp_fraction_std",
                                      "wall_seconds_mean",
                                      "wall_seconds_std",
                                      "test_accuracy_ci95_lo",
                                      "test_accuracy_ci95_hi",
                                      "best"};
  REQUIRE(header == want);
  int best_rows = 0;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto cells = split(lines[i], ',');
    REQUIRE(cells.size() == header.size());
    const Expected& e = fx.expected.at({std::stod(cells[0]), cells[1]});
    CHECK(std::stoul(cells[2]) == e.runs);
    CHECK(std::stoul(cells[3]) == e.ok);
    CHECK(std::stoul(cells[4]) == e.runs - e.ok);
    const auto [am, as] = mean_std(e.acc);
    CHECK(std::stod(cells[5]) == doctest::Approx(am).epsilon(1e-12));
    CHECK(std::stod(cells[6]) == doctest::Approx(as).epsilon(1e-9));
    // Exactly the report's doubles (shortest round-trip text).
    CHECK(std::stod(cells[5]) == r.groups[i - 1].test_accuracy.mean);
    CHECK(std::stod(cells[14]) == r.groups[i - 1].wall_seconds.std);
    const Stat& acc = r.groups[i - 1].test_accuracy;
    CHECK(std::stod(cells[15]) == acc.mean - acc.ci95);
    CHECK(std::stod(cells[16]) == acc.mean + acc.ci95);
    best_rows += cells[17] == "1";
    CHECK((cells[17] == "1") == r.groups[i - 1].best);
  }
  CHECK(best_rows == (r.best ? 1 : 0));
}

TEST_CASE("report: markdown and text tables are well formed and name the failed runs") {
  Fixture fx;
  const Report r = build_report(fx.file);

  const std::string md = format_report(r, ReportFormat::md);
  std::vector<std::vector<std::string>> tables;  // the lines of each |-table
  bool in_table = false;
  for (const auto& l : lines_of(md)) {
    if (!l.empty() && l[0] == '|') {
      if (!in_table) tables.emplace_back();
      tables.back().push_back(l);
      in_table = true;
    } else {
      in_table = false;
    }
  }
  REQUIRE(tables.size() == 2);  // groups, runs not ok
  for (const auto& t : tables) {
    const auto columns = split(t[0], '|').size();
    for (const auto& l : t) {
      CHECK(l.back() == '|');
      CHECK(split(l, '|').size() == columns);
    }
    for (const auto& cell : split(t[1], '|'))
      if (!trim(cell).empty()) CHECK(trim(cell).find_first_not_of("-:") == std::string::npos);
  }
  REQUIRE(tables[0].size() == 2 + 4);
  REQUIRE(tables[1].size() == 2 + 2);
  int best_rows = 0;
  for (std::size_t i = 2; i < tables[0].size(); ++i) {
    const bool best = tables[0][i].find("**best**") != std::string::npos;
    best_rows += best;
    CHECK(best == r.groups[i - 2].best);
  }
  CHECK(best_rows == (r.best ? 1 : 0));
  CHECK(tables[1][2].find("something broke") != std::string::npos);
  CHECK(tables[1][3].find("numerical_trouble") != std::string::npos);

  const std::string text = format_report(r, ReportFormat::table);
  CHECK(text.find("Runs not ok (2)") != std::string::npos);
  CHECK(text.find(fx.plan.runs[4].id) != std::string::npos);
  CHECK(text.find("trainer threw: something broke") != std::string::npos);
  // The leader's row shows its mean in percent, and ends in the mark only when separated.
  const auto& b = r.groups[*r.leader];
  bool found = false;
  for (const auto& l : lines_of(text)) {
    if (l.rfind("0.4 ", 0) == 0 && l.find("bptt") != std::string::npos) {
      found = true;
      CHECK((l.back() == '*') == r.best.has_value());
      CHECK(l.find(fmt::format("{:.2f} ± ", 100 * b.test_accuracy.mean)) != std::string::npos);
    } else if (l.find("connection") != std::string::npos && l.rfind("0.", 0) == 0) {
      CHECK(l.back() != '*');
    }
  }
  CHECK(found);
  CHECK(text.find("leader: 0.4, bptt") != std::string::npos);
  CHECK(text.find("runner-up: 0.2, bptt") != std::string::npos);
  CHECK(text.find(r.best ? "separated: the leader is marked best" : "not separated") !=
        std::string::npos);
}

TEST_CASE("report: a tie for the best mean marks the first group and says so") {
  std::vector<ReportRun> runs;
  for (int i = 0; i < 6; ++i) {
    ReportRun run;
    run.id = "r" + std::to_string(i);
    run.status = "ok";
    run.key = {i < 2 ? "a" : i < 4 ? "b" : "c"};
    run.final_test_accuracy = i < 2 ? 0.5 : 0.75 + (i % 2 ? 0.125 : -0.125);  // b, c: mean 0.75
    run.metric = run.final_test_accuracy;
    runs.push_back(run);
  }
  const Report r = summarise_runs(runs, {"variant"});
  REQUIRE(r.leader.has_value());
  CHECK(r.groups[*r.leader].key[0] == "b");
  CHECK(r.groups[*r.runner_up].key[0] == "c");
  CHECK(r.best_ties == 1);
  CHECK(!r.best.has_value());  // a tie is never separated
  for (const auto& g : r.groups) CHECK(!g.best);
  CHECK(format_report(r, ReportFormat::table).find("a tie") != std::string::npos);
  CHECK(format_report(r, ReportFormat::md).find("a tie") != std::string::npos);
  // Without a tie there is no such note.
  runs[5].final_test_accuracy = runs[5].metric = 0.5;
  const Report s = summarise_runs(runs, {"variant"});
  CHECK(s.best_ties == 0);
  CHECK(format_report(s, ReportFormat::table).find("a tie") == std::string::npos);
}

TEST_CASE("report: several files, a metric from the per-epoch table, and errors") {
  Fixture fx;
  // The same file twice: every run counts once.
  const Report twice = build_report({fx.file, fx.file}, {}, "test_accuracy");
  const Report once = build_report(fx.file);
  CHECK(twice.total_runs == once.total_runs);
  CHECK(twice.groups.size() == once.groups.size());
  CHECK(twice.groups[0].test_accuracy.mean == once.groups[0].test_accuracy.mean);
  // Grouped by file.
  const Report by_file = build_report({fx.file}, {"file"}, "train_accuracy");
  REQUIRE(by_file.groups.size() == 1);
  CHECK(by_file.groups[0].key[0] == fx.file.string());
  CHECK(by_file.metric == "train_accuracy");
  CHECK(by_file.groups[0].metric.n == 10);
  CHECK_THROWS_WITH_AS(build_report({fx.file}, {}, "no_such_metric"),
                       doctest::Contains("no per-epoch metric 'no_such_metric'"), ReportError);
}

TEST_CASE("report: the command line writes the same report") {
  Fixture fx;
  const auto out = fx.dir.path / "report.csv";
  const std::string cmd = std::string(WUXING_BINARY) + " report " + fx.file.string() +
                          " --format csv --by training.rule,model.K3 -o " + out.string() + " 2> " +
                          (fx.dir.path / "err.txt").string();
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  CHECK(ss.str() ==
        format_report(build_report(fx.file, {"training.rule", "model.K3"}), ReportFormat::csv));
  std::ifstream err(fx.dir.path / "err.txt");
  std::stringstream es;
  es << err.rdbuf();
  CHECK(es.str().find(fx.plan.runs[4].id) != std::string::npos);  // not-ok runs named on stderr

  const std::string bad = std::string(WUXING_BINARY) + " report " + fx.file.string() +
                          " --by model.K9 > /dev/null 2>&1";
  CHECK(std::system(bad.c_str()) != 0);
}
