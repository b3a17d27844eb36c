// Small fixtures shared by the model and data tests (test_network, test_gradients,
// test_steady_state, test_data, ...).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "framework/base/data.hpp"
#include "framework/model/connectivity.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/network.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing::test_support {

// `samples` samples of `features` uniformly random pixel bytes (seeded), labels cycling
// through the classes.
inline Dataset random_pixels(int features, int classes, int samples, std::uint64_t seed) {
  Dataset d;
  d.features = features;
  d.classes = classes;
  d.pixel_scale = 1.0 / 255.0;
  Rng rng(seed);
  for (int s = 0; s < samples * features; ++s)
    d.pixels.push_back(static_cast<std::uint8_t>(rng.below(256)));
  for (int s = 0; s < samples; ++s) d.labels.push_back(static_cast<std::uint8_t>(s % classes));
  return d;
}

// The synthetic data set's configuration: train_size / test_size samples of `features`
// pixels in `classes` classes.
inline DataConfig synthetic_data(int train_size, int test_size, int features, int classes) {
  DataConfig config;
  config.dataset = DatasetKind::synthetic;
  config.train_size = train_size;
  config.test_size = test_size;
  config.synthetic_features = features;
  config.synthetic_classes = classes;
  return config;
}

// The indices 0 .. n-1.
inline std::vector<std::size_t> first(std::size_t n) {
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  return idx;
}

// set_inputs for every sample of d, in order.
inline void set_all_inputs(const Network& net, const Dataset& d, Batch& batch,
                           bool input_sensitivity = false) {
  set_inputs(net, d.pixels.data(), d.features, d.pixel_scale, first(d.size()), d.labels.data(),
             batch, input_sensitivity);
}

// The forward phase on every sample of d, settled into `batch`: its report.
inline PhaseReport settle_all(const Network& net, const Dataset& d,
                              const IntegratorConfig& integrator, Batch& batch) {
  set_all_inputs(net, d, batch);
  return forward_phase(net, batch, integrator);
}

// `size` values uniform in [lo, hi) from rng.
inline std::vector<double> random_vector(std::mt19937_64& rng, std::size_t size, double lo,
                                         double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(size);
  for (double& e : v) e = dist(rng);
  return v;
}

// A random batch to check an equation's kernels against central differences of its rhs: B
// samples (element-major) of states x in [0.1, 3], drives u in [-0.5, 0.5] and directions v
// in [-1, 1], drawn in that order.
struct KernelBatch {
  const Equation& eq;
  Topology topo;
  std::size_t B;
  std::vector<double> x, u, v;
  KernelBatch(const Equation& equation, Topology topology, std::size_t samples,
              std::mt19937_64& rng)
      : eq(equation),
        topo(topology),
        B(samples),
        x(random_vector(rng, topo.n * B, 0.1, 3.0)),
        u(random_vector(rng, topo.n * B, -0.5, 0.5)),
        v(random_vector(rng, topo.n * B, -1.0, 1.0)) {}
  // rhs at the states `at` with the K's k and the batch's drives.
  std::vector<double> rhs(const std::vector<double>& at, const KParams& k) const {
    std::vector<double> out(topo.n * B);
    eq.rhs(topo, k, at.data(), u.data(), out.data(), B);
    return out;
  }
};

// The registered equation `name`, made once and kept for the test binary's life.
inline const Equation& equation(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Equation>> made;
  auto& eq = made[name];
  if (!eq) eq = make_equation(name);
  return *eq;
}

}  // namespace wuxing::test_support
