#include "framework/equations/lv_logistic.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "framework/equations/registry.hpp"
#include "framework/equations/variant_helpers.hpp"

namespace wuxing {

using detail::behind;

WUXING_REGISTER_EQUATION(lv_logistic) {
  return {"lv-logistic",
          "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i^2 + u_i (Lotka-Volterra-type, "
          "logistic self-limitation; x* = K1 / (K2 + K3))",
          []() -> std::unique_ptr<Equation> { return std::make_unique<LvLogistic>(); }};
}

void LvLogistic::validate(const KParams& K) const { detail::validate_k_signs(K); }

double LvLogistic::fixed_point(const KParams& K) const {
  validate(K);
  return K.K1 / (K.K2 + K.K3);
}

KParams LvLogistic::with_fixed_point(KParams K, double target) const {
  if (!(target > 0.0) || !std::isfinite(target))
    throw std::invalid_argument(fmt::format("fixed-point target {} must be > 0", target));
  if (!(K.K1 > K.K3 * target))
    throw std::invalid_argument(fmt::format(
        "lv-logistic: K1 = {} must exceed K3 * target = {} * {} to reach the fixed point {} "
        "with K2 = K1 / target - K3 > 0",
        K.K1, K.K3, target, target));
  K.K2 = K.K1 / target - K.K3;
  validate(K);
  return K;
}

void LvLogistic::rhs(const Topology& topo, const KParams& K, const double* x, const double* u,
                     double* dxdt, std::size_t batch) const {
  const int n = topo.n;
  for (int i = 0; i < n; ++i) {
    const double* xi = x + i * batch;
    const double* xg = x + behind(i, topo.g, n) * batch;
    const double* xk = x + behind(i, topo.k, n) * batch;
    const double* ui = u + i * batch;
    double* di = dxdt + i * batch;
    for (std::size_t b = 0; b < batch; ++b)
      di[b] = K.K1 * xg[b] - xi[b] * (K.K2 * xk[b] + K.K3 * xi[b]) + ui[b];
  }
}

void LvLogistic::jacobian_transpose_apply(const Topology& topo, const KParams& K, const double* x,
                                          const double* v, double* out, std::size_t batch) const {
  const int n = topo.n;
  for (int j = 0; j < n; ++j) {
    // Column j of J collects from rows j+g (generation), j (diagonal) and j+k (overcoming).
    const int ig = (j + topo.g) % n;
    const int ik = (j + topo.k) % n;
    const double* xj = x + j * batch;
    const double* xjk = x + behind(j, topo.k, n) * batch;  // x_{j-k}, in J_jj
    const double* xik = x + ik * batch;                    // x_i for i = j+k
    const double* vj = v + j * batch;
    const double* vig = v + ig * batch;
    const double* vik = v + ik * batch;
    double* oj = out + j * batch;
    for (std::size_t b = 0; b < batch; ++b)
      oj[b] = K.K1 * vig[b] - (K.K2 * xjk[b] + 2.0 * K.K3 * xj[b]) * vj[b] - K.K2 * xik[b] * vik[b];
  }
}

void LvLogistic::jacobian_apply(const Topology& topo, const KParams& K, const double* x,
                                const double* v, double* out, std::size_t batch) const {
  const int n = topo.n;
  for (int i = 0; i < n; ++i) {
    const int ig = behind(i, topo.g, n);
    const int ik = behind(i, topo.k, n);
    const double* xi = x + i * batch;
    const double* xk = x + ik * batch;
    const double* vi = v + i * batch;
    const double* vg = v + ig * batch;
    const double* vk = v + ik * batch;
    double* oi = out + i * batch;
    for (std::size_t b = 0; b < batch; ++b)
      oi[b] = K.K1 * vg[b] - (K.K2 * xk[b] + 2.0 * K.K3 * xi[b]) * vi[b] - K.K2 * xi[b] * vk[b];
  }
}

void LvLogistic::parameter_derivative(const Topology& topo, const KParams& /*K*/, KIndex which,
                                      const double* x, double* out, std::size_t batch) const {
  const int n = topo.n;
  for (int i = 0; i < n; ++i) {
    const double* xi = x + i * batch;
    const double* xg = x + behind(i, topo.g, n) * batch;
    const double* xk = x + behind(i, topo.k, n) * batch;
    double* oi = out + i * batch;
    for (std::size_t b = 0; b < batch; ++b) {
      switch (which) {
        case KIndex::K1:
          oi[b] = xg[b];
          break;
        case KIndex::K2:
          oi[b] = -xi[b] * xk[b];
          break;
        case KIndex::K3:
          oi[b] = -xi[b] * xi[b];
          break;
      }
    }
  }
}

Eigen::MatrixXd LvLogistic::jacobian(const Topology& topo, const KParams& K,
                                     const Eigen::VectorXd& x) const {
  return detail::ring_jacobian(topo, x, [&](int i, int /*ig*/, int ik) {
    return detail::RingRow{K.K1, -K.K2 * x(ik) - 2.0 * K.K3 * x(i), -K.K2 * x(i)};
  });
}

std::vector<std::complex<double>> LvLogistic::fixed_point_eigenvalues(const Topology& topo,
                                                                      const KParams& K) const {
  topo.validate();
  const double xs = fixed_point(K);
  // J* = -(K2 + 2 K3) x* I + K1 P_g - K2 x* P_k.
  return detail::circulant_eigenvalues(topo, -(K.K2 + 2.0 * K.K3) * xs, K.K1, -K.K2 * xs);
}

}  // namespace wuxing
