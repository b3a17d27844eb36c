// The statistics of `wuxing report` (analysis/statistics.hpp, analysis/report.hpp): Student t
// quantiles against the tables, 95 % intervals, and the best mark only for a leader separated
// from the runner-up, paired per seed or unpaired (Welch).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "analysis/report.hpp"
#include "analysis/statistics.hpp"

using namespace wuxing;

TEST_CASE("statistics: t quantiles and 95 % intervals match the tables") {
  // Student t, 0.975 quantile (any statistics table).
  CHECK(t_quantile_975(1) == doctest::Approx(12.706205).epsilon(1e-6));
  CHECK(t_quantile_975(2) == doctest::Approx(4.302653).epsilon(1e-6));
  CHECK(t_quantile_975(4) == doctest::Approx(2.776445).epsilon(1e-6));
  CHECK(t_quantile_975(10) == doctest::Approx(2.228139).epsilon(1e-6));
  CHECK(t_quantile_975(30) == doctest::Approx(2.042272).epsilon(1e-6));
  CHECK(t_quantile_975(1e6) == doctest::Approx(1.95996).epsilon(1e-5));
  const Stat s = compute_stat({1.0, 2.0, 3.0});  // std 1
  CHECK(s.ci95 == doctest::Approx(4.302653 / std::sqrt(3.0)).epsilon(1e-6));
  CHECK(std::isnan(compute_stat({1.0}).ci95));
}

namespace {

// Runs of groups "x" and "y" with the given values per seed 0, 1, 2, ...
std::vector<ReportRun> two_groups(const std::vector<double>& x, const std::vector<double>& y) {
  std::vector<ReportRun> runs;
  for (const auto& [name, values] : {std::pair{"x", x}, std::pair{"y", y}})
    for (std::size_t i = 0; i < values.size(); ++i) {
      ReportRun run;
      run.id = fmt::format("{}{}", name, i);
      run.status = "ok";
      run.key = {name};
      run.seed = static_cast<double>(i);
      run.final_test_accuracy = run.metric = values[i];
      runs.push_back(run);
    }
  return runs;
}

}  // namespace

TEST_CASE("statistics: best is marked only when separated from the runner-up, paired per seed") {
  // Seeds move both groups together: unpaired the intervals overlap, paired per seed y is
  // ahead by 0.01 +- 0.001 on every seed.
  const auto runs = two_groups({0.50, 0.70, 0.90}, {0.511, 0.709, 0.910});
  const Report r = summarise_runs(runs, {"g"});
  REQUIRE(r.leader.has_value());
  CHECK(r.groups[*r.leader].key[0] == "y");
  CHECK(r.versus_runner_up.method == "paired");
  CHECK(r.versus_runner_up.n == 3);
  const Stat d = compute_stat({0.011, 0.009, 0.010});
  CHECK(r.versus_runner_up.mean == doctest::Approx(d.mean).epsilon(1e-9));
  CHECK(r.versus_runner_up.lo == doctest::Approx(d.mean - d.ci95).epsilon(1e-9));
  CHECK(r.versus_runner_up.lo > 0);
  CHECK(r.best == r.leader);
  CHECK(r.groups[*r.leader].best);
  CHECK(format_report(r, ReportFormat::table).find("paired over 3 seeds") != std::string::npos);

  // The same means with the seeds' effects shuffled: not separated, nothing marked.
  const Report u = summarise_runs(two_groups({0.50, 0.70, 0.90}, {0.910, 0.511, 0.709}), {"g"});
  CHECK(u.versus_runner_up.method == "paired");
  CHECK(u.versus_runner_up.lo < 0);
  CHECK(!u.best.has_value());
  for (const auto& g : u.groups) CHECK(!g.best);
  CHECK(format_report(u, ReportFormat::table).find("no best mark") != std::string::npos);

  // Different seeds: Welch. Far apart: separated.
  auto welch = two_groups({0.50, 0.51, 0.52}, {0.80, 0.81, 0.79});
  for (auto& run : welch)
    if (run.key[0] == "y") run.seed += 10;
  const Report w = summarise_runs(welch, {"g"});
  CHECK(w.versus_runner_up.method == "welch");
  CHECK(w.best == w.leader);

  // One run each: nothing to compare with, no mark.
  const Report one = summarise_runs(two_groups({0.5}, {0.6}), {"g"});
  CHECK(one.versus_runner_up.method.empty());
  CHECK(!one.best.has_value());
}

TEST_CASE("statistics: --metric picks the metric; lower is better for losses") {
  auto runs = two_groups({0.30, 0.31, 0.29}, {0.60, 0.62, 0.61});
  const Report r = summarise_runs(runs, {"g"}, "test_loss");
  CHECK(!r.higher_is_better);
  REQUIRE(r.best.has_value());
  CHECK(r.groups[*r.best].key[0] == "x");  // the lower loss
  CHECK(format_report(r, ReportFormat::table).find("test_loss") != std::string::npos);
  const std::string csv = format_report(r, ReportFormat::csv);
  CHECK(csv.find("test_loss_mean,test_loss_std,test_loss_ci95_lo,test_loss_ci95_hi,best") !=
        std::string::npos);
}
