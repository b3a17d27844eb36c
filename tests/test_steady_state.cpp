// The forward phase by solving (integrator.forward_method: solve): the solved state against
// the integrated one, the gradients against the integrated gradients, the fallback to
// integration, and the bound the tolerance implies on real MNIST samples.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/connectivity.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/steady_state.hpp"
#include "tests/gradient_support.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using test_support::first;
using test_support::random_pixels;
using test_support::relative_error;
using test_support::settle_all;

namespace {

// Two hidden layers, uniform_random pairing (drives on every element), a narrow range so
// that elements are clamped, and integration tolerances near rounding.
ExperimentConfig clamped_config() {
  ExperimentConfig c = test_support::tight_config(Connectivity::uniform_random, "cross_entropy");
  c.seed = 3;
  c.network.hidden = {6, 5};
  c.network.init_scale = 3.0;
  c.network.x_max = 1.25;
  return c;
}

struct Phases {
  Batch batch;
  PhaseReport forward, backward;
  Gradients grads;
};

Phases run_phases(const Network& net, const Dataset& d, const ExperimentConfig& c) {
  Phases p;
  set_inputs(net, d.pixels.data(), d.features, d.pixel_scale, first(d.size()), d.labels.data(),
             p.batch);
  p.forward = forward_phase(net, p.batch, c.integrator);
  std::vector<double> dlds, lambda;
  output_loss(net, p.batch, c.training, dlds);
  p.backward = backward_phase(net, p.batch, dlds, c.integrator, lambda);
  p.grads.reset(net);
  local_gradients(net, p.batch, lambda, dlds, true, true, p.grads);
  return p;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("solve_neuron: the clamped steady state, Newton's fixed point") {
  const auto eq = make_equation("jiang-r1");
  const Topology topo{5, 1, 2};
  const KParams K{1.0, 0.5, 0.5};
  const std::size_t B = 4;
  // Drives on element 1: small, moderate, large enough to clamp the read element at 1.5,
  // and negative enough to clamp at 0.5.
  std::vector<double> u(5 * B, 0.0);
  const double drive[B] = {0.05, 0.3, 2.0, -1.5};
  for (std::size_t b = 0; b < B; ++b) u[1 * B + b] = drive[b];
  NeuronSolveOptions opt;
  opt.lo = 0.5;
  opt.hi = 1.5;
  std::vector<double> x(5 * B), G(25 * B), f(5 * B);
  std::vector<SolveOutcome> outcome(B);
  linear_start(*eq, topo, K, u.data(), B, opt, x.data());
  solve_neuron(*eq, topo, K, u.data(), B, opt, x.data(), G.data(), outcome.data());
  eq->rhs(topo, K, x.data(), u.data(), f.data(), B);
  int held = 0;
  for (std::size_t b = 0; b < B; ++b) {
    CHECK(outcome[b] == SolveOutcome::settled);
    for (int e = 0; e < 5; ++e) {
      const double xv = x[e * B + b], fv = f[e * B + b];
      CHECK(xv >= opt.lo);
      CHECK(xv <= opt.hi);
      // Complementarity: free elements at rest, held ones pushed outward.
      if (xv <= opt.lo) {
        CHECK(fv <= 0.0);
        ++held;
      } else if (xv >= opt.hi) {
        CHECK(fv >= 0.0);
        ++held;
      } else {
        CHECK(std::abs(fv) < 1e-12);
      }
    }
  }
  CHECK(held > 0);  // the large drives clamp
  // The sensitivity is the derivative of the state in the drive: a central difference.
  const double eps = 1e-6;
  for (std::size_t b = 0; b < 2; ++b) {  // the unclamped lanes
    std::vector<double> up = u, down = u, xu(5 * B), xd(5 * B), Gd(25 * B);
    up[1 * B + b] += eps;
    down[1 * B + b] -= eps;
    linear_start(*eq, topo, K, up.data(), B, opt, xu.data());
    solve_neuron(*eq, topo, K, up.data(), B, opt, xu.data(), Gd.data(), outcome.data());
    linear_start(*eq, topo, K, down.data(), B, opt, xd.data());
    solve_neuron(*eq, topo, K, down.data(), B, opt, xd.data(), Gd.data(), outcome.data());
    for (int e = 0; e < 5; ++e) {
      const double fd = (xu[e * B + b] - xd[e * B + b]) / (2 * eps);
      CHECK(std::abs(G[(e * 5 + 1) * B + b] - fd) < 1e-7);
    }
  }
}

TEST_CASE("forward_method solve: the integrated state, and the integrated gradients") {
  ExperimentConfig c = clamped_config();
  const Dataset d = random_pixels(8, 3, 7, 5);
  Network net(c, 8, 3);
  for (const BackwardMethod backward : {BackwardMethod::integrate, BackwardMethod::solve}) {
    INFO("backward_method ", std::string(option_name(backward)));
    c.integrator.backward_method = backward;
    c.integrator.forward_method = ForwardMethod::integrate;
    const Phases integrated = run_phases(net, d, c);
    c.integrator.forward_method = ForwardMethod::solve;
    const Phases solved = run_phases(net, d, c);
    REQUIRE(integrated.forward.unsettled == 0);
    REQUIRE(integrated.forward.clamped_elements > 0);
    CHECK(solved.forward.unsettled == 0);
    CHECK(solved.forward.solve_fallbacks == 0);
    CHECK(solved.forward.clamped_elements == integrated.forward.clamped_elements);
    CHECK(solved.batch.sensitivity.size() == solved.batch.x.size() * net.n());
    // The integrated state stops at max |f| < 1e-13; Newton is exact up to rounding.
    CHECK(max_abs_diff(solved.batch.x, integrated.batch.x) < 1e-10);
    CHECK(solved.backward.unsettled == 0);
    for (std::size_t l = 0; l < solved.grads.coef.size(); ++l)
      CHECK(relative_error(solved.grads.coef[l], integrated.grads.coef[l]) < 1e-8);
    std::vector<double> k_int, k_solve;
    for (std::size_t e = 0; e < solved.grads.K.size(); ++e)
      for (int m = 0; m < 3; ++m) {
        k_int.push_back(integrated.grads.K[e][m]);
        k_solve.push_back(solved.grads.K[e][m]);
      }
    CHECK(relative_error(k_solve, k_int) < 1e-8);
  }
}

TEST_CASE("a solved state that is not stable is integrated instead, and counted") {
  // K3 / K1 = 0.1 is below the Hopf boundary (0.1459): the fixed point and the states near it
  // are oscillators. Newton finds them anyway; the stability check must refuse them.
  ExperimentConfig c;
  c.seed = 1;
  c.model.K3 = 0.1;
  c.network.hidden = {};
  c.network.connectivity = Connectivity::fixed;
  c.network.init_scale = 0.1;
  c.integrator.h = 0.1;
  c.integrator.t_max = 20;
  c.integrator.tol = 1e-6;
  c.integrator.forward_method = ForwardMethod::solve;
  const Dataset d = random_pixels(6, 3, 5, 2);
  Network net(c, 6, 3);
  Batch batch;
  const PhaseReport r = settle_all(net, d, c.integrator, batch);
  CHECK(r.solve_fallbacks == 5);
  CHECK(r.solve_unstable == 5);
  CHECK(r.unsettled == 5);  // the oscillation does not settle when integrated either
  CHECK(std::count(batch.solved.begin(), batch.solved.end(), 0) == 5);
}

TEST_CASE("MNIST test samples: the solved state is the integrated one within the tolerance bound") {
  // An untrained 784-100-10 network at the specs' tolerance (tol 1e-4, h 0.2), in the default
  // range [0, 4] (with its fold) and the band [0.5, 1.5]. Where integration settles, a
  // neuron's integrated state lies within |G| (tol + sum |c| err(pre)) of the solved one
  // (first order; G = -(J_FF)^-1 per neuron, err(pre) the same bound one layer down).
  const auto dir = default_data_dir(DatasetKind::mnist);
  if (!std::filesystem::exists(dir / "t10k-images-idx3-ubyte"))
    FAIL("MNIST is missing at " << dir << ": run scripts/setup");
  DataConfig dc;
  dc.train_size = 1;
  dc.test_size = 400;
  const DatasetSplit data = load_dataset(dc, 0);
  for (const auto& range : {std::pair{0.0, 4.0}, std::pair{0.5, 1.5}}) {
    ExperimentConfig c;
    c.network.hidden = {100};
    c.network.connectivity = Connectivity::fixed;
    c.network.x_min = range.first;
    c.network.x_max = range.second;
    c.integrator.h = 0.2;
    c.integrator.t_max = 100;
    c.integrator.tol = 1e-4;
    Network net(c, 784, 10);
    const Dataset& t = data.test;
    Batch integrated, solved;
    set_inputs(net, t.pixels.data(), t.features, t.pixel_scale, first(t.size()), t.labels.data(),
               integrated);
    solved = integrated;
    const PhaseReport ri = forward_phase(net, integrated, c.integrator);
    c.integrator.forward_method = ForwardMethod::solve;
    const PhaseReport rs = forward_phase(net, solved, c.integrator);
    const std::size_t B = t.size();
    const int n = net.n();
    std::size_t compared = 0;
    double worst = 0.0;  // largest |difference| / bound
    for (std::size_t b = 0; b < B; ++b) {
      if (!ri.sample_settled[b] || !solved.solved[b]) continue;
      ++compared;
      double err_pre = 0.0;  // bound on the previous layer's signals (inputs: exact)
      std::size_t block = 0;
      for (int l = 1; l < net.layer_count(); ++l) {
        const ConnectionSet& cs = net.connections(l);
        double err_layer = 0.0;
        for (int i = 0; i < net.layer_size(l); ++i, ++block) {
          double drive_err = 0.0;
          for (int q = cs.post_start[i]; q < cs.post_start[i + 1]; ++q)
            drive_err += std::abs(cs.coef[q]) * err_pre;
          double gnorm = 0.0;  // infinity norm of G
          for (int r = 0; r < n; ++r) {
            double row = 0.0;
            for (int q = 0; q < n; ++q)
              row += std::abs(solved.sensitivity[((block * n + r) * n + q) * B + b]);
            gnorm = std::max(gnorm, row);
          }
          const double bound = gnorm * (c.integrator.tol + drive_err);
          for (int e = 0; e < n; ++e) {
            const std::size_t at = (block * n + e) * B + b;
            const double diff = std::abs(integrated.x[at] - solved.x[at]);
            worst = std::max(worst, diff / bound);
          }
          err_layer = std::max(err_layer, bound);
        }
        err_pre = err_layer;
      }
    }
    MESSAGE("range [", range.first, ", ", range.second, "]: ", compared, " of ", B,
            " samples settled in both; integration unsettled ", ri.unsettled, ", solve fallbacks ",
            rs.solve_fallbacks, "; worst |difference| / bound ", worst);
    CHECK(compared > B / 2);
    CHECK(worst <= 1.0);
  }
}

TEST_CASE("forward_method table: the solved state and sensitivities, within the documented error") {
  // fixed pairing: every neuron is driven on one element, so its response is tabulated. In
  // the band, large weights so that the clamps engage; in [0, 4], weights that keep the drives
  // above the fold. (Below it a neuron collapses to x = 0 = x_min with f = 0 on the undriven
  // elements, a degenerate state at the bound: there table and solve can differ in whether
  // such an element counts as clamped, and G is large.)
  for (const auto& [lo, hi, scale] : {std::tuple{0.0, 4.0, 0.7}, std::tuple{0.5, 1.5, 2.0}}) {
    const std::pair range{lo, hi};
    ExperimentConfig c;
    c.seed = 4;
    c.network.hidden = {12};
    c.network.connectivity = Connectivity::fixed;
    c.network.init_scale = scale;
    c.network.x_min = range.first;
    c.network.x_max = range.second;
    c.integrator.forward_method = ForwardMethod::solve;
    c.integrator.backward_method = BackwardMethod::solve;
    const Dataset d = random_pixels(30, 4, 64, 8);
    Network net(c, 30, 4);
    const Phases solved = run_phases(net, d, c);
    c.integrator.forward_method = ForwardMethod::table;
    const Phases tabled = run_phases(net, d, c);
    INFO("range [", range.first, ", ", range.second, "]");
    CHECK(tabled.forward.unsettled == solved.forward.unsettled);
    CHECK(tabled.forward.clamped_elements == solved.forward.clamped_elements);
    // Cubic Hermite with exact slopes at step 1e-3: the state to O(step^4).
    const double dx = max_abs_diff(tabled.batch.x, solved.batch.x);
    // Linear interpolation of G: O(step^2); documented bound 5e-5 of its size at step 1e-3.
    const double dG = relative_error(tabled.batch.sensitivity, solved.batch.sensitivity);
    MESSAGE("table vs solve: max |dx| ", dx, ", max |dG| / max |G| ", dG);
    CHECK(dx < 1e-10);
    CHECK(dG < 5e-5);
    for (std::size_t l = 0; l < solved.grads.coef.size(); ++l)
      CHECK(relative_error(tabled.grads.coef[l], solved.grads.coef[l]) < 1e-5);
  }
}
