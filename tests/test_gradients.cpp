// The local rules' gradients against central finite differences of the settled loss
// (bptt against them: test_bptt.cpp). MODEL.md sections 5-6.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/bptt.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/learning/mlp.hpp"
#include "framework/model/connectivity.hpp"
#include "framework/model/fields.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/operating_point.hpp"
#include "tests/gradient_support.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using test_support::random_pixels;
using namespace test_support;

namespace {
void check_connection_gradient(Connectivity connectivity, const std::string& loss,
                               BackwardMethod backward_method = BackwardMethod::integrate,
                               Readout readout = Readout::state) {
  ExperimentConfig c = tight_config(connectivity, loss);
  c.integrator.backward_method = backward_method;
  c.network.readout = readout;
  const Dataset d = random_pixels(6, 3, 5, 11);
  Network net(c, 6, 3);
  PhaseReport f, b;
  const Gradients g = local(net, d, c, true, false, &f, &b);
  CHECK(f.unsettled == 0);
  CHECK(b.unsettled == 0);
  CHECK(f.clamp_events == 0);
  for (int l = 1; l < net.layer_count(); ++l) {
    const double err = relative_error(g.coef[l - 1], coef_differences(net, l, d, c, 1e-5));
    INFO(std::string(option_name(connectivity)), " ", loss, " ",
         std::string(option_name(backward_method)), " ", std::string(option_name(readout)),
         " layer ", l, " relative error ", err);
    CHECK(err < 1e-4);
  }
}

// Spreads the K's (seeded) and checks the local rule's K1, K2 and K3 gradients against finite
// differences; `also(m, g, kc)` adds the case's own checks for each of them.
template <class Also>
void check_k_gradients(Network& net, const Dataset& d, const ExperimentConfig& c,
                       std::uint64_t seed, const std::string& label, Also&& also) {
  spread_k(net, seed);
  const Gradients g = local(net, d, c, false, true);
  for (int m = 0; m < 3; ++m) {
    const KComparison kc = compare_k(net, d, c, g, m);
    const double err = relative_error(kc.analytic, kc.fd);
    INFO(label, "K", m + 1, " relative error ", err);
    CHECK(err < 1e-4);
    also(m, g, kc);
  }
}

}  // namespace

TEST_CASE("connection gradient equals finite differences of the settled loss") {
  check_connection_gradient(Connectivity::uniform_random, "cross_entropy");
  check_connection_gradient(Connectivity::fixed, "cross_entropy");
  check_connection_gradient(Connectivity::uniform_random, "mse");
}

TEST_CASE("backward_method solve: the adjoint's fixed point directly, same gradients") {
  check_connection_gradient(Connectivity::uniform_random, "cross_entropy", BackwardMethod::solve);
  check_connection_gradient(Connectivity::fixed, "mse", BackwardMethod::solve);
  // Against the integrated adjoint, with clamped elements and two hidden layers: the solve
  // must give what the ODE settles to (tol 1e-13), for the coefficients and the K's.
  ExperimentConfig c = tight_config(Connectivity::uniform_random, "cross_entropy");
  c.network.hidden = {4, 3};
  c.network.init_scale = 3.0;
  c.network.x_max = 1.25;
  const Dataset d = random_pixels(6, 3, 5, 19);
  Network net(c, 6, 3);
  PhaseReport f, b_int, b_solve;
  const Gradients g_int = local(net, d, c, true, true, &f, &b_int);
  REQUIRE(f.clamped_elements > 0);
  c.integrator.backward_method = BackwardMethod::solve;
  const Gradients g_solve = local(net, d, c, true, true, nullptr, &b_solve);
  CHECK(b_int.unsettled == 0);
  CHECK(b_solve.unsettled == 0);
  CHECK(b_solve.steps_total == 0);
  for (std::size_t l = 0; l < g_int.coef.size(); ++l)
    CHECK(relative_error(g_solve.coef[l], g_int.coef[l]) < 1e-9);
  std::vector<double> k_int, k_solve;
  for (std::size_t e = 0; e < g_int.K.size(); ++e)
    for (int m = 0; m < 3; ++m) {
      k_int.push_back(g_int.K[e][m]);
      k_solve.push_back(g_solve.K[e][m]);
    }
  CHECK(relative_error(k_solve, k_int) < 1e-9);
}

TEST_CASE("network.readout drive: the gradients of a linear readout equal finite differences") {
  for (const BackwardMethod backward : {BackwardMethod::integrate, BackwardMethod::solve}) {
    check_connection_gradient(Connectivity::uniform_random, "cross_entropy", backward,
                              Readout::drive);
    check_connection_gradient(Connectivity::fixed, "mse", backward, Readout::drive);
  }
  // The K's of every layer: the hidden ones through the drive's x* terms and their own
  // equations; the output neurons' K's do not enter the loss (finite differences say 0).
  ExperimentConfig c = tight_config(Connectivity::fixed, "cross_entropy");
  c.network.readout = Readout::drive;
  c.network.hidden = {4, 3};
  c.integrator.forward_method = ForwardMethod::solve;  // the adjoint from the solve's sensitivities
  c.integrator.backward_method = BackwardMethod::solve;
  const Dataset d = random_pixels(6, 3, 5, 29);
  Network net(c, 6, 3);
  check_k_gradients(net, d, c, 5, "", [&](int m, const Gradients& g, const KComparison&) {
    for (int k = 0; k < 3; ++k) CHECK(g.K[net.k_entry(3, k)][m] == 0.0);
  });
}

TEST_CASE("backward_method solve reports an unstable operating point as unsettled, as the ODE") {
  // K3 / K1 = 0.05 is below the n = 5 Hopf boundary (0.146): the resting state is unstable,
  // the forward phase oscillates, and the linearised adjoint grows instead of settling.
  ExperimentConfig c = tight_config(Connectivity::fixed, "cross_entropy");
  c.model.K3 = 0.05;
  c.integrator.t_max = 5;
  c.integrator.backward_t_max = 50;
  c.integrator.backward_tol = 1e-6;
  const Dataset d = random_pixels(6, 3, 4, 23);
  Network net(c, 6, 3);
  PhaseReport f, b_int, b_solve;
  local(net, d, c, true, false, &f, &b_int);
  c.integrator.backward_method = BackwardMethod::solve;
  local(net, d, c, true, false, nullptr, &b_solve);
  CHECK(b_int.unsettled == 4);
  CHECK(b_solve.unsettled == 4);
}

TEST_CASE("fixed_point gradient (K1, K2, K3 per neuron) equals finite differences") {
  for (const Connectivity conn : {Connectivity::uniform_random, Connectivity::fixed}) {
    ExperimentConfig c = tight_config(conn, "cross_entropy");
    // The input neurons' K's too (their entries follow the integrated layers' in the table).
    c.model.input_sharing = InputSharing::per_neuron;
    const Dataset d = random_pixels(6, 3, 5, 12);
    Network net(c, 6, 3);
    const std::string label = std::string(option_name(conn)) + " ";
    check_k_gradients(net, d, c, 3, label, [&](int m, const Gradients&, const KComparison& kc) {
      // The input entries on their own scale, so that a wrong but small input gradient fails.
      const auto first_input = static_cast<std::ptrdiff_t>(net.k_entry(0, 0));
      const double err_in =
          relative_error(std::vector<double>(kc.analytic.begin() + first_input, kc.analytic.end()),
                         std::vector<double>(kc.fd.begin() + first_input, kc.fd.end()));
      INFO(label, "input K", m + 1, " relative error ", err_in);
      CHECK(err_in < 1e-4);
    });
  }
}

TEST_CASE("K gradients with shared and per_layer K's sum over the sharing neurons") {
  for (const Sharing sharing : {Sharing::shared, Sharing::per_layer}) {
    ExperimentConfig c = tight_config(Connectivity::uniform_random, "mse");
    c.model.sharing = sharing;
    c.model.input_sharing = InputSharing::shared;
    const Dataset d = random_pixels(6, 3, 4, 13);
    Network net(c, 6, 3);
    const Gradients g = local(net, d, c, false, true);
    for (std::size_t e = 0; e < net.k_table().size(); ++e) {
      const double fd =
          central_difference(net.k_table()[e].K3, 1e-5, [&] { return settled_loss(net, d, c); });
      INFO(std::string(option_name(sharing)), " entry ", e, " analytic ", g.K[e][2], " fd ", fd);
      CHECK(std::abs(g.K[e][2] - fd) < 1e-4 * std::abs(fd) + 1e-9);
    }
  }
}

TEST_CASE("mlp_backprop gradients equal finite differences") {
  for (const MlpActivation act :
       {MlpActivation::tanh, MlpActivation::sigmoid, MlpActivation::hard_tanh})
    for (const char* loss : {"cross_entropy", "mse"}) {
      ExperimentConfig c;
      c.network.hidden = {5, 4};
      c.training.mlp_activation = act;
      c.training.loss = loss;
      const Dataset d = random_pixels(6, 3, 7, 16);
      Mlp mlp(c, 6, 3);
      const Eigen::MatrixXd X = batch_matrix(d, all_of(d));
      std::vector<int> y(d.labels.begin(), d.labels.end());
      std::vector<Eigen::MatrixXd> gW;
      std::vector<Eigen::VectorXd> gb;
      mlp.gradient(X, y, gW, gb);
      std::vector<int> pred;
      for (std::size_t l = 0; l < mlp.W.size(); ++l) {
        std::vector<double> a, fd;
        // Central differences over one parameter block, next to its analytic gradient.
        auto block = [&](double* params, const double* grad, Eigen::Index size) {
          for (Eigen::Index i = 0; i < size; ++i) {
            fd.push_back(
                central_difference(params[i], 1e-6, [&] { return mlp.evaluate(X, y, pred); }));
            a.push_back(grad[i]);
          }
        };
        block(mlp.W[l].data(), gW[l].data(), mlp.W[l].size());
        block(mlp.b[l].data(), gb[l].data(), mlp.b[l].size());
        INFO(std::string(option_name(act)), " ", loss, " layer ", l);
        CHECK(relative_error(a, fd) < 1e-6);
      }
    }
}

TEST_CASE("with clamped elements the gradients are exact for the clamped system") {
  // A tight upper range holds some elements at x_max; they are constants of the clamped
  // system, the forward phase must still settle (projected Heun stages), and both the
  // adjoint gradient and bptt must match finite differences.
  ExperimentConfig c = tight_config(Connectivity::fixed, "cross_entropy");
  c.network.init_scale = 3.0;
  c.network.x_max = 1.25;
  const Dataset d = random_pixels(6, 3, 5, 17);
  Network net(c, 6, 3);
  PhaseReport f, b;
  const Gradients g = local(net, d, c, true, true, &f, &b);
  REQUIRE(f.clamped_elements > 0);
  CHECK(f.unsettled == 0);
  CHECK(b.unsettled == 0);
  for (int l = 1; l < net.layer_count(); ++l) {
    const double err = relative_error(g.coef[l - 1], coef_differences(net, l, d, c, 1e-6));
    INFO("layer ", l, " relative error ", err, " clamped elements ", f.clamped_elements);
    CHECK(err < 1e-4);
  }
  // bptt over a long horizon reaches the same gradient.
  Batch batch;
  set_all_inputs(net, d, batch);
  Gradients gb;
  gb.reset(net);
  PhaseReport rb;
  bptt_gradients(net, batch, c.integrator, c.training, 1500, gb, &rb);
  CHECK(rb.clamp_events > 0);
  for (std::size_t l = 0; l < g.coef.size(); ++l)
    CHECK(relative_error(gb.coef[l], g.coef[l]) < 1e-5);
}

TEST_CASE("a neuron held at the upper bound settles (projected Heun stages)") {
  // Regression: with the plain stages the second stage saw x beyond x_max and the other
  // elements never came to rest.
  ExperimentConfig c;
  c.network.connectivity = Connectivity::fixed;
  c.network.init_scale = 1.0;
  c.integrator.h = 0.2;
  c.integrator.tol = 1e-8;
  c.integrator.t_max = 200;
  Network net(c, 1, 1);
  net.connections(1).coef[0] = 20.0;  // pixel 1 -> a drive far beyond the clamp onset
  Dataset d;
  d.features = 1;
  d.classes = 1;
  d.pixels = {255};
  d.labels = {0};
  Batch batch;
  set_inputs(net, d.pixels.data(), 1, d.pixel_scale, {0}, d.labels.data(), batch);
  const PhaseReport r = forward_phase(net, batch, c.integrator);
  CHECK(r.clamped_elements > 0);
  CHECK(r.unsettled == 0);
}

TEST_CASE("a sample the forward solve left to integration gets the same adjoint by factorisation") {
  // backward_phase takes the sensitivities of solved samples and factorises the others; on
  // the same settled state both must give one lambda, whatever the readout.
  for (const Readout readout : {Readout::state, Readout::drive}) {
    ExperimentConfig c = tight_config(Connectivity::fixed, "cross_entropy");
    c.network.readout = readout;
    c.network.hidden = {4, 3};
    c.integrator.forward_method = ForwardMethod::solve;
    c.integrator.backward_method = BackwardMethod::solve;
    const Dataset d = random_pixels(6, 3, 6, 31);
    Network net(c, 6, 3);
    Batch batch;
    set_all_inputs(net, d, batch);
    REQUIRE(forward_phase(net, batch, c.integrator).unsettled == 0);
    std::vector<double> dlds, from_sensitivity, mixed;
    output_loss(net, batch, c.training, dlds);
    backward_phase(net, batch, dlds, c.integrator, from_sensitivity);
    for (std::size_t b = 0; b < batch.B; b += 2) batch.solved[b] = 0;  // as if integrated
    const PhaseReport r = backward_phase(net, batch, dlds, c.integrator, mixed);
    CHECK(r.unsettled == 0);
    double diff = 0.0, scale = 0.0;
    for (std::size_t q = 0; q < mixed.size(); ++q) {
      diff = std::max(diff, std::abs(mixed[q] - from_sensitivity[q]));
      scale = std::max(scale, std::abs(from_sensitivity[q]));
    }
    INFO(std::string(option_name(readout)), ": max |difference| ", diff, " of ", scale);
    REQUIRE(scale > 0.0);
    CHECK(diff / scale < 1e-9);
  }
}
