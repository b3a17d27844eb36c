// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (the
// intrinsics' self-initialised __Y), instantiated here by EigenSolver; not in our code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Network structure, connectivity, the forward phase and its bookkeeping (MODEL.md 2-4).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/bptt.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/connectivity.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/operating_point.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using test_support::random_pixels;
using test_support::set_all_inputs;
using test_support::settle_all;

namespace {}  // namespace

TEST_CASE("portable random numbers: fixed sequence, sane moments") {
  Rng a(42), b(42);
  for (int i = 0; i < 10; ++i) CHECK(a.next() == b.next());
  // std::mt19937_64's 10000th output for the default seed is fixed by the standard.
  std::mt19937_64 ref;
  ref.discard(9999);
  CHECK(ref() == 9981545732273789042ULL);
  Rng r(1);
  double sum = 0, sq = 0;
  const int N = 200000;
  for (int i = 0; i < N; ++i) {
    const double v = r.normal();
    sum += v;
    sq += v * v;
  }
  CHECK(std::abs(sum / N) < 0.01);
  CHECK(std::abs(sq / N - 1.0) < 0.01);
  CHECK(splitmix64(1) != splitmix64(2));
}

TEST_CASE("connectivity schemes") {
  NetworkConfig c;
  SUBCASE("uniform_random: every pre to every post, all (a, b) pairs drawn") {
    c.connectivity = Connectivity::uniform_random;
    auto cs = make_connections(c, 5, 40, 30, false, 1, 0);
    CHECK(cs.size() == 1200);
    std::set<std::pair<int, int>> pairs;
    for (std::size_t i = 0; i < cs.size(); ++i) pairs.insert({cs.a[i], cs.b[i]});
    CHECK(pairs.size() == 25);
    auto again = make_connections(c, 5, 40, 30, false, 1, 0);
    CHECK(again.a == cs.a);
    CHECK(again.coef == cs.coef);
    auto other = make_connections(c, 5, 40, 30, false, 2, 0);
    CHECK(other.a != cs.a);
  }
  SUBCASE("fixed: output element -> input element; input layer reads its own element") {
    c.connectivity = Connectivity::fixed;
    c.input_layer_output_element = 3;
    auto hidden = make_connections(c, 5, 4, 3, false, 1, 1);
    auto input = make_connections(c, 5, 4, 3, true, 1, 0);
    for (std::size_t i = 0; i < hidden.size(); ++i) {
      CHECK(hidden.a[i] == c.output_element);
      CHECK(hidden.b[i] == c.input_element);
      CHECK(input.a[i] == 3);
    }
  }
  SUBCASE("sparse keeps about p of the connections; fan-in sets the scale") {
    c.connectivity = Connectivity::sparse;
    c.sparsity = 0.25;
    auto cs = make_connections(c, 5, 200, 100, false, 3, 0);
    CHECK(std::abs(cs.size() / 20000.0 - 0.25) < 0.02);
    double sq = 0;
    for (int i = 0; i < 100; ++i)
      for (int q = cs.post_start[i]; q < cs.post_start[i + 1]; ++q)
        sq += cs.coef[q] * cs.coef[q] * (cs.post_start[i + 1] - cs.post_start[i]);
    CHECK(std::abs(sq / cs.size() - 1.0) < 0.1);  // c ~ N(0, 1 / fan_in)
  }
  SUBCASE("one_to_one needs equal sizes") {
    c.connectivity = Connectivity::one_to_one;
    auto cs = make_connections(c, 5, 7, 7, false, 1, 0);
    CHECK(cs.size() == 7);
    for (std::size_t i = 0; i < cs.size(); ++i) CHECK(cs.pre[i] == cs.post[i]);
    CHECK_THROWS_AS(make_connections(c, 5, 7, 6, false, 1, 0), std::invalid_argument);
  }
  SUBCASE("indices by post and by pre cover every connection once") {
    auto cs = make_connections(c, 5, 9, 6, false, 4, 0);
    std::vector<int> seen(cs.size(), 0);
    for (int j = 0; j < 9; ++j)
      for (int q = cs.pre_start[j]; q < cs.pre_start[j + 1]; ++q) {
        CHECK(cs.pre[cs.by_pre[q]] == j);
        ++seen[cs.by_pre[q]];
      }
    for (int v : seen) CHECK(v == 1);
  }
}

TEST_CASE("input neurons settle to a steady state of the driven neuron") {
  ExperimentConfig c;
  Network net(c, 4, 2);
  const double xs = net.fixed_point(1, 0);
  for (int byte : {0, 17, 128, 255}) {
    const auto& s = net.input_signal(static_cast<std::uint8_t>(byte), 1.0 / 255.0);
    std::vector<double> x(5), u(5, 0.0), f(5);
    for (int a = 0; a < 5; ++a) x[a] = s[a] + xs;
    u[c.network.input_element] = c.network.alpha * byte / 255.0;
    net.equation().rhs(net.topology(), net.input_K(), x.data(), u.data(), f.data(), 1);
    for (double v : f) CHECK(std::abs(v) < 1e-10);
    if (byte == 0)
      for (int a = 0; a < 5; ++a) CHECK(s[a] == doctest::Approx(0.0).epsilon(1e-12));
  }
}

TEST_CASE("the forward phase settles to f(x) = 0 and counts its steps") {
  ExperimentConfig c;
  c.network.hidden = {8, 6};
  c.integrator.tol = 1e-9;
  c.integrator.t_max = 300;
  const Dataset d = random_pixels(12, 4, 9, 5);
  Network net(c, 12, 4);
  Batch batch;
  const PhaseReport r = settle_all(net, d, c.integrator, batch);
  CHECK(r.unsettled == 0);
  CHECK(r.non_finite == 0);
  CHECK(r.max_steps > 10);
  std::vector<double> f(batch.x.size());
  network_rhs(net, batch, batch.x.data(), f.data());
  double worst = 0;
  for (double v : f) worst = std::max(worst, std::abs(v));
  CHECK(worst < 1e-9);
  // Each sample is integrated on its own (frozen when it settles, then dropped from the
  // working arrays): a batch of one gives the same states, steps and adjoint bit for bit.
  std::vector<double> dlds, lambda;
  output_loss(net, batch, c.training, dlds);
  const PhaseReport rb = backward_phase(net, batch, dlds, c.integrator, lambda);
  const std::size_t B = batch.B;
  // Samples settle at different steps, so lanes were dropped along the way.
  CHECK(*std::max_element(r.sample_steps.begin(), r.sample_steps.end()) >
        *std::min_element(r.sample_steps.begin(), r.sample_steps.end()));
  for (std::size_t s = 0; s < B; ++s) {
    Batch single;
    set_inputs(net, d.pixels.data(), d.features, d.pixel_scale, {s}, d.labels.data(), single);
    const PhaseReport r1 = forward_phase(net, single, c.integrator);
    CHECK(r1.sample_steps[0] == r.sample_steps[s]);
    bool same = true;
    for (std::size_t q = 0; q < single.x.size(); ++q)
      same = same && single.x[q] == batch.x[q * B + s];
    CHECK(same);
    std::vector<double> dlds1, lambda1;
    output_loss(net, single, c.training, dlds1);
    const PhaseReport rb1 = backward_phase(net, single, dlds1, c.integrator, lambda1);
    CHECK(rb1.sample_steps[0] == rb.sample_steps[s]);
    same = true;
    for (std::size_t q = 0; q < lambda1.size(); ++q) same = same && lambda1[q] == lambda[q * B + s];
    CHECK(same);
  }
  // Too short a horizon leaves samples unsettled, and that is reported.
  IntegratorConfig short_run = c.integrator;
  short_run.t_max = 1.0;
  const PhaseReport rs = forward_phase(net, batch, short_run);
  CHECK(rs.unsettled == 9);
  // A step cap below t_max / h is reported as such.
  IntegratorConfig capped = c.integrator;
  capped.max_steps = 5;
  const PhaseReport rc = forward_phase(net, batch, capped);
  CHECK(rc.step_cap_hits == 9);
}

TEST_CASE("value ranges: clamps are counted, and the clamped elements stay in range") {
  ExperimentConfig c;
  c.network.hidden = {6};
  c.network.init_scale = 3.0;
  c.network.x_min = 0.9;
  c.network.x_max = 1.1;
  const Dataset d = random_pixels(10, 3, 6, 6);
  Network net(c, 10, 3);
  Batch batch;
  const PhaseReport r = settle_all(net, d, c.integrator, batch);
  CHECK(r.clamp_events > 0);
  CHECK(r.clamped_elements > 0);
  CHECK(batch.input_clamps > 0);  // pixels of 1 push the input neurons beyond 1.1 too
  for (double v : batch.x) {
    CHECK(v >= 0.9);
    CHECK(v <= 1.1);
  }
  // The backward phase freezes the clamped elements: their adjoint stays 0.
  std::vector<double> dlds, lambda;
  output_loss(net, batch, c.training, dlds);
  backward_phase(net, batch, dlds, c.integrator, lambda);
  for (std::size_t q = 0; q < batch.x.size(); ++q)
    if (batch.x[q] <= 0.9 || batch.x[q] >= 1.1) CHECK(lambda[q] == 0.0);
}

TEST_CASE("operating-point eigenvalues at rest are the closed-form ones") {
  ExperimentConfig c;
  c.network.hidden = {3};
  Network net(c, 4, 2);
  Dataset d;
  d.features = 4;
  d.classes = 2;
  d.pixels.assign(4, 0);  // black image: the network stays at its fixed point
  d.labels = {0};
  Batch batch;
  set_inputs(net, d.pixels.data(), 4, d.pixel_scale, {0}, d.labels.data(), batch);
  forward_phase(net, batch, c.integrator);
  const auto ev = operating_point_eigenvalues(net, 1, batch.x.data(), 0);
  CHECK(ev.size() == 5 * 5);
  double best = -1e9;
  for (const auto& v : ev) best = std::max(best, v.real());
  CHECK(best == doctest::Approx(-0.28647).epsilon(1e-4));
}

TEST_CASE("bad configurations are rejected with clear errors") {
  ExperimentConfig c;
  c.network.output_element = 7;
  CHECK_THROWS_AS(Network(c, 4, 2), std::invalid_argument);
  c = ExperimentConfig{};
  c.network.hidden = {0};
  CHECK_THROWS_AS(Network(c, 4, 2), std::invalid_argument);
}

TEST_CASE("every integrator settles the network to the same steady state") {
  ExperimentConfig c;
  c.network.hidden = {5};
  c.integrator.tol = 1e-10;
  c.integrator.t_max = 300;
  c.integrator.backward_tol = 1e-10;
  c.integrator.backward_t_max = 300;
  c.integrator.h = 0.1;
  const Dataset d = random_pixels(7, 3, 4, 21);
  Network net(c, 7, 3);
  Batch ref;
  set_all_inputs(net, d, ref);
  forward_phase(net, ref, c.integrator);
  for (const std::string method :
       {"euler", "rk4", "odeint_rk4", "odeint_heun", "dopri5", "cash_karp54", "bulirsch_stoer"}) {
    IntegratorConfig integ = c.integrator;
    integ.method = method;
    if (method == "euler") integ.h = 0.05;
    // Adaptive steppers only get the rate below tol if their local error is well below it.
    integ.rtol = 1e-12;
    integ.atol = 1e-14;
    Batch batch;
    const PhaseReport r = settle_all(net, d, integ, batch);
    INFO(method, " steps ", r.max_steps, " cap ", r.step_cap_hits);
    CHECK(r.unsettled == 0);
    double diff = 0;
    for (std::size_t q = 0; q < ref.x.size(); ++q)
      diff = std::max(diff, std::abs(ref.x[q] - batch.x[q]));
    CHECK(diff < 1e-8);
    std::vector<double> dlds, l1, l2;
    output_loss(net, batch, c.training, dlds);
    backward_phase(net, ref, dlds, c.integrator, l1);
    backward_phase(net, batch, dlds, integ, l2);
    double ldiff = 0;
    for (std::size_t q = 0; q < l1.size(); ++q) ldiff = std::max(ldiff, std::abs(l1[q] - l2[q]));
    CHECK(ldiff < 1e-7);
  }
}

TEST_CASE("hurwitz_stable agrees with the eigenvalues") {
  // Random matrices of sizes 1-9 (a stable share from the diagonal shift), and the neuron's
  // Jacobian at rest across the Hopf boundary against the circulant formula.
  Rng rng(5);
  int stable = 0, unstable = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const int m = 1 + trial % 9;
    Eigen::MatrixXd A(m, m);
    for (int p = 0; p < m; ++p)
      for (int q = 0; q < m; ++q) A(p, q) = 2.0 * rng.uniform() - 1.0;
    A.diagonal().array() -= 1.5 * rng.uniform() * std::sqrt(static_cast<double>(m));
    const double max_re = Eigen::EigenSolver<Eigen::MatrixXd>(A).eigenvalues().real().maxCoeff();
    if (std::abs(max_re) < 1e-6) continue;  // on the boundary either answer is fair
    INFO("size ", m, " max Re ", max_re);
    CHECK(detail::hurwitz_stable(A) == (max_re < 0));
    (max_re < 0 ? stable : unstable)++;
  }
  CHECK(stable > 500);
  CHECK(unstable > 500);
  const auto eq = make_equation("jiang-r1");
  for (int n : {3, 5, 7, 9})
    for (double K3 = 0.02; K3 < 0.99; K3 += 0.03) {
      const Topology topo{n, 1, 2};
      const KParams K{1.0, 0.5, K3};
      const Eigen::VectorXd x = Eigen::VectorXd::Constant(n, eq->fixed_point(K));
      double max_re = -1e300;
      for (const auto& v : eq->fixed_point_eigenvalues(topo, K))
        max_re = std::max(max_re, v.real());
      if (std::abs(max_re) < 1e-9) continue;
      INFO("n ", n, " K3 ", K3, " max Re ", max_re);
      CHECK(detail::hurwitz_stable(eq->jacobian(topo, K, x)) == (max_re < 0));
    }
}
