// The input neurons' settled signals. An input neuron is driven by the constant u = alpha *
// pixel on its input element. With the input K's fixed (the default) its steady state depends
// on the pixel's byte only and is solved once per byte value (and per pixel scale); with
// trainable input K's it is solved per neuron and batch (solve_input_layer, below).

// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (see
// operating_point.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <stdexcept>

#include "framework/model/network.hpp"
#include "framework/model/steady_state.hpp"

namespace wuxing {

void Network::solve_input_cache(double pixel_scale) const {
  const int n = topo_.n;
  input_cache_.assign(256, {});
  input_cache_clamped_.assign(256, 0);
  const double xs = equation_->fixed_point(input_K_);
  Eigen::VectorXd x = Eigen::VectorXd::Constant(n, xs);
  std::vector<double> u(n, 0.0), f(n);
  // Continuation in the pixel value keeps Newton on the branch that starts at x*.
  for (int byte = 0; byte < 256; ++byte) {
    u[net_config_.input_element] = net_config_.alpha * byte * pixel_scale;
    double residual = 0.0;
    for (int it = 0; it < 100; ++it) {
      equation_->rhs(topo_, input_K_, x.data(), u.data(), f.data(), 1);
      Eigen::Map<Eigen::VectorXd> F(f.data(), n);
      residual = F.cwiseAbs().maxCoeff();
      if (residual < 1e-14) break;
      const Eigen::MatrixXd J = equation_->jacobian(topo_, input_K_, x);
      x -= J.partialPivLu().solve(F);
    }
    if (!(residual < 1e-10))
      throw std::runtime_error(
          fmt::format("input neuron: no steady state found for pixel {} (alpha = {}): residual {}",
                      byte * pixel_scale, net_config_.alpha, residual));
    for (int a = 0; a < n; ++a) {
      double v = x(a);
      if (v < net_config_.x_min || v > net_config_.x_max) {
        v = std::clamp(v, net_config_.x_min, net_config_.x_max);
        ++input_cache_clamped_[byte];
      }
      input_cache_[byte][a] = v - xs;
    }
  }
  cached_scale_ = pixel_scale;
}

const std::array<double, 16>& Network::input_signal(std::uint8_t byte, double pixel_scale) const {
  if (cached_scale_ != pixel_scale) solve_input_cache(pixel_scale);
  return input_cache_[byte];
}

int Network::input_clamped(std::uint8_t byte, double pixel_scale) const {
  if (cached_scale_ != pixel_scale) solve_input_cache(pixel_scale);
  return input_cache_clamped_[byte];
}

// ---------------------------------------------------------------------------------------
// Trainable input K's (model.input_sharing shared | per_neuron): the cache by byte no longer
// applies, since every input neuron has K's of its own that change with each update. Each
// input neuron's steady state is solved over the batch's lanes by the same projected Newton
// as the forward solve (steady_state.hpp), so clamps follow the clamped dynamics' rule and
// each state's stability is checked.

namespace detail {

void solve_input_layer(const Network& net, const std::uint8_t* pixels, int features,
                       double pixel_scale, const std::vector<std::size_t>& indices, Batch& batch,
                       bool keep_sensitivity) {
  const int n = net.n();
  const std::size_t B = batch.B;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  const NetworkConfig& nc = net.config();
  NeuronSolveOptions options;
  options.lo = nc.x_min;
  options.hi = nc.x_max;
  batch.s_in.assign(static_cast<std::size_t>(features) * nB, 0.0);
  batch.input_active.assign(features, 0);
  batch.input_settled.assign(B, 1);
  if (keep_sensitivity)
    batch.input_sensitivity.assign(static_cast<std::size_t>(features) * n * nB, 0.0);
  else
    batch.input_sensitivity.clear();
  std::vector<double> u(nB), x(nB), G(static_cast<std::size_t>(n) * nB);
  std::vector<SolveOutcome> outcome(B);
  for (int j = 0; j < features; ++j) {
    bool active = false;
    for (std::size_t b = 0; b < B; ++b) active |= pixels[indices[b] * features + j] != 0;
    if (!active) continue;  // every lane at rest: s = 0 and ds/dK = 0 exactly
    batch.input_active[j] = 1;
    const KParams& K = net.K(0, j);
    std::fill(u.begin(), u.end(), 0.0);
    for (std::size_t b = 0; b < B; ++b)
      u[static_cast<std::size_t>(nc.input_element) * B + b] =
          nc.alpha * pixels[indices[b] * features + j] * pixel_scale;
    linear_start(net.equation(), net.topology(), K, u.data(), B, options, x.data());
    solve_neuron(net.equation(), net.topology(), K, u.data(), B, options, x.data(),
                 keep_sensitivity ? G.data() : nullptr, outcome.data());
    const double xs = net.equation().fixed_point(K);
    double* s = batch.s_in.data() + static_cast<std::size_t>(j) * nB;
    for (std::size_t q = 0; q < nB; ++q) {
      s[q] = x[q] - xs;
      batch.input_clamps += x[q] == options.lo || x[q] == options.hi;
    }
    for (std::size_t b = 0; b < B; ++b)
      if (outcome[b] != SolveOutcome::settled) batch.input_settled[b] = 0;
    if (keep_sensitivity)
      std::copy(G.begin(), G.end(),
                batch.input_sensitivity.begin() + static_cast<std::ptrdiff_t>(j * n * nB));
  }
}

}  // namespace detail

}  // namespace wuxing
