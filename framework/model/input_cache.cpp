// The input neurons' settled signals: an input neuron is driven by the constant u = alpha *
// pixel on its input element, so its steady state depends on the pixel's byte only and is
// solved once per byte value (and per pixel scale).

// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (see
// operating_point.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <fmt/format.h>

#include <Eigen/Dense>
#include <algorithm>
#include <stdexcept>

#include "framework/model/network.hpp"

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

}  // namespace wuxing
