#include "framework/model/phase.hpp"

#include <algorithm>

namespace wuxing {

void record_probes(const Network& net, std::size_t B, const double* x, double t,
                   std::vector<TrajectoryProbe>* probes, std::int64_t step, bool force) {
  if (!probes) return;
  const int n = net.n();
  for (auto& p : *probes) {
    if (!force && step % std::max(1, p.stride) != 0) continue;
    if (force && !p.times.empty() && p.times.back() == t) continue;
    p.times.push_back(t);
    const double* xl = x + net.layer_offset(p.layer, B);
    for (int i = 0; i < net.layer_size(p.layer); ++i)
      for (int e = 0; e < n; ++e)
        p.values.push_back(xl[(static_cast<std::size_t>(i) * n + e) * B + p.sample]);
  }
}

void finish_report(const Network& net, std::size_t B, const double* x, PhaseReport& r) {
  const double lo = net.config().x_min, hi = net.config().x_max;
  const std::size_t size = net.state_size(B);
  for (std::size_t q = 0; q < size; ++q)
    if (x[q] <= lo || x[q] >= hi) ++r.clamped_elements;
  r.unsettled = 0;
  r.steps_total = 0;
  r.max_steps = 0;
  for (std::size_t b = 0; b < B; ++b) {
    if (!r.sample_settled[b]) ++r.unsettled;
    r.steps_total += r.sample_steps[b];
    r.max_steps = std::max(r.max_steps, r.sample_steps[b]);
  }
}

// Per-sample max of |rate| (projected at bounds when `x` is given) and non-finite flags.
// Branch-free so that the inner loop vectorises: a NaN or infinite rate never counts (as in

}  // namespace wuxing
