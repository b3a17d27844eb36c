// Shared by the gradient tests (test_gradients.cpp, test_bptt.cpp): a tightly settled small
// network, its settled loss, its local-rule gradients, and a relative error over a block.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/base/random.hpp"
#include "framework/learning/adjoint.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/loss.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "tests/model_support.hpp"

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

inline std::vector<std::size_t> all_of(const Dataset& d) { return first(d.size()); }

inline double settled_loss(const Network& net, const Dataset& d, const ExperimentConfig& c) {
  Batch batch;
  set_all_inputs(net, d, batch);
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
  set_all_inputs(net, d, batch, K && net.inputs_trainable());
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

// (loss(p + eps) - loss(p - eps)) / (2 eps), with p left as it was: the finite difference
// every gradient test compares against.
template <class Loss>
double central_difference(double& p, double eps, Loss&& loss) {
  const double keep = p;
  p = keep + eps;
  const double up = loss();
  p = keep - eps;
  const double down = loss();
  p = keep;
  return (up - down) / (2 * eps);
}

// The finite differences of the settled loss in each connection coefficient of layer l.
inline std::vector<double> coef_differences(Network& net, int l, const Dataset& d,
                                            const ExperimentConfig& c, double eps) {
  auto& coef = net.connections(l).coef;
  std::vector<double> fd(coef.size());
  for (std::size_t i = 0; i < coef.size(); ++i)
    fd[i] = central_difference(coef[i], eps, [&] { return settled_loss(net, d, c); });
  return fd;
}

// Spreads the K's so that each neuron differs (and K2 != its default).
inline void spread_k(Network& net, std::uint64_t seed) {
  Rng rng(seed);
  for (auto& K : net.k_table()) {
    K.K1 = 1.0 + 0.2 * rng.uniform();
    K.K2 = 0.5 + 0.2 * rng.uniform();
    K.K3 = 0.45 + 0.1 * rng.uniform();
  }
}

// K(m + 1) of every K-table entry: the analytic gradient g and the finite differences of the
// settled loss, side by side.
struct KComparison {
  std::vector<double> analytic, fd;
};
inline KComparison compare_k(Network& net, const Dataset& d, const ExperimentConfig& c,
                             const Gradients& g, int m) {
  KComparison out;
  for (std::size_t e = 0; e < net.k_table().size(); ++e) {
    KParams& K = net.k_table()[e];
    double& p = m == 0 ? K.K1 : m == 1 ? K.K2 : K.K3;
    out.fd.push_back(central_difference(p, 1e-5, [&] { return settled_loss(net, d, c); }));
    out.analytic.push_back(g.K[e][m]);
  }
  return out;
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
