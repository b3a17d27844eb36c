// The equation variant lv-logistic (framework/equations/lv_logistic.hpp):
// dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i^2 + u_i. Its closed-form fixed point and
// eigenvalues against the residual, integration and a numeric eigen-solve; its Hopf
// boundary; and the three forward methods and the response analysis, which use only the
// Equation interface.
// Eigen's dense solves at dynamic size trip GCC 12's false -Wmaybe-uninitialized (GCC bug
// 105593; see analysis/stability_eigen.cpp). The pragmas must precede every include.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include "analysis/response_scan.hpp"
#include "analysis/stability.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/neuron.hpp"
#include "integrators/integrator.hpp"
#include "tests/model_support.hpp"
#include "tests/response_support.hpp"

using namespace wuxing;

namespace {

const Equation& lv() { return test_support::equation("lv-logistic"); }

// K's and topologies with a stable fixed point: r = K3 / (K2 + K3) above each boundary.
struct Case {
  Topology topo;
  KParams K;
};
const std::vector<Case>& cases() {
  static const std::vector<Case> c = {{{5, 1, 2}, {1.0, 0.5, 0.5}}, {{5, 1, 2}, {2.0, 0.3, 0.8}},
                                      {{3, 1, 2}, {1.0, 2.0, 0.7}}, {{7, 1, 2}, {0.7, 0.1, 0.3}},
                                      {{6, 1, 3}, {1.0, 1.0, 0.6}}, {{8, 3, 1}, {1.2, 0.4, 0.9}}};
  return c;
}

// The circulant formula, written here independently of the variant's code.
std::vector<std::complex<double>> circulant(const Topology& t, const KParams& K) {
  const double xs = K.K1 / (K.K2 + K.K3);
  std::vector<std::complex<double>> out;
  for (int m = 0; m < t.n; ++m) {
    const auto w = [&](int p) { return std::polar(1.0, -2.0 * std::numbers::pi * m * p / t.n); };
    out.push_back(K.K1 * w(t.g) - (K.K2 + 2.0 * K.K3) * xs - K.K2 * xs * w(t.k));
  }
  return out;
}

// Every eigenvalue of `a` has one in `b` within tol (and the counts match).
bool same_spectrum(std::vector<std::complex<double>> a, std::vector<std::complex<double>> b,
                   double tol) {
  if (a.size() != b.size()) return false;
  for (const auto& l : a) {
    auto it = std::min_element(b.begin(), b.end(),
                               [&](auto p, auto q) { return std::abs(p - l) < std::abs(q - l); });
    if (std::abs(*it - l) > tol) return false;
    b.erase(it);
  }
  return true;
}

}  // namespace

TEST_CASE("lv-logistic: x* = K1 / (K2 + K3), a zero of the right-hand side to 1e-12") {
  CHECK(lv().fixed_point({1.0, 0.5, 0.5}) == 1.0);  // the defaults keep jiang-r1's x* = 1
  for (const auto& c : cases()) {
    const double xs = lv().fixed_point(c.K);
    CHECK(xs == doctest::Approx(c.K.K1 / (c.K.K2 + c.K.K3)).epsilon(1e-15));
    const std::vector<double> x(c.topo.n, xs), u(c.topo.n, 0.0);
    std::vector<double> f(c.topo.n);
    lv().rhs(c.topo, c.K, x.data(), u.data(), f.data(), 1);
    for (double v : f) CHECK(std::abs(v) <= 1e-12 * std::max(1.0, xs));
  }
  // Unlike jiang-r1 it needs no K1 > K3: x* = 0.5 / 1.5 with K3 = K1.
  CHECK(lv().fixed_point({0.5, 1.0, 0.5}) == doctest::Approx(1.0 / 3.0));
  CHECK_THROWS_AS(lv().fixed_point({0.0, 0.5, 0.5}), std::invalid_argument);
  CHECK_THROWS_AS(lv().fixed_point({1.0, 0.0, 0.5}), std::invalid_argument);
  CHECK_THROWS_AS(lv().fixed_point({1.0, 0.5, -0.1}), std::invalid_argument);
  CHECK_THROWS_AS(lv().fixed_point({1.0, NAN, 0.5}), std::invalid_argument);
}

TEST_CASE("lv-logistic: integration from a perturbed state settles on x*") {
  std::mt19937_64 rng(3);
  IntegrationOptions opt;
  opt.h = 0.05;
  opt.tol = 1e-12;
  opt.t_max = 2000.0;
  for (const auto& c : cases()) {
    CAPTURE(c.topo.n);
    CAPTURE(c.K.K3);
    REQUIRE(max_real_eigenvalue(lv(), c.topo, c.K) < 0.0);
    const double xs = lv().fixed_point(c.K);
    std::uniform_real_distribution<double> d(0.7 * xs, 1.3 * xs);
    State x(c.topo.n);
    for (double& v : x) v = d(rng);
    auto stepper = make_stepper("rk4", opt);
    const auto report = integrate_to_steady(*stepper, neuron_system(lv(), c.topo, c.K), x, opt);
    REQUIRE(report.reason == StopReason::settled);
    for (double v : x) CHECK(std::abs(v - xs) < 1e-9);
  }
}

TEST_CASE("lv-logistic: eigenvalues at x* are the circulant formula and a numeric eigen-solve") {
  for (const auto& c : cases()) {
    CAPTURE(c.topo.n);
    const auto closed = lv().fixed_point_eigenvalues(c.topo, c.K);
    CHECK(same_spectrum(closed, circulant(c.topo, c.K), 1e-13));
    const Eigen::VectorXd xs = Eigen::VectorXd::Constant(c.topo.n, lv().fixed_point(c.K));
    CHECK(same_spectrum(closed, jacobian_eigenvalues(lv(), c.topo, c.K, xs), 1e-10));
    // The uniform mode (m = 0) is -K1 for every K.
    CHECK(closed[0].real() == doctest::Approx(-c.K.K1).epsilon(1e-13));
    CHECK(std::abs(closed[0].imag()) < 1e-13);
  }
}

TEST_CASE("lv-logistic: the simulated decay rate of a perturbation is max Re lambda") {
  SimulationOptions o;  // rk4, h = 0.02, fit on [100, 300]
  for (const KParams K : {KParams{1.0, 0.5, 0.5}, KParams{1.0, 0.8, 0.2}}) {
    const RateFit fit = perturbation_growth_rate(lv(), {5, 1, 2}, K, o);
    CHECK(std::abs(fit.rate - max_real_eigenvalue(lv(), {5, 1, 2}, K)) < 1e-6);
    CHECK(fit.residual < 1e-6);
  }
}

TEST_CASE(
    "lv-logistic: the n = 5 Hopf boundary is r = K3 / (K2 + K3) = (2 sqrt 5 - 4) / (5 + sqrt 5)") {
  const double rc = (2.0 * std::sqrt(5.0) - 4.0) / (5.0 + std::sqrt(5.0));
  // With x* = 1, K2 = K1 - K3, so K3 / K1 is r itself.
  const Boundary b = analytic_boundary(lv(), {5, 1, 2}, 1.0, 1.0, 0.01, 0.99);
  REQUIRE(b.found);
  CHECK(b.ratio == doctest::Approx(rc).epsilon(1e-10));
  CHECK(b.omega > 0.0);                    // a complex pair: Hopf
  for (const double scale : {0.5, 2.0}) {  // r is scale-free in (K2, K3)
    const double K3 = scale * rc, K2 = scale * (1.0 - rc);
    CHECK(max_real_eigenvalue(lv(), {5, 1, 2}, {1.0, K2 * 1.01, K3 * 0.99}) > 0.0);
    CHECK(max_real_eigenvalue(lv(), {5, 1, 2}, {1.0, K2 * 0.99, K3 * 1.01}) < 0.0);
  }
  // Below the boundary the simulation grows, above it decays.
  SimulationOptions o;
  CHECK(perturbation_growth_rate(lv(), {5, 1, 2}, {1.0, 0.95, 0.05}, o).rate > 0.0);
  CHECK(perturbation_growth_rate(lv(), {5, 1, 2}, {1.0, 0.9, 0.1}, o).rate < 0.0);
}

TEST_CASE("lv-logistic: a fixed-point target sets K2 = K1 / target - K3") {
  for (double target : {0.5, 1.0, 2.5}) {
    const KParams K = lv().with_fixed_point({1.5, 123.0, 0.3}, target);
    CHECK(K.K1 == 1.5);
    CHECK(K.K3 == 0.3);
    CHECK(lv().fixed_point(K) == doctest::Approx(target).epsilon(1e-14));
  }
  CHECK_THROWS_AS(lv().with_fixed_point({1.0, 0.5, 0.5}, 2.0), std::invalid_argument);  // K2 < 0
  CHECK_THROWS_AS(lv().with_fixed_point({1.0, 0.5, 0.5}, 0.0), std::invalid_argument);
}

TEST_CASE("lv-logistic: positivity, x >= 0 stays >= 0 under a drive u >= 0") {
  const Topology topo{5, 1, 2};
  const KParams K{1.0, 0.5, 0.5};
  // At x_i = 0 the right side is K1 x_{i-g} + u_i >= 0.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> d(0.0, 4.0);
  for (int trial = 0; trial < 100; ++trial) {
    std::vector<double> x(5), u(5, 0.0), f(5);
    for (double& v : x) v = d(rng);
    const int zero = trial % 5;
    x[zero] = 0.0;
    lv().rhs(topo, K, x.data(), u.data(), f.data(), 1);
    CHECK(f[zero] >= 0.0);
  }
}

TEST_CASE("lv-logistic: forward_method solve and table give the integrated network state") {
  ExperimentConfig c;
  c.seed = 4;
  c.model.variant = "lv-logistic";
  c.network.hidden = {6};
  c.network.connectivity = Connectivity::fixed;
  c.network.init_scale = 0.7;
  c.integrator.h = 0.1;
  c.integrator.t_max = 400;
  c.integrator.tol = 1e-13;
  const Dataset d = test_support::random_pixels(12, 3, 9, 8);
  Network net(c, 12, 3);
  auto settle = [&](ForwardMethod method, PhaseReport& report) {
    Batch batch;
    test_support::set_all_inputs(net, d, batch);
    c.integrator.forward_method = method;
    report = forward_phase(net, batch, c.integrator);
    return batch.x;
  };
  PhaseReport ri, rs, rt;
  const auto xi = settle(ForwardMethod::integrate, ri), xs = settle(ForwardMethod::solve, rs),
             xt = settle(ForwardMethod::table, rt);
  REQUIRE(ri.unsettled == 0);
  CHECK(rs.unsettled == 0);
  CHECK(rs.solve_fallbacks == 0);
  CHECK(rt.unsettled == 0);
  double ds = 0.0, dt = 0.0, moved = 0.0;
  for (std::size_t i = 0; i < xi.size(); ++i) {
    ds = std::max(ds, std::abs(xs[i] - xi[i]));
    dt = std::max(dt, std::abs(xt[i] - xi[i]));
  }
  // The inputs moved the state away from x* = 1 (the check is not vacuous).
  for (double v : xi) moved = std::max(moved, std::abs(v - 1.0));
  CHECK(moved > 0.05);
  // Integration stops at max |f| < 1e-13; Newton and the cubic table are far tighter.
  CHECK(ds < 1e-10);
  CHECK(dt < 1e-9);
}

TEST_CASE("lv-logistic: the response analysis, against integration") {
  const DrivenNeuron p{&lv(), Topology{5, 1, 2}, KParams{1.0, 0.5, 0.5}, 1, 2, 0.0, 4.0};
  ResponseOptions io;
  io.method = "rk4";
  io.h = 0.05;
  io.t_max = 20000.0;
  io.tol = 1e-10;
  test_support::check_response_against_integration(p, io.tol, [&](const ResponsePoint& pt) {
    if (std::abs(pt.u) < 1e-12) CHECK(std::abs(pt.s) < 1e-12);  // s(0) = 0: x* itself
    return integrate_from_x_star(p, pt.u, io);
  });
}
