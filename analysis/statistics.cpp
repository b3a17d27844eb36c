#include "analysis/statistics.hpp"

#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <limits>
#include <map>

namespace wuxing {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<double> values_of(const std::vector<std::pair<std::uint64_t, double>>& runs) {
  std::vector<double> v;
  for (const auto& r : runs) v.push_back(r.second);
  return v;
}

// One value per seed, or empty when a seed has several runs (pairing would be ambiguous).
std::map<std::uint64_t, double> by_seed(const std::vector<std::pair<std::uint64_t, double>>& runs) {
  std::map<std::uint64_t, double> out;
  for (const auto& [seed, value] : runs)
    if (!out.emplace(seed, value).second) return {};
  return out;
}

}  // namespace

double t_quantile_975(double df) {
  if (!(df > 0)) return kNaN;
  return boost::math::quantile(boost::math::students_t_distribution<double>(df), 0.975);
}

Stat compute_stat(const std::vector<double>& values) {
  Stat s;
  s.n = values.size();
  s.std = s.ci95 = kNaN;
  if (s.n == 0) {
    s.mean = kNaN;
    return s;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  s.mean = sum / static_cast<double>(s.n);
  if (s.n < 2) return s;
  // Two-pass: the deviations are summed after the mean is known (no cancellation).
  double ss = 0.0;
  for (double v : values) ss += (v - s.mean) * (v - s.mean);
  const double n = static_cast<double>(s.n);
  s.std = std::sqrt(ss / (n - 1));
  s.ci95 = t_quantile_975(n - 1) * s.std / std::sqrt(n);
  return s;
}

Difference compare_groups(const std::vector<std::pair<std::uint64_t, double>>& a,
                          const std::vector<std::pair<std::uint64_t, double>>& b) {
  Difference d;
  d.mean = d.lo = d.hi = kNaN;
  const auto sa = by_seed(a), sb = by_seed(b);
  std::vector<double> diffs;
  for (const auto& [seed, value] : sa)
    if (auto it = sb.find(seed); it != sb.end()) diffs.push_back(value - it->second);
  if (diffs.size() >= 2) {
    const Stat s = compute_stat(diffs);
    d.method = "paired";
    d.n = s.n;
    d.mean = s.mean;
    d.lo = s.mean - s.ci95;
    d.hi = s.mean + s.ci95;
    return d;
  }
  const Stat x = compute_stat(values_of(a)), y = compute_stat(values_of(b));
  if (x.n < 2 || y.n < 2) return d;
  const double vx = x.std * x.std / static_cast<double>(x.n);
  const double vy = y.std * y.std / static_cast<double>(y.n);
  d.method = "welch";
  d.n = std::min(x.n, y.n);
  d.mean = x.mean - y.mean;
  const double se = std::sqrt(vx + vy);
  if (se == 0) {
    d.lo = d.hi = d.mean;
    return d;
  }
  // Welch-Satterthwaite degrees of freedom.
  const double df =
      (vx + vy) * (vx + vy) /
      (vx * vx / static_cast<double>(x.n - 1) + vy * vy / static_cast<double>(y.n - 1));
  const double half = t_quantile_975(df) * se;
  d.lo = d.mean - half;
  d.hi = d.mean + half;
  return d;
}

}  // namespace wuxing
