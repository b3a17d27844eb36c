#include "integrators/integrator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "framework/base/enum_names.hpp"
#include "integrators/registry.hpp"

namespace wuxing {
namespace {

void validate_options(const IntegrationOptions& o, std::string_view who) {
  if (!(o.h > 0.0) || !std::isfinite(o.h))
    throw std::invalid_argument(fmt::format("{}: step h = {} must be finite and > 0", who, o.h));
  if (!(o.t_max >= 0.0))
    throw std::invalid_argument(fmt::format("{}: t_max = {} must be >= 0", who, o.t_max));
  if (!(o.tol >= 0.0))
    throw std::invalid_argument(fmt::format("{}: tol = {} must be >= 0", who, o.tol));
  if (!(o.rtol > 0.0) || !(o.atol >= 0.0))
    throw std::invalid_argument(
        fmt::format("{}: rtol = {} must be > 0 and atol = {} >= 0", who, o.rtol, o.atol));
}

bool all_finite(const State& x) {
  return std::all_of(x.begin(), x.end(), [](double v) { return std::isfinite(v); });
}

// max |v|, NaN if any entry is NaN (std::max would drop it).
double max_abs(const State& v) {
  double m = 0.0;
  for (double e : v) {
    if (std::isnan(e)) return e;
    m = std::max(m, std::abs(e));
  }
  return m;
}

// One accepted step that does not pass t_stop; a step that ends on t_stop leaves t equal
// to it exactly, so that callers land on their end time.
void bounded_step(Stepper& stepper, const System& system, State& x, double& t, double& h,
                  double nominal_h, double t_stop, IntegrationReport& report) {
  const double remaining = t_stop - t;
  // A tolerance of a few ulps keeps round-off from producing a sliver of a last step.
  const bool last = remaining <= h * (1.0 + 1e-9);
  double h_try = last ? remaining : h;
  report.rhs_evaluations += stepper.step(system, x, t, h_try);
  ++report.steps;
  if (last && std::abs(t_stop - t) <= 1e-12 * std::max(1.0, std::abs(t_stop))) t = t_stop;
  if (stepper.adaptive()) {
    // After a shortened last step, the proposal reflects the short step; keep the longer h.
    h = last ? std::max(h, h_try) : h_try;
  } else {
    h = nominal_h;
  }
}

}  // namespace

std::string_view to_string(StopReason reason) {
  static constexpr std::array<std::string_view, 4> names{"settled", "t_max", "step_cap",
                                                         "non_finite"};
  return enum_name(reason, names, "unknown");
}

std::vector<std::string> stepper_names() { return stepper_registry().names(); }

bool integrated_per_lane(std::string_view name) {
  return stepper_registry().at(name).batching == Batching::per_lane;
}

std::unique_ptr<Stepper> make_stepper(std::string_view name, const IntegrationOptions& options) {
  return stepper_registry().at(name).make(options);
}

IntegrationReport integrate_to_steady(Stepper& stepper, const System& system, State& x,
                                      const IntegrationOptions& options, const StepHook& hook) {
  validate_options(options, "integrate_to_steady");
  stepper.reset();
  IntegrationReport report;
  State dxdt(x.size());
  double t = 0.0;
  auto rate = [&] {
    system(x, dxdt, t);
    ++report.rhs_evaluations;
    return max_abs(dxdt);
  };
  auto finish = [&](StopReason reason) {
    report.reason = reason;
    report.t = t;
    return report;
  };
  if (!all_finite(x)) return finish(StopReason::non_finite);
  report.max_rate = rate();
  if (!std::isfinite(report.max_rate)) return finish(StopReason::non_finite);
  if (report.max_rate < options.tol) return finish(StopReason::settled);
  double h = options.h;
  for (;;) {
    if (t >= options.t_max) return finish(StopReason::t_max);
    if (report.steps >= options.max_steps) return finish(StopReason::step_cap);
    bounded_step(stepper, system, x, t, h, options.h, options.t_max, report);
    if (hook) hook(x, t);
    if (!all_finite(x)) return finish(StopReason::non_finite);
    report.max_rate = rate();
    if (!std::isfinite(report.max_rate)) return finish(StopReason::non_finite);
    if (report.max_rate < options.tol) return finish(StopReason::settled);
  }
}

IntegrationReport integrate_until(Stepper& stepper, const System& system, State& x, double t0,
                                  double t_end, const IntegrationOptions& options,
                                  const StepHook& hook) {
  validate_options(options, "integrate_until");
  if (!(t_end >= t0) || !std::isfinite(t_end))
    throw std::invalid_argument(
        fmt::format("integrate_until: t_end = {} must be finite and >= t0 = {}", t_end, t0));
  stepper.reset();
  IntegrationReport report;
  double t = t0;
  double h = options.h;
  auto finish = [&](StopReason reason) {
    report.reason = reason;
    report.t = t;
    if (reason != StopReason::non_finite) {
      State dxdt(x.size());
      system(x, dxdt, t);
      ++report.rhs_evaluations;
      report.max_rate = max_abs(dxdt);
    }
    return report;
  };
  if (!all_finite(x)) return finish(StopReason::non_finite);
  while (t < t_end) {
    if (report.steps >= options.max_steps) return finish(StopReason::step_cap);
    bounded_step(stepper, system, x, t, h, options.h, t_end, report);
    if (hook) hook(x, t);
    if (!all_finite(x)) return finish(StopReason::non_finite);
  }
  return finish(StopReason::t_max);
}

}  // namespace wuxing
