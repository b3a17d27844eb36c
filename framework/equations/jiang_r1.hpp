// Variant "jiang-r1": dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i + u_i.
// Fixed point x* = (K1 - K3) / K2 for every element; positive iff K1 > K3.
#pragma once

#include "framework/equations/variant_helpers.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing {

class JiangR1 final : public detail::RingEquation<JiangR1> {
 public:
  static constexpr std::string_view kName = "jiang-r1";

  // Closed form of x* = (K1 - K3) / K2 (no validation: a gradient, not a fixed point).
  std::array<double, 3> fixed_point_derivative(const KParams& K) const override {
    return {1.0 / K.K2, -(K.K1 - K.K3) / (K.K2 * K.K2), -1.0 / K.K2};
  }

  // The fixed point and the conditions for detail::RingEquation: x* > 0 needs K1 > K3.
  static double symmetric_fixed_point(const KParams& K) { return (K.K1 - K.K3) / K.K2; }
  static double k2_for_fixed_point(const KParams& K, double target);
  static void check_k(const KParams& K);
  static void add_k_problems(const KParams& K, std::optional<double> fixed_point_target,
                             std::vector<KProblem>& problems);
  // J* = -K1 I + K1 P_g - (K1 - K3) P_k (J_ii = -K2 x* - K3 = -K1, -K2 x* = -(K1 - K3)): in the
  // K's alone, not through x*, so that the eigenvalues keep their bits.
  static detail::RingRow fixed_point_row(const KParams& K, double /*xs*/) {
    return {K.K1, -K.K1, -(K.K1 - K.K3)};
  }

  // The element formulas of detail::RingEquation's kernels.
  static double rate(const KParams& K, double xi, double xg, double xk, double ui) {
    return K.K1 * xg - K.K2 * xi * xk - K.K3 * xi + ui;
  }
  // J_ii = -K2 x_{i-k} - K3: the state xs itself does not enter.
  static double linearised(const KParams& K, double /*xs*/, double xsk, double xo, double vs,
                           double vg, double vo) {
    return K.K1 * vg + (-K.K2 * xsk - K.K3) * vs - K.K2 * xo * vo;
  }
  static double k3_derivative(double xi) { return -xi; }
  static double jacobian_diagonal(const KParams& K, double /*xi*/, double xk) {
    return -K.K2 * xk - K.K3;
  }
};

}  // namespace wuxing
