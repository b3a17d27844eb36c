// Variant "lv-logistic", a Lotka-Volterra-type form (MODEL.md section 1, "other variants"):
//
//   dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i^2 + u_i
//
// Generation as in jiang-r1; overcoming is the same predation (mass-action) term; the
// self-attenuation is logistic, the intraspecific competition of a competitive LV system,
// instead of linear decay. (A purely multiplicative x_i (K1 x_{i-g} - K2 x_{i-k} - K3) has
// an unstable uniform mode, eigenvalue K3 > 0, at its symmetric point, so it can not be a
// propagator; the logistic term is what makes this one stable.)
//
// Fixed point (u = 0): K1 x = K2 x^2 + K3 x^2, so x* = K1 / (K2 + K3) for every element,
// positive for any K1 > 0, K2 > 0, K3 >= 0 (the defaults K = (1, 0.5, 0.5) give x* = 1, as
// jiang-r1). A fixed-point target sets K2 = K1 / x*_t - K3.
// Jacobian at any x: J_{i,i-g} = K1, J_{i,i} = -K2 x_{i-k} - 2 K3 x_i, J_{i,i-k} = -K2 x_i.
// At x* it is circulant: J* = K1 P_g - (K2 + 2 K3) x* I - K2 x* P_k, with eigenvalues
// lambda_m = K1 w^(-m g) - (K2 + 2 K3) x* - K2 x* w^(-m k), w = exp(2 pi i / n).
// With r = K3 / (K2 + K3): lambda_m / K1 = w^(-m g) - (1 + r) - (1 - r) w^(-m k), so the
// uniform mode is -K1 and, for n = 5, g = 1, k = 2, the neuron is stable iff
// r > (2 sqrt 5 - 4) / (5 + sqrt 5) = 0.0652475842...; below it the pair m = 1, 4 crosses
// the imaginary axis (Hopf, an oscillator), as jiang-r1's does below K3 / K1 = 0.1459.
// Positivity: at x_i = 0 the right side is K1 x_{i-g} + u_i >= 0 when u_i >= 0.
#pragma once

#include "framework/equations/variant_helpers.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing {

class LvLogistic final : public detail::RingEquation<LvLogistic> {
 public:
  static constexpr std::string_view kName = "lv-logistic";

  // The fixed point and the condition for detail::RingEquation. No K1 > K3: x* = K1 / (K2 + K3)
  // is positive for any valid signs. A fixed-point target needs K1 > K3 x*_t (then
  // K2 = K1 / x*_t - K3 > 0).
  static double symmetric_fixed_point(const KParams& K) { return K.K1 / (K.K2 + K.K3); }
  static double k2_for_fixed_point(const KParams& K, double target);
  static void add_k_problems(const KParams& K, std::optional<double> fixed_point_target,
                             std::vector<KProblem>& problems);
  // J* = -(K2 + 2 K3) x* I + K1 P_g - K2 x* P_k.
  static detail::RingRow fixed_point_row(const KParams& K, double xs) {
    return {K.K1, -(K.K2 + 2.0 * K.K3) * xs, -K.K2 * xs};
  }

  // The element formulas of detail::RingEquation's kernels.
  static double rate(const KParams& K, double xi, double xg, double xk, double ui) {
    return K.K1 * xg - xi * (K.K2 * xk + K.K3 * xi) + ui;
  }
  // J_ii = -(K2 x_{i-k} + 2 K3 x_i).
  static double linearised(const KParams& K, double xs, double xsk, double xo, double vs, double vg,
                           double vo) {
    return K.K1 * vg - (K.K2 * xsk + 2.0 * K.K3 * xs) * vs - K.K2 * xo * vo;
  }
  static double k3_derivative(double xi) { return -xi * xi; }
  static double jacobian_diagonal(const KParams& K, double xi, double xk) {
    return -K.K2 * xk - 2.0 * K.K3 * xi;
  }
};

}  // namespace wuxing
