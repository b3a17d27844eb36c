// bptt: exact for the fixed-step network (finite differences), and converging to the local
// rule's gradient as the unrolled horizon grows, for both readouts. MODEL.md sections 5-6.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "framework/learning/bptt.hpp"
#include "tests/gradient_support.hpp"
#include "tests/model_support.hpp"

using namespace wuxing;
using namespace test_support;

TEST_CASE("bptt converges to the local gradient as the unrolled horizon grows") {
  for (const Readout readout : {Readout::state, Readout::drive}) {
    INFO("network.readout ", std::string(option_name(readout)));
    ExperimentConfig c = tight_config(Connectivity::uniform_random, "cross_entropy");
    c.network.readout = readout;
    const Dataset d = random_pixels(6, 3, 5, 14);
    Network net(c, 6, 3);
    const Gradients g = local(net, d, c, true, true);
    std::vector<double> errors;
    for (std::int64_t T : {100, 200, 400, 800}) {
      Batch batch;
      set_all_inputs(net, d, batch);
      Gradients gb;
      gb.reset(net);
      bptt_gradients(net, batch, c.integrator, c.training, T, gb);
      std::vector<double> a, b;
      for (std::size_t l = 0; l < g.coef.size(); ++l) {
        a.insert(a.end(), g.coef[l].begin(), g.coef[l].end());
        b.insert(b.end(), gb.coef[l].begin(), gb.coef[l].end());
      }
      for (std::size_t e = 0; e < g.K.size(); ++e)
        for (int m = 0; m < 3; ++m) {
          a.push_back(g.K[e][m]);
          b.push_back(gb.K[e][m]);
        }
      errors.push_back(relative_error(b, a));
      MESSAGE("bptt T = ", T, " (t = ", T * c.integrator.h, "): relative error ", errors.back());
    }
    for (std::size_t i = 1; i < errors.size(); ++i) CHECK(errors[i] < errors[i - 1]);
    CHECK(errors.front() >
          1e-2);  // a short horizon (t = 10) is visibly not the steady-state gradient
    CHECK(errors.back() < 1e-6);
  }
}

TEST_CASE("bptt gradient equals finite differences of the discretised network") {
  for (const Readout readout : {Readout::state, Readout::drive}) {
    // bptt is exact for the fixed-step network even far from steady state (T = 30 steps).
    INFO("network.readout ", std::string(option_name(readout)));
    ExperimentConfig c = tight_config(Connectivity::fixed, "cross_entropy");
    c.network.readout = readout;
    c.integrator.h = 0.2;
    const Dataset d = random_pixels(6, 3, 4, 15);
    Network net(c, 6, 3);
    const std::int64_t T = 30;
    auto loss_T = [&] {
      Batch batch;
      set_all_inputs(net, d, batch);
      Gradients unused;
      unused.reset(net);
      const auto loss = bptt_gradients(net, batch, c.integrator, c.training, T, unused);
      double sum = 0;
      for (double v : loss) sum += v;
      return sum / loss.size();
    };
    Batch batch;
    set_all_inputs(net, d, batch);
    Gradients g;
    g.reset(net);
    bptt_gradients(net, batch, c.integrator, c.training, T, g);
    auto& coef = net.connections(2).coef;
    std::vector<double> fd(coef.size());
    for (std::size_t i = 0; i < coef.size(); ++i) fd[i] = central_difference(coef[i], 1e-5, loss_T);
    CHECK(relative_error(g.coef[1], fd) < 1e-6);
    std::vector<double> kfd, ka;
    for (std::size_t e = 0; e < net.k_table().size(); ++e) {
      kfd.push_back(central_difference(net.k_table()[e].K3, 1e-5, loss_T));
      ka.push_back(g.K[e][2]);
    }
    CHECK(relative_error(ka, kfd) < 1e-6);
  }
}
