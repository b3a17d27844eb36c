// The neuron (jiang-r1): fixed points, validation, Jacobian kernels and positivity.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>

#include "analysis/stability.hpp"
#include "framework/model/neuron.hpp"
#include "integrators/integrator.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using test_support::KernelBatch;
using test_support::random_vector;

namespace {

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("jiang-r1 fixed point is (K1 - K3) / K2") {
  auto eq = make_equation("jiang-r1");
  CHECK(eq->fixed_point({1.0, 0.5, 0.5}) == doctest::Approx(1.0));
  CHECK(eq->fixed_point({2.0, 0.25, 0.5}) == doctest::Approx(6.0));
  CHECK_THROWS_AS(eq->fixed_point({0.5, 0.5, 0.5}), std::invalid_argument);
}

TEST_CASE("n = 5 Hopf boundary values from MODEL.md") {
  auto eq = make_equation("jiang-r1");
  Topology topo;
  CHECK(max_real_eigenvalue(*eq, topo, {1.0, 0.5, 0.14}) == doctest::Approx(0.00477).epsilon(1e-3));
  CHECK(max_real_eigenvalue(*eq, topo, {1.0, 0.5, 0.5}) == doctest::Approx(-0.28647).epsilon(1e-4));
}

TEST_CASE("Topology and K validation name what is wrong") {
  CHECK_NOTHROW(Topology{5, 1, 2}.validate());
  CHECK_NOTHROW(Topology{3, 1, 2}.validate());
  CHECK(error_of([] { Topology{2, 1, 2}.validate(); }).find("n = 2") != std::string::npos);
  CHECK(error_of([] { Topology{5, 0, 2}.validate(); }).find("g = 0") != std::string::npos);
  CHECK(error_of([] { Topology{5, 1, 5}.validate(); }).find("k = 5") != std::string::npos);
  CHECK(error_of([] { Topology{5, 2, 2}.validate(); }).find("differ") != std::string::npos);

  auto eq = make_equation("jiang-r1");
  CHECK_NOTHROW(eq->validate({1.0, 0.5, 0.5}));
  CHECK(error_of([&] { eq->validate({0.0, 0.5, 0.1}); }).find("K1") != std::string::npos);
  CHECK(error_of([&] { eq->validate({1.0, -0.5, 0.1}); }).find("K2") != std::string::npos);
  CHECK(error_of([&] { eq->validate({1.0, 0.5, -0.1}); }).find("K3") != std::string::npos);
  CHECK(error_of([&] { eq->validate({1.0, 0.5, 1.0}); }).find("exceed") != std::string::npos);
  CHECK_THROWS_AS(eq->validate({1.0, NAN, 0.1}), std::invalid_argument);
  // Every entry point that takes a topology or K's checks them.
  CHECK_THROWS_AS(eq->fixed_point_eigenvalues({5, 2, 2}, {}), std::invalid_argument);
  CHECK_THROWS_AS(eq->fixed_point_eigenvalues({5, 1, 2}, {1.0, 0.5, 2.0}), std::invalid_argument);
  CHECK_THROWS_AS(eq->jacobian({5, 1, 1}, {}, Eigen::VectorXd::Ones(5)), std::invalid_argument);
  CHECK_THROWS_AS(eq->jacobian({5, 1, 2}, {}, Eigen::VectorXd::Ones(4)), std::invalid_argument);
  CHECK_THROWS_AS(neuron_system(*eq, {2, 1, 2}, {}), std::invalid_argument);
  CHECK_THROWS_AS(validate_neuron(*eq, {5, 1, 2}, {1.0, 0.0, 0.5}), std::invalid_argument);

  const std::string unknown = error_of([] { make_equation("lotka"); });
  CHECK(unknown.find("lotka") != std::string::npos);
  CHECK(unknown.find("jiang-r1") != std::string::npos);
}

TEST_CASE("a fixed-point target sets K2") {
  auto eq = make_equation("jiang-r1");
  for (double target : {0.5, 1.0, 2.5}) {
    const KParams K = eq->with_fixed_point({1.5, 123.0, 0.3}, target);
    CHECK(K.K1 == 1.5);
    CHECK(K.K3 == 0.3);
    CHECK(eq->fixed_point(K) == doctest::Approx(target).epsilon(1e-15));
  }
  CHECK_THROWS_AS(eq->with_fixed_point({1.0, 0.5, 0.5}, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(eq->with_fixed_point({1.0, 0.5, 1.5}, 1.0), std::invalid_argument);
}

TEST_CASE("integration settles on the closed-form fixed point") {
  auto eq = make_equation("jiang-r1");
  std::mt19937_64 rng(7);
  struct Case {
    Topology topo;
    KParams K;
  };
  // All in the propagator regime (K3/K1 above every Hopf boundary of these topologies).
  const std::vector<Case> cases = {{{5, 1, 2}, {1.0, 0.5, 0.5}}, {{5, 1, 2}, {2.0, 0.3, 0.8}},
                                   {{3, 1, 2}, {1.0, 2.0, 0.2}}, {{7, 1, 2}, {0.7, 0.1, 0.3}},
                                   {{9, 1, 2}, {1.0, 0.5, 0.4}}, {{6, 1, 3}, {1.0, 1.0, 0.6}},
                                   {{8, 3, 1}, {1.2, 0.4, 0.9}}};
  IntegrationOptions opt;
  opt.h = 0.05;
  opt.tol = 1e-12;
  opt.t_max = 2000.0;
  for (const auto& c : cases) {
    CAPTURE(c.topo.n);
    CAPTURE(c.K.K3);
    REQUIRE(max_real_eigenvalue(*eq, c.topo, c.K) < 0.0);
    const double xs = eq->fixed_point(c.K);
    State x = random_vector(rng, c.topo.n, 0.7 * xs, 1.3 * xs);
    auto stepper = make_stepper("rk4", opt);
    const auto report = integrate_to_steady(*stepper, neuron_system(*eq, c.topo, c.K), x, opt);
    REQUIRE(report.reason == StopReason::settled);
    for (double v : x) CHECK(std::abs(v - xs) < 1e-9);
  }
}

TEST_CASE("Jacobian kernels agree with central differences of rhs") {
  auto eq = make_equation("jiang-r1");
  std::mt19937_64 rng(11);
  const std::size_t B = 3;  // a batch, to exercise the element-major layout
  for (const Topology topo : {Topology{5, 1, 2}, Topology{4, 3, 1}, Topology{7, 2, 5}}) {
    const int n = topo.n;
    const KParams K{1.3, 0.7, 0.4};
    const KernelBatch batch(*eq, topo, B, rng);
    const auto& x = batch.x;
    const auto& v = batch.v;
    auto f = [&](const std::vector<double>& at, const KParams& k) { return batch.rhs(at, k); };
    // f is quadratic in x and linear in K, so central differences are exact up to
    // round-off (about 1e-16 / eps).
    const double eps = 1e-5, tol = 1e-9;
    for (std::size_t b = 0; b < B; ++b) {
      Eigen::VectorXd xb(n);
      for (int e = 0; e < n; ++e) xb(e) = x[e * B + b];
      const Eigen::MatrixXd J = eq->jacobian(topo, K, xb);
      for (int j = 0; j < n; ++j) {
        auto xp = x, xm = x;
        xp[j * B + b] += eps;
        xm[j * B + b] -= eps;
        const auto fp = f(xp, K), fm = f(xm, K);
        for (int i = 0; i < n; ++i)
          CHECK(std::abs(J(i, j) - (fp[i * B + b] - fm[i * B + b]) / (2 * eps)) < tol);
      }
      std::vector<double> Jv(n * B), JTv(n * B);
      eq->jacobian_apply(topo, K, x.data(), v.data(), Jv.data(), B);
      eq->jacobian_transpose_apply(topo, K, x.data(), v.data(), JTv.data(), B);
      for (int e = 0; e < n; ++e) {
        double ref = 0.0, ref_t = 0.0;  // plain loops: (J v)_e and (J^T v)_e
        for (int c = 0; c < n; ++c) {
          ref += J(e, c) * v[c * B + b];
          ref_t += J(c, e) * v[c * B + b];
        }
        CHECK(std::abs(Jv[e * B + b] - ref) < 1e-13);
        CHECK(std::abs(JTv[e * B + b] - ref_t) < 1e-13);
      }
    }
    // J v itself against a directional central difference, for all samples at once.
    {
      auto xp = x, xm = x;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xp[i] += eps * v[i];
        xm[i] -= eps * v[i];
      }
      const auto fp = f(xp, K), fm = f(xm, K);
      std::vector<double> Jv(n * B);
      eq->jacobian_apply(topo, K, x.data(), v.data(), Jv.data(), B);
      for (std::size_t i = 0; i < Jv.size(); ++i)
        CHECK(std::abs(Jv[i] - (fp[i] - fm[i]) / (2 * eps)) < tol);
    }
    for (KIndex which : {KIndex::K1, KIndex::K2, KIndex::K3}) {
      CAPTURE(static_cast<int>(which));
      std::vector<double> d(n * B);
      eq->parameter_derivative(topo, K, which, x.data(), d.data(), B);
      KParams kp = K, km = K;
      double* pp = which == KIndex::K1 ? &kp.K1 : which == KIndex::K2 ? &kp.K2 : &kp.K3;
      double* pm = which == KIndex::K1 ? &km.K1 : which == KIndex::K2 ? &km.K2 : &km.K3;
      *pp += eps;
      *pm -= eps;
      const auto fp = f(x, kp), fm = f(x, km);
      for (std::size_t i = 0; i < d.size(); ++i)
        CHECK(std::abs(d[i] - (fp[i] - fm[i]) / (2 * eps)) < tol);
    }
  }
}

TEST_CASE("positivity: non-negative drive keeps non-negative states non-negative") {
  auto eq = make_equation("jiang-r1");
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 20; ++trial) {
    const Topology topo{3 + trial % 7, 1, 2};
    const KParams K{1.0, 0.5, trial % 2 ? 0.1 : 0.6};  // oscillating and propagating
    const int n = topo.n;
    State u = random_vector(rng, n, 0.0, 1.0);
    State x = random_vector(rng, n, 0.0, 3.0);
    x[trial % n] = 0.0;  // start on the boundary of the positive orthant
    // Pointwise: at x_i = 0 the right side is K1 x_{i-g} + u_i >= 0.
    State dxdt(n);
    eq->rhs(topo, K, x.data(), u.data(), dxdt.data(), 1);
    CHECK(dxdt[trial % n] >= 0.0);
    IntegrationOptions opt;
    opt.h = 0.01;
    auto stepper = make_stepper("heun", opt);
    double lowest = x[0];
    const StepHook watch = [&](State& s, double) {
      for (double v : s) lowest = std::min(lowest, v);
    };
    const auto report =
        integrate_until(*stepper, neuron_system(*eq, topo, K, u), x, 0.0, 30.0, opt, watch);
    REQUIRE(report.reason == StopReason::t_max);
    CAPTURE(trial);
    CHECK(lowest >= 0.0);
  }
}
