// The statistics of `wuxing report`: mean, spread and 95 % confidence intervals (Student t),
// and the difference between two groups of runs, paired by seed where it can be.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wuxing {

// Mean, sample standard deviation (n - 1 in the denominator) and the half-width of the
// 95 % confidence interval of the mean, t(0.975, n - 1) * std / sqrt(n). std and ci95 are NaN
// when n < 2, everything is NaN when n == 0.
struct Stat {
  std::size_t n = 0;
  double mean = 0.0;
  double std = 0.0;
  double ci95 = 0.0;
};
Stat compute_stat(const std::vector<double>& values);

// The 0.975 quantile of Student's t with `df` (> 0, not necessarily whole) degrees of freedom.
double t_quantile_975(double df);

// a - b with its 95 % confidence interval.
struct Difference {
  std::string method;  // "paired" (by seed), "welch" (unpaired), or "" (too few runs)
  std::size_t n = 0;   // pairs (paired), or the smaller group's size (welch)
  double mean = 0.0;
  double lo = 0.0;
  double hi = 0.0;
};

// Paired by seed when at least two seeds have one ok run in each group (and no seed has
// several in a group); else Welch's unpaired interval when each group has two runs or more;
// else method "" and NaNs. `a` and `b` hold (seed, value) of each ok run.
Difference compare_groups(const std::vector<std::pair<std::uint64_t, double>>& a,
                          const std::vector<std::pair<std::uint64_t, double>>& b);

}  // namespace wuxing
