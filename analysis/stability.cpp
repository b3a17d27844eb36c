#include "analysis/stability.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <numbers>
#include <stdexcept>
#include <utility>

#include "framework/base/enum_names.hpp"
#include "framework/base/random.hpp"

namespace wuxing {
namespace {

// x* + size * d with d = random_direction(n, seed): the rate fit and the regime classifier
// start along the same direction, at their own distances.
State displaced_from_fixed_point(int n, double xs, double size, std::uint64_t seed) {
  const State dir = random_direction(n, seed);
  State x(n);
  for (int i = 0; i < n; ++i) x[i] = xs + size * dir[i];
  return x;
}

double distance_to(const State& x, double xs) {
  double s = 0.0;
  for (double v : x) s += (v - xs) * (v - xs);
  return std::sqrt(s);
}

// Least-squares slope and rms residual of y(t); centred sums for accuracy.
std::pair<double, double> fit_line(const std::vector<double>& t, const std::vector<double>& y) {
  const double m = static_cast<double>(t.size());
  double tm = 0.0, ym = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    tm += t[i];
    ym += y[i];
  }
  tm /= m;
  ym /= m;
  double stt = 0.0, sty = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    stt += (t[i] - tm) * (t[i] - tm);
    sty += (t[i] - tm) * (y[i] - ym);
  }
  const double slope = sty / stt;
  double ss = 0.0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double r = y[i] - ym - slope * (t[i] - tm);
    ss += r * r;
  }
  return {slope, std::sqrt(ss / m)};
}

// Bisection on the sign of f between lo and hi; f(lo) and f(hi) are passed in.
Boundary bisect_sign(const std::function<double(double)>& f, double lo, double hi, double flo,
                     double fhi, double tol, std::string_view what) {
  Boundary b;
  b.evaluations = 2;
  const bool lo_up = flo > 0.0, hi_up = fhi > 0.0;
  if (lo_up == hi_up) {
    b.note = lo_up ? fmt::format("{} > 0 at both ends of [{}, {}]: no boundary, never stable", what,
                                 lo, hi)
                   : fmt::format("{} <= 0 at both ends of [{}, {}] ({:.3g}, {:.3g}): no boundary",
                                 what, lo, hi, flo, fhi);
    return b;
  }
  while (hi - lo > tol) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;  // tol below the spacing of doubles
    const bool up = f(mid) > 0.0;
    ++b.evaluations;
    (up == lo_up ? lo : hi) = mid;
  }
  b.found = true;
  b.ratio = 0.5 * (lo + hi);
  b.note = lo_up ? "stable above" : "stable below";
  return b;
}

}  // namespace

std::string_view to_string(Regime regime) {
  static constexpr std::array<std::string_view, 4> names{"propagator", "oscillator", "unstable",
                                                         "undetermined"};
  return enum_name(regime, names, "unknown");
}

System neuron_system(const Equation& eq, const Topology& topo, const KParams& K, State u) {
  validate_neuron(eq, topo, K);
  if (u.empty()) u.assign(topo.n, 0.0);
  if (static_cast<int>(u.size()) != topo.n)
    throw std::invalid_argument(
        fmt::format("neuron_system: drive has {} elements, the neuron {}", u.size(), topo.n));
  return [&eq, topo, K, u = std::move(u)](const State& x, State& dxdt, double) {
    eq.rhs(topo, K, x.data(), u.data(), dxdt.data(), 1);
  };
}

KParams params_at_ratio(const Equation& eq, double K1, double ratio, double fixed_point_target) {
  KParams K;
  K.K1 = K1;
  K.K3 = ratio * K1;
  return eq.with_fixed_point(K, fixed_point_target);
}

double max_real_part(const std::vector<std::complex<double>>& lambdas) {
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& l : lambdas) best = std::max(best, l.real());
  return best;
}

void SimulationOptions::validate() const {
  auto fail = [](const std::string& m) {
    throw std::invalid_argument("stability simulation: " + m);
  };
  if (!(perturbation > 0.0 && perturbation < 1e-2))
    fail(fmt::format("perturbation = {} must be in (0, 1e-2) to stay linear", perturbation));
  if (!(renorm > 1.0)) fail(fmt::format("renorm = {} must be > 1", renorm));
  if (!(rate_t_skip >= 0.0 && rate_t_end > rate_t_skip))
    fail(fmt::format("need 0 <= rate_t_skip ({}) < rate_t_end ({})", rate_t_skip, rate_t_end));
  if (!(classify_perturbation > 0.0 && classify_perturbation < 1.0))
    fail(fmt::format("classify_perturbation = {} must be in (0, 1)", classify_perturbation));
  if (!(classify_t_max > 0.0)) fail(fmt::format("classify_t_max = {} must be > 0", classify_t_max));
  if (saturation_cycles < 2)
    fail(fmt::format("saturation_cycles = {} must be >= 2", saturation_cycles));
  if (!(saturation_tolerance > 0.0))
    fail(fmt::format("saturation_tolerance = {} must be > 0", saturation_tolerance));
  if (!(divergence_factor > 1.0))
    fail(fmt::format("divergence_factor = {} must be > 1", divergence_factor));
}

RateFit perturbation_growth_rate(const Equation& eq, const Topology& topo, const KParams& K,
                                 const SimulationOptions& options) {
  options.validate();
  const System system = neuron_system(eq, topo, K);
  const double xs = eq.fixed_point(K);
  const double size = options.perturbation * xs;
  State x = displaced_from_fixed_point(topo.n, xs, size, options.seed);

  RateFit fit;
  std::vector<double> ts, ys;
  double log_offset = 0.0;
  bool vanished = false;
  const StepHook hook = [&](State& state, double t) {
    const double d = distance_to(state, xs);
    if (!(d > 0.0)) {
      vanished = true;  // rounded onto the fixed point: no rate can be read
      return;
    }
    if (t >= options.rate_t_skip) {
      ts.push_back(t);
      ys.push_back(log_offset + std::log(d));
    }
    if (d > size * options.renorm || d < size / options.renorm) {
      const double scale = size / d;
      for (double& v : state) v = xs + (v - xs) * scale;
      log_offset += std::log(d / size);
      ++fit.renormalisations;
    }
  };
  auto stepper = make_stepper(options.stepper, options.integration);
  fit.report =
      integrate_until(*stepper, system, x, 0.0, options.rate_t_end, options.integration, hook);
  if (fit.report.reason != StopReason::t_max)
    throw std::runtime_error(fmt::format(
        "perturbation_growth_rate: integration stopped at t = {} ({}) before t_end = {}",
        fit.report.t, to_string(fit.report.reason), options.rate_t_end));
  if (vanished)
    throw std::runtime_error(
        "perturbation_growth_rate: the perturbation rounded to zero; raise `perturbation`");
  if (ts.size() < 3)
    throw std::runtime_error(fmt::format(
        "perturbation_growth_rate: only {} samples in the fit window; use a smaller h", ts.size()));
  std::tie(fit.rate, fit.residual) = fit_line(ts, ys);
  fit.samples = ts.size();
  return fit;
}

Verdict simulate_regime(const Equation& eq, const Topology& topo, const KParams& K,
                        const SimulationOptions& options) {
  Verdict v;
  v.growth_rate = perturbation_growth_rate(eq, topo, K, options).rate;

  const System system = neuron_system(eq, topo, K);
  const double xs = eq.fixed_point(K);
  const double start = options.classify_perturbation * xs;
  State x = displaced_from_fixed_point(topo.n, xs, start, options.seed);

  // One cycle of element 0: from one upward crossing of x* to the next.
  struct Cycle {
    double t_begin, t_end, amplitude;
  };
  std::vector<Cycle> cycles;
  bool in_cycle = false;
  double cycle_begin = 0.0, cycle_max = 0.0, cycle_min = 0.0;

  auto stepper = make_stepper(options.classify_stepper, options.integration);
  double t = 0.0, h = options.integration.h;
  double prev_t = 0.0, prev_v = x[0] - xs;
  std::size_t steps = 0;
  const int M = options.saturation_cycles;
  auto done = [&](Regime r, std::string detail) {
    v.regime = r;
    v.detail = std::move(detail);
    v.t_simulated = t;
    v.cycles = cycles.size();
    return v;
  };
  while (t < options.classify_t_max) {
    if (steps >= options.integration.max_steps)
      return done(Regime::undetermined, fmt::format("step cap {} reached at t = {:.6g}",
                                                    options.integration.max_steps, t));
    stepper->step(system, x, t, h);
    ++steps;
    if (!stepper->adaptive()) h = options.integration.h;
    for (int i = 0; i < topo.n; ++i) {
      if (!std::isfinite(x[i]))
        return done(Regime::unstable, fmt::format("non-finite x_{} at t = {:.6g}", i, t));
      if (x[i] < 0.0)
        return done(Regime::unstable,
                    fmt::format("left positivity: x_{} = {:.3g} at t = {:.6g}", i, x[i], t));
    }
    const double d = distance_to(x, xs);
    if (d > options.divergence_factor * xs)
      return done(Regime::unstable, fmt::format("diverged: |x - x*| = {:.3g} at t = {:.6g}", d, t));
    // A start that lies mostly in fast modes shrinks at first even when a slow mode grows,
    // so decay counts only after the transient and when the linear rate agrees.
    if (d < 1e-2 * start && t >= options.rate_t_skip && v.growth_rate <= 0.0)
      return done(Regime::propagator,
                  fmt::format("perturbation decayed 100-fold by t = {:.6g}", t));

    const double val = x[0] - xs;
    if (prev_v < 0.0 && val >= 0.0) {
      const double tc = prev_t + (t - prev_t) * (-prev_v) / (val - prev_v);
      if (in_cycle) cycles.push_back({cycle_begin, tc, 0.5 * (cycle_max - cycle_min)});
      in_cycle = true;
      cycle_begin = tc;
      cycle_max = cycle_min = val;
      if (static_cast<int>(cycles.size()) >= M) {
        double lo = cycles.back().amplitude, hi = lo, sum = 0.0;
        for (auto it = cycles.end() - M; it != cycles.end(); ++it) {
          lo = std::min(lo, it->amplitude);
          hi = std::max(hi, it->amplitude);
          sum += it->amplitude;
        }
        const double mean = sum / M;
        // The amplitude must have grown well past the start, or a slowly growing or
        // decaying oscillation would pass for a limit cycle.
        if ((hi - lo) < options.saturation_tolerance * mean && mean > 10.0 * start) {
          v.amplitude = mean;
          v.period = (cycles.back().t_end - (cycles.end() - M)->t_begin) / M;
          return done(Regime::oscillator,
                      fmt::format("limit cycle: {} cycles with amplitude spread {:.2g} (relative)",
                                  M, (hi - lo) / mean));
        }
      }
    }
    cycle_max = std::max(cycle_max, val);
    cycle_min = std::min(cycle_min, val);
    prev_t = t;
    prev_v = val;
  }
  const double d = distance_to(x, xs);
  if (!cycles.empty()) v.amplitude = cycles.back().amplitude;
  return done(
      Regime::undetermined,
      fmt::format("no decision by t = {:.6g}: |x - x*| went from {:.3g} to {:.3g}, {} cycles", t,
                  start, d, cycles.size()));
}

Boundary analytic_boundary(const Equation& eq, const Topology& topo, double K1,
                           double fixed_point_target, double lo, double hi, double tol) {
  topo.validate();
  if (!(lo < hi)) throw std::invalid_argument(fmt::format("ratio range [{}, {}] is empty", lo, hi));
  auto f = [&](double r) {
    return max_real_eigenvalue(eq, topo, params_at_ratio(eq, K1, r, fixed_point_target));
  };
  Boundary b = bisect_sign(f, lo, hi, f(lo), f(hi), tol, "max Re lambda");
  if (b.found) {
    const auto lambdas =
        eq.fixed_point_eigenvalues(topo, params_at_ratio(eq, K1, b.ratio, fixed_point_target));
    const auto top = std::max_element(lambdas.begin(), lambdas.end(),
                                      [](auto a, auto c) { return a.real() < c.real(); });
    b.omega = std::abs(top->imag());
    // A rounding-level imaginary part means a real eigenvalue crossed, not a Hopf pair.
    if (b.omega < 1e-12) b.omega = 0.0;
  }
  return b;
}

Boundary simulated_boundary(const Equation& eq, const Topology& topo, double K1,
                            double fixed_point_target, double lo, double hi, double tol,
                            const SimulationOptions& options) {
  topo.validate();
  if (!(lo < hi)) throw std::invalid_argument(fmt::format("ratio range [{}, {}] is empty", lo, hi));
  auto f = [&](double r) {
    return perturbation_growth_rate(eq, topo, params_at_ratio(eq, K1, r, fixed_point_target),
                                    options)
        .rate;
  };
  return bisect_sign(f, lo, hi, f(lo), f(hi), tol, "simulated growth rate");
}

}  // namespace wuxing
