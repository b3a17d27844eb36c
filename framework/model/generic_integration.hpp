// Any stepper of integrators/ on the flattened network state: the batch stops together.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/model/lanes.hpp"
#include "framework/model/phase.hpp"
#include "integrators/integrator.hpp"

namespace wuxing::detail {

// Any other method: the flattened state through the generic stepper; the batch stops together.
template <class Rhs>
void generic_integration(const std::string& method, std::size_t size, std::size_t B, double* y,
                         const Rhs& rhs, const IntegratorConfig& integ, double t_max, double tol,
                         bool clamp, double lo, double hi, PhaseReport& r) {
  IntegrationOptions opt;
  opt.h = integ.h;
  opt.t_max = t_max;
  opt.tol = tol;
  opt.max_steps = static_cast<std::size_t>(integ.max_steps);
  opt.rtol = integ.rtol;
  opt.atol = integ.atol;
  auto stepper = make_stepper(method, opt);
  State state(y, y + size);
  System system = [&](const State& s, State& d, double) {
    d.resize(s.size());
    rhs(s.data(), d.data());
  };
  StepHook hook;
  if (clamp)
    hook = [&](State& s, double) {
      for (double& v : s) {
        if (v < lo) {
          v = lo;
          ++r.clamp_events;
        } else if (v > hi) {
          v = hi;
          ++r.clamp_events;
        }
      }
    };
  const IntegrationReport rep = integrate_to_steady(*stepper, system, state, opt, hook);
  std::copy(state.begin(), state.end(), y);
  std::vector<double> f(size), rate;
  std::vector<char> bad;
  rhs(y, f.data());
  sample_rates(size, B, f.data(), clamp ? y : nullptr, lo, hi, rate, bad);
  r.sample_steps.assign(B, static_cast<std::int64_t>(rep.steps));
  r.sample_settled.assign(B, 0);
  // The driver judged steady state on its own last derivative; a sample counts as settled
  // when the driver settled the whole batch or its own rate is below tol now.
  const bool all_settled = rep.reason == StopReason::settled;
  for (std::size_t b = 0; b < B; ++b) {
    r.sample_settled[b] = !bad[b] && (all_settled || rate[b] < tol);
    if (bad[b]) ++r.non_finite;
  }
  if (rep.reason == StopReason::step_cap)
    for (std::size_t b = 0; b < B; ++b) r.step_cap_hits += !r.sample_settled[b];
}

}  // namespace wuxing::detail
