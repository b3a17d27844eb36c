#include "framework/equations/jiang_r1.hpp"

#include <fmt/format.h>

#include <cmath>
#include <stdexcept>

#include "framework/equations/registry.hpp"
#include "framework/equations/variant_helpers.hpp"

namespace wuxing {

using detail::behind;

WUXING_REGISTER_EQUATION(jiang_r1) {
  return {"jiang-r1",
          "dx_i/dt = K1 x_{i-g} - K2 x_i x_{i-k} - K3 x_i + u_i (the reference reconstruction; "
          "x* = (K1 - K3) / K2)",
          []() -> std::unique_ptr<Equation> { return std::make_unique<JiangR1>(); }};
}

void JiangR1::validate(const KParams& K) const {
  detail::validate_k_signs(K);
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(fmt::format(
        "K1 = {} must exceed K3 = {}: jiang-r1 has a positive fixed point only when K1 > K3", K.K1,
        K.K3));
}

double JiangR1::fixed_point(const KParams& K) const {
  validate(K);
  return (K.K1 - K.K3) / K.K2;
}

KParams JiangR1::with_fixed_point(KParams K, double target) const {
  if (!(target > 0.0) || !std::isfinite(target))
    throw std::invalid_argument(fmt::format("fixed-point target {} must be > 0", target));
  if (!(K.K1 > K.K3))
    throw std::invalid_argument(
        fmt::format("K1 = {} must exceed K3 = {} to reach a positive fixed point", K.K1, K.K3));
  K.K2 = (K.K1 - K.K3) / target;
  validate(K);
  return K;
}

void JiangR1::rhs(const Topology& topo, const KParams& K, const double* x, const double* u,
                  double* dxdt, std::size_t batch) const {
  const int n = topo.n;
  // The ring neighbours i - g and i - k advance with i: two `%` per call instead of per
  // element (this is called once per neuron and step, often with a small batch).
  int ig = behind(0, topo.g, n), ik = behind(0, topo.k, n);
  for (int i = 0; i < n; ++i) {
    const double* xi = x + i * batch;
    const double* xg = x + ig * batch;
    const double* xk = x + ik * batch;
    const double* ui = u + i * batch;
    double* di = dxdt + i * batch;
    for (std::size_t b = 0; b < batch; ++b)
      di[b] = K.K1 * xg[b] - K.K2 * xi[b] * xk[b] - K.K3 * xi[b] + ui[b];
    ig = ig + 1 == n ? 0 : ig + 1;
    ik = ik + 1 == n ? 0 : ik + 1;
  }
}

void JiangR1::jacobian_transpose_apply(const Topology& topo, const KParams& K, const double* x,
                                       const double* v, double* out, std::size_t batch) const {
  const int n = topo.n;
  // Row i of J touches columns i-g, i and i-k; its transpose scatters v_i back to them,
  // which is the same ring with both cycles reversed.
  for (int j = 0; j < n; ++j) {
    // Column j collects from rows i = j+g (generation), i = j (diagonal), i = j+k (overcoming).
    const int ig = (j + topo.g) % n;
    const int ik = (j + topo.k) % n;
    const double* xjk = x + behind(j, topo.k, n) * batch;  // x_{j-k}, in J_jj
    const double* xik = x + ik * batch;                    // x_i for i = j+k
    const double* vj = v + j * batch;
    const double* vig = v + ig * batch;
    const double* vik = v + ik * batch;
    double* oj = out + j * batch;
    for (std::size_t b = 0; b < batch; ++b)
      oj[b] = K.K1 * vig[b] + (-K.K2 * xjk[b] - K.K3) * vj[b] - K.K2 * xik[b] * vik[b];
  }
}

void JiangR1::jacobian_apply(const Topology& topo, const KParams& K, const double* x,
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
      oi[b] = K.K1 * vg[b] + (-K.K2 * xk[b] - K.K3) * vi[b] - K.K2 * xi[b] * vk[b];
  }
}

void JiangR1::parameter_derivative(const Topology& topo, const KParams& /*K*/, KIndex which,
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
          oi[b] = -xi[b];
          break;
      }
    }
  }
}

Eigen::MatrixXd JiangR1::jacobian(const Topology& topo, const KParams& K,
                                  const Eigen::VectorXd& x) const {
  return detail::ring_jacobian(topo, x, [&](int i, int /*ig*/, int ik) {
    return detail::RingRow{K.K1, -K.K2 * x(ik) - K.K3, -K.K2 * x(i)};
  });
}

std::vector<std::complex<double>> JiangR1::fixed_point_eigenvalues(const Topology& topo,
                                                                   const KParams& K) const {
  topo.validate();
  validate(K);
  // J* = -K1 I + K1 P_g - (K1 - K3) P_k.
  return detail::circulant_eigenvalues(topo, -K.K1, K.K1, -(K.K1 - K.K3));
}

}  // namespace wuxing
