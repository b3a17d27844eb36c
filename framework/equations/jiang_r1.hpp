// Variant "jiang-r1": dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i + u_i.
// Fixed point x* = (K1 - K3) / K2 for every element; positive iff K1 > K3.
#pragma once

#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing {

class JiangR1 final : public Equation {
 public:
  std::string_view name() const override { return "jiang-r1"; }
  double fixed_point(const KParams& K) const override;
  KParams with_fixed_point(KParams K, double target) const override;
  // Closed form of x* = (K1 - K3) / K2 (no validation: a gradient, not a fixed point).
  std::array<double, 3> fixed_point_derivative(const KParams& K) const override {
    return {1.0 / K.K2, -(K.K1 - K.K3) / (K.K2 * K.K2), -1.0 / K.K2};
  }
  void validate(const KParams& K) const override;
  void rhs(const Topology& topo, const KParams& K, const double* x, const double* u, double* dxdt,
           std::size_t batch) const override;
  void jacobian_transpose_apply(const Topology& topo, const KParams& K, const double* x,
                                const double* v, double* out, std::size_t batch) const override;
  void jacobian_apply(const Topology& topo, const KParams& K, const double* x, const double* v,
                      double* out, std::size_t batch) const override;
  void parameter_derivative(const Topology& topo, const KParams& K, KIndex which, const double* x,
                            double* out, std::size_t batch) const override;
  Eigen::MatrixXd jacobian(const Topology& topo, const KParams& K,
                           const Eigen::VectorXd& x) const override;
  std::vector<std::complex<double>> fixed_point_eigenvalues(const Topology& topo,
                                                            const KParams& K) const override;
};

}  // namespace wuxing
