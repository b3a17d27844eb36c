// training.unsettled_policy (framework/learning/unsettled.*): exclude_element keeps an
// unsettled sample in the gradient and holds its still-moving elements as constants.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "framework/learning/adjoint.hpp"
#include "framework/learning/loss.hpp"
#include "framework/learning/training.hpp"
#include "framework/learning/unsettled.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using test_support::first;
using test_support::random_pixels;
using test_support::settle_all;

namespace {

// A forward phase cut short (t_max) so that some samples have not settled.
ExperimentConfig short_config(double t_max) {
  ExperimentConfig c;
  c.seed = 3;
  c.network.hidden = {4};
  c.network.connectivity = Connectivity::uniform_random;
  c.network.init_scale = 1.5;
  c.integrator.h = 0.1;
  c.integrator.t_max = t_max;
  c.integrator.tol = 1e-4;
  c.integrator.backward_t_max = 400;
  c.integrator.backward_tol = 1e-12;
  c.training.batch_size = 8;
  return c;
}

// The first horizon of a fixed list at which some samples of the batch have settled and some
// have not, and the unsettled ones still have settled elements (so that holding only the
// moving ones differs from dropping the sample).
double mixed_horizon(const Dataset& d) {
  for (double t_max : {4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0}) {
    const ExperimentConfig c = short_config(t_max);
    Network net(c, 6, 3);
    Batch batch;
    const PhaseReport f = settle_all(net, d, c.integrator, batch);
    if (f.unsettled == 0 || f.unsettled == 8) continue;
    std::vector<char> held, usable;
    const auto count =
        detail::hold_slow_elements(net, batch, f.sample_settled, c.integrator.tol, held, usable);
    if (count > 0 && count < f.unsettled * static_cast<std::int64_t>(held.size() / 8)) return t_max;
  }
  return 0.0;
}

}  // namespace

TEST_CASE("hold_slow_elements marks exactly the moving elements of unsettled samples") {
  const Dataset d = random_pixels(6, 3, 8, 5);
  const double t_max = mixed_horizon(d);
  REQUIRE(t_max > 0.0);
  const ExperimentConfig c = short_config(t_max);
  Network net(c, 6, 3);
  Batch batch;
  const PhaseReport f = settle_all(net, d, c.integrator, batch);
  INFO("t_max ", t_max, ": unsettled ", f.unsettled, " of 8");
  REQUIRE(f.unsettled > 0);
  std::vector<char> held, usable;
  const auto count =
      detail::hold_slow_elements(net, batch, f.sample_settled, c.integrator.tol, held, usable);
  std::vector<double> rate(held.size());
  network_rhs(net, batch, batch.x.data(), rate.data());
  std::int64_t marked = 0;
  for (std::size_t q = 0; q < held.size(); ++q) {
    const std::size_t b = q % batch.B;
    marked += held[q];
    if (f.sample_settled[b]) CHECK(held[q] == 0);
    if (held[q]) CHECK(std::abs(rate[q]) >= c.integrator.tol);
    if (!f.sample_settled[b] && !held[q] && batch.x[q] > c.network.x_min &&
        batch.x[q] < c.network.x_max)
      CHECK(std::abs(rate[q]) < c.integrator.tol);
  }
  CHECK(marked == count);
  CHECK(count > 0);
  for (std::size_t b = 0; b < batch.B; ++b) CHECK(usable[b] == 1);  // every end state finite

  // The backward phase treats held elements as constants: lambda 0 there, and the integrated
  // and the solved adjoint agree (the same fixed point of the masked system).
  std::vector<double> dlds, l_int, l_solve;
  output_loss(net, batch, c.training, dlds);
  const PhaseReport bi = backward_phase(net, batch, dlds, c.integrator, l_int, &held);
  IntegratorConfig solve = c.integrator;
  solve.backward_method = BackwardMethod::solve;
  const PhaseReport bs = backward_phase(net, batch, dlds, solve, l_solve, &held);
  CHECK(bi.unsettled == 0);
  CHECK(bs.unsettled == 0);
  double diff = 0.0, scale = 0.0;
  for (std::size_t q = 0; q < held.size(); ++q) {
    if (held[q]) {
      CHECK(l_int[q] == 0.0);
      CHECK(l_solve[q] == 0.0);
    }
    diff = std::max(diff, std::abs(l_int[q] - l_solve[q]));
    scale = std::max(scale, std::abs(l_solve[q]));
  }
  REQUIRE(scale > 0.0);
  CHECK(diff / scale < 1e-8);
}

TEST_CASE("exclude_element keeps unsettled samples; with every sample settled it changes nothing") {
  const Dataset d = random_pixels(6, 3, 8, 5);
  const double horizon = mixed_horizon(d);
  REQUIRE(horizon > 0.0);
  auto run = [&](UnsettledPolicy policy, double t_max, Gradients& g) {
    ExperimentConfig c = short_config(t_max);
    c.training.unsettled_policy = policy;
    Trainer trainer(c, 6, 3, WuxingRule{});  // the connection rule
    return trainer.gradient(d, first(8), g);
  };
  Gradients by_sample, by_element;
  const BatchStats s = run(UnsettledPolicy::exclude_sample, horizon, by_sample);
  const BatchStats e = run(UnsettledPolicy::exclude_element, horizon, by_element);
  REQUIRE(s.forward.unsettled > 0);
  CHECK(s.excluded == s.forward.unsettled);
  CHECK(s.held == 0);
  CHECK(e.held > 0);
  CHECK(e.excluded < s.excluded);
  CHECK(by_element.coef[0] != by_sample.coef[0]);

  // Long enough for every sample to settle: the two policies give the same bits.
  Gradients a, b;
  const BatchStats sa = run(UnsettledPolicy::exclude_sample, 400, a);
  const BatchStats sb = run(UnsettledPolicy::exclude_element, 400, b);
  REQUIRE(sa.forward.unsettled == 0);
  CHECK(sb.held == 0);
  for (std::size_t l = 0; l < a.coef.size(); ++l) CHECK(a.coef[l] == b.coef[l]);
}
