// Integrators: convergence orders by halving h, agreement between ours and odeint's,
// the drivers' stop reasons, exact landing on t_end and the step hook.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "analysis/stability.hpp"
#include "integrators/integrator.hpp"

using namespace wuxing;

namespace {

// A smooth, non-trivial trajectory of one neuron: perturbed start, constant drive.
struct NeuronProblem {
  std::unique_ptr<Equation> eq = make_equation("jiang-r1");
  Topology topo{5, 1, 2};
  KParams K{1.0, 0.5, 0.5};
  System system = neuron_system(*eq, topo, K, {0.1, 0.0, 0.2, 0.05, 0.0});
  State x0 = {1.3, 0.8, 1.1, 0.6, 1.4};
};

State solve(const NeuronProblem& p, const std::string& stepper, IntegrationOptions o, double t_end,
            IntegrationReport* report = nullptr) {
  State x = p.x0;
  auto s = make_stepper(stepper, o);
  const auto r = integrate_until(*s, p.system, x, 0.0, t_end, o);
  REQUIRE(r.reason == StopReason::t_max);
  REQUIRE(r.t == t_end);
  if (report) *report = r;
  return x;
}

State reference(const NeuronProblem& p, double t_end, double rtol = 1e-13) {
  IntegrationOptions o;
  o.rtol = rtol;
  o.atol = rtol * 1e-2;
  o.h = 0.01;
  return solve(p, "dopri5", o, t_end);
}

double max_diff(const State& a, const State& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("make_stepper knows every name and rejects others with the list") {
  IntegrationOptions o;
  for (const auto& name : stepper_names()) {
    auto s = make_stepper(name, o);
    CHECK(s->name() == name);
  }
  try {
    make_stepper("rk45", o);
    FAIL("no exception for an unknown stepper");
  } catch (const std::invalid_argument& e) {
    const std::string m = e.what();
    CHECK(m.find("rk45") != std::string::npos);
    for (const auto& name : stepper_names()) CHECK(m.find(name) != std::string::npos);
  }
  o.rtol = 0.0;
  CHECK_THROWS_AS(make_stepper("dopri5", o), std::invalid_argument);
}

TEST_CASE("fixed-step convergence orders by halving h") {
  const NeuronProblem p;
  const double t_end = 2.0;
  const State ref = reference(p, t_end);
  // An upper estimate of the reference's own error: its distance to a 10x looser run.
  const double ref_error = max_diff(ref, reference(p, t_end, 1e-12));
  struct Expect {
    const char* name;
    int order;
  };
  for (const Expect e : {Expect{"euler", 1}, Expect{"heun", 2}, Expect{"odeint_heun", 2},
                         Expect{"rk4", 4}, Expect{"odeint_rk4", 4}}) {
    const std::string name = e.name;
    CAPTURE(name);
    CHECK(make_stepper(e.name, {})->order() == e.order);
    std::vector<double> err;
    for (double h : {0.05, 0.025, 0.0125}) {
      IntegrationOptions o;
      o.h = h;
      IntegrationReport r;
      err.push_back(max_diff(solve(p, e.name, o, t_end, &r), ref));
      CHECK(r.steps == static_cast<std::size_t>(std::lround(t_end / h)));
    }
    // The error of an order-p method shrinks by 2^p per halving once h is in the
    // asymptotic range; the reference must be far more accurate than all errors.
    REQUIRE(err.back() > 100.0 * ref_error);
    for (std::size_t i = 1; i < err.size(); ++i) {
      const double ratio = err[i - 1] / err[i];
      CAPTURE(ratio);
      CHECK(std::abs(std::log2(ratio) - e.order) < 0.1);
    }
  }
}

TEST_CASE("our steppers and odeint's agree; adaptive steppers meet their tolerance") {
  const NeuronProblem p;
  const double t_end = 10.0;
  const State ref = reference(p, t_end);
  IntegrationOptions o;
  o.h = 0.01;
  // Same method, different code: only round-off may differ.
  CHECK(max_diff(solve(p, "rk4", o, t_end), solve(p, "odeint_rk4", o, t_end)) < 1e-13);
  CHECK(max_diff(solve(p, "heun", o, t_end), solve(p, "odeint_heun", o, t_end)) < 1e-13);
  // rk4 at h = 0.01 has a global error of order 1e-10 here (the halving test's constant).
  CHECK(max_diff(solve(p, "rk4", o, t_end), ref) < 1e-8);
  o.rtol = 1e-10;
  o.atol = 1e-12;
  for (const std::string name : {"dopri5", "cash_karp54", "bulirsch_stoer"}) {
    CAPTURE(name);
    IntegrationReport r;
    const State x = solve(p, name, o, t_end, &r);
    CHECK(max_diff(x, ref) < 1e-8);
    CHECK(r.rhs_evaluations > r.steps);
    CHECK(make_stepper(name, o)->adaptive());
  }
}

TEST_CASE("integrate_until lands exactly on t_end and counts steps and evaluations") {
  const System decay = [](const State& x, State& d, double) { d[0] = -x[0]; };
  IntegrationOptions o;
  o.h = 0.3;  // does not divide 1
  for (const auto& name : stepper_names()) {
    CAPTURE(name);
    auto s = make_stepper(name, o);
    State x = {1.0};
    const auto r = integrate_until(*s, decay, x, 0.5, 1.5, o);
    CHECK(r.reason == StopReason::t_max);
    CHECK(r.t == 1.5);
    CHECK(std::abs(x[0] - std::exp(-1.0)) < (s->adaptive() ? 1e-8 : 0.1));
    if (!s->adaptive()) CHECK(r.steps == 4);  // 0.3, 0.3, 0.3, 0.1
  }
  auto heun = make_stepper("heun", o);
  State x = {1.0};
  const auto r = integrate_until(*heun, decay, x, 0.0, 3.0, o);
  CHECK(r.steps == 10);
  CHECK(r.rhs_evaluations == 2 * 10 + 1);  // two per step, one for the final rate
  CHECK(r.max_rate == doctest::Approx(std::abs(x[0])));
}

TEST_CASE("integrate_to_steady reports why it stopped") {
  IntegrationOptions o;
  o.h = 0.01;
  SUBCASE("settled") {
    const System decay = [](const State& x, State& d, double) { d[0] = -x[0]; };
    for (const auto& name : stepper_names()) {
      CAPTURE(name);
      auto s = make_stepper(name, o);
      State x = {1.0};
      o.tol = 1e-8;
      const auto r = integrate_to_steady(*s, decay, x, o);
      CHECK(r.reason == StopReason::settled);
      CHECK(r.max_rate < 1e-8);
      CHECK(std::abs(x[0]) < 1e-8);
    }
  }
  SUBCASE("t_max, landing on it") {
    const System drift = [](const State&, State& d, double) { d[0] = 1.0; };
    o.t_max = 2.345;
    auto s = make_stepper("rk4", o);
    State x = {0.0};
    const auto r = integrate_to_steady(*s, drift, x, o);
    CHECK(r.reason == StopReason::t_max);
    CHECK(r.t == 2.345);
    CHECK(x[0] == doctest::Approx(2.345).epsilon(1e-12));
  }
  SUBCASE("step cap") {
    const System drift = [](const State&, State& d, double) { d[0] = 1.0; };
    o.max_steps = 7;
    o.t_max = 1e9;  // out of reach in 7 steps even for dopri5's growing steps
    for (const char* name : {"heun", "dopri5"}) {
      auto s = make_stepper(name, o);
      State x = {0.0};
      const auto r = integrate_to_steady(*s, drift, x, o);
      CHECK(r.reason == StopReason::step_cap);
      CHECK(r.steps == 7);
      State y = {0.0};
      CHECK(integrate_until(*s, drift, y, 0.0, 1e9, o).reason == StopReason::step_cap);
    }
  }
  SUBCASE("non-finite: x' = x^2 blows up at t = 1") {
    const System blowup = [](const State& x, State& d, double) { d[0] = x[0] * x[0]; };
    o.t_max = 10.0;
    for (const std::string name : {"euler", "heun", "rk4", "odeint_rk4"}) {
      CAPTURE(name);
      auto s = make_stepper(name, o);
      State x = {1.0};
      const auto r = integrate_to_steady(*s, blowup, x, o);
      CHECK(r.reason == StopReason::non_finite);
      CHECK(r.t < 1.2);
    }
    State x = {NAN};
    auto s = make_stepper("heun", o);
    CHECK(integrate_to_steady(*s, blowup, x, o).reason == StopReason::non_finite);
  }
  CHECK(to_string(StopReason::step_cap) == "step_cap");
  CHECK(to_string(StopReason::non_finite) == "non_finite");
}

TEST_CASE("the step hook runs after every accepted step and may change the state") {
  const System decay = [](const State& x, State& d, double) { d[0] = -x[0]; };
  IntegrationOptions o;
  o.h = 0.05;
  // A moderate tolerance on purpose: dopri5's error estimate weighs a stale first
  // stage about 75 times less than it affects the solution, so at tight tolerances
  // step-size control alone would hide a stale cached derivative.
  o.rtol = 1e-6;
  o.atol = 1e-8;
  for (const auto& name : stepper_names()) {
    CAPTURE(name);
    auto s = make_stepper(name, o);
    std::size_t calls = 0;
    double t_kick = -1.0;
    // Kick the state to 2 on the first step past t = 1: the rest must continue from the
    // kicked state (a stepper that cached f(x) across steps, like dopri5's FSAL, must
    // notice the change).
    const StepHook kick = [&](State& x, double t) {
      ++calls;
      if (t >= 1.0 && t_kick < 0.0) {
        t_kick = t;
        x[0] = 2.0;
      }
    };
    State x = {1.0};
    const auto r = integrate_until(*s, decay, x, 0.0, 3.0, o, kick);
    CHECK(calls == r.steps);
    const double exact = 2.0 * std::exp(-(3.0 - t_kick));
    // Tolerances: about 10x each method's own error on this problem (h = 0.05, or
    // rtol = 1e-6: ~2e-7); a stale derivative after the kick costs dopri5 ~2e-5.
    const double tol = s->adaptive() ? 2e-6 : s->order() >= 4 ? 1e-6 : s->order() == 2 ? 3e-3 : 0.1;
    CHECK(std::abs(x[0] - exact) < tol);
  }
}
