// Shared by the gradient tests (test_gradients.cpp, test_bptt.cpp): a tightly settled small
// network, its settled loss, its local-rule gradients, and a relative error over a block.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"

namespace wuxing::test_support {

inline ExperimentConfig tight_config(Connectivity connectivity, const std::string& loss) {
  ExperimentConfig c;
  c.seed = 7;
  c.network.hidden = {4};
  c.network.connectivity = connectivity;
  c.network.init_scale = 0.8;
  c.integrator.h = 0.1;
  c.integrator.t_max = 400;
  c.integrator.tol = 1e-13;
  c.integrator.backward_t_max = 400;
  c.integrator.backward_tol = 1e-13;
  c.integrator.max_steps = 100000;
  c.training.loss = loss;
  return c;
}

inline std::vector<std::size_t> all_of(const Dataset& d) {
  std::vector<std::size_t> idx(d.size());
  for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  return idx;
}

inline double settled_loss(const Network& net, const Dataset& d, const ExperimentConfig& c) {
  Batch batch;
  set_inputs(net, d.pixels.data(), d.features, d.pixel_scale, all_of(d), d.labels.data(), batch);
  const PhaseReport r = forward_phase(net, batch, c.integrator);
  REQUIRE(r.unsettled == 0);
  std::vector<double> dlds;
  const auto loss = output_loss(net, batch, c.training, dlds);
  double sum = 0.0;
  for (double v : loss) sum += v;
  return sum / loss.size();
}

inline Gradients local(const Network& net, const Dataset& d, const ExperimentConfig& c, bool coef,
                       bool K, PhaseReport* fwd = nullptr, PhaseReport* bwd = nullptr) {
  Batch batch;
  set_inputs(net, d.pixels.data(), d.features, d.pixel_scale, all_of(d), d.labels.data(), batch,
             K && net.inputs_trainable());
  PhaseReport f = forward_phase(net, batch, c.integrator);
  std::vector<double> dlds, lambda;
  output_loss(net, batch, c.training, dlds);
  PhaseReport b = backward_phase(net, batch, dlds, c.integrator, lambda);
  if (fwd) *fwd = f;
  if (bwd) *bwd = b;
  Gradients g;
  g.reset(net);
  local_gradients(net, batch, lambda, dlds, coef, K, g);
  return g;
}

// max |g - fd| / max |fd| over a parameter block.
inline double relative_error(const std::vector<double>& g, const std::vector<double>& fd) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    diff = std::max(diff, std::abs(g[i] - fd[i]));
    scale = std::max(scale, std::abs(fd[i]));
  }
  REQUIRE(scale > 1e-8);  // a vanishing gradient would make the check meaningless
  return diff / scale;
}

}  // namespace wuxing::test_support
