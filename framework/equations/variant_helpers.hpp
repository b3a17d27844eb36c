// What the equation variants share: ring index arithmetic, the sign checks of the K's, the
// dense Jacobian and circulant eigenvalues of an element that interacts only with i - g and
// i - k, and RingEquation: the batched kernels (rhs, jacobian_*_apply, parameter_derivative,
// jacobian) written once as loops over a variant's element formulas, and the rest of Equation
// (validation, the fixed point and its eigenvalues) around the variant's formulas and conditions.
#pragma once

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>
#include <complex>
#include <numbers>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing::detail {

// Index of element i - offset on a ring of n elements (offset may exceed i).
inline int behind(int i, int offset, int n) { return ((i - offset) % n + n) % n; }

// K's finite, K1 > 0, K2 > 0, K3 >= 0; throws std::invalid_argument naming the K.
inline void validate_k_signs(const KParams& K) {
  if (!std::isfinite(K.K1) || !std::isfinite(K.K2) || !std::isfinite(K.K3))
    throw std::invalid_argument(
        fmt::format("K's must be finite (K1 = {}, K2 = {}, K3 = {})", K.K1, K.K2, K.K3));
  if (!(K.K1 > 0.0)) throw std::invalid_argument(fmt::format("K1 = {} must be > 0", K.K1));
  if (!(K.K2 > 0.0)) throw std::invalid_argument(fmt::format("K2 = {} must be > 0", K.K2));
  if (!(K.K3 >= 0.0)) throw std::invalid_argument(fmt::format("K3 = {} must be >= 0", K.K3));
}

// Equation::with_fixed_point's target: finite and > 0; throws std::invalid_argument.
inline void check_fixed_point_target(double target) {
  if (!(target > 0.0) || !std::isfinite(target))
    throw std::invalid_argument(fmt::format("fixed-point target {} must be > 0", target));
}

// The sign conditions of validate_k_signs as a spec's problems (Equation::k_problems); K2 is
// not checked when a fixed-point target solves for it.
inline std::vector<KProblem> k_sign_problems(const KParams& K,
                                             std::optional<double> fixed_point_target) {
  std::vector<KProblem> problems;
  if (!(K.K1 > 0.0)) problems.push_back({"K1 must be > 0", {KIndex::K1}});
  if (!fixed_point_target && !(K.K2 > 0.0)) problems.push_back({"K2 must be > 0", {KIndex::K2}});
  if (!(K.K3 >= 0.0)) problems.push_back({"K3 must be >= 0", {KIndex::K3}});
  return problems;
}

// Row i of a ring Jacobian: J(i, i-g), J(i, i), J(i, i-k).
struct RingRow {
  double gen = 0.0;
  double diag = 0.0;
  double over = 0.0;
};

// Dense n x n Jacobian at x from row(i, i-g, i-k) -> RingRow. Validates topo and the size of x.
template <class Row>
Eigen::MatrixXd ring_jacobian(const Topology& topo, const Eigen::VectorXd& x, Row row) {
  topo.validate();
  const int n = topo.n;
  if (x.size() != n)
    throw std::invalid_argument(
        fmt::format("jacobian: state has {} elements, the topology {}", x.size(), n));
  Eigen::MatrixXd J = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    const int ig = behind(i, topo.g, n);
    const int ik = behind(i, topo.k, n);
    const RingRow r = row(i, ig, ik);
    J(i, ig) += r.gen;
    J(i, i) += r.diag;
    J(i, ik) += r.over;
  }
  return J;
}

// Eigenvalues of the circulant matrix diag I + gen P_g + over P_k, (P_m x)_i = x_{i-m}:
// P_m has eigenvalues w^(-j m), so lambda_j = diag + gen w^(-j g) + over w^(-j k),
// w = exp(2 pi i / n), j = 0..n-1.
inline std::vector<std::complex<double>> circulant_eigenvalues(const Topology& topo, double diag,
                                                               double gen, double over) {
  std::vector<std::complex<double>> lambdas(topo.n);
  for (int m = 0; m < topo.n; ++m) {
    auto w = [&](int power) {
      const double angle = 2.0 * std::numbers::pi * m * power / topo.n;
      return std::polar(1.0, -angle);
    };
    lambdas[m] = diag + gen * w(topo.g) + over * w(topo.k);
  }
  return lambdas;
}

// The Equation of a variant whose element i interacts only with i - g and i - k, and whose
// Jacobian row i is K1 at i - g, a diagonal entry, and -K2 x_i at i - k (generation and
// overcoming as in jiang-r1; the variants differ in the self-attenuation). What every such
// variant does alike is written here once: the batched kernels' loops, and the checks around
// the fixed point (K's validated before x* is computed, the target checked before K2 is solved
// for, K's validated again after). The arithmetic and the conditions are the variant's, as
// static members of Variant (CRTP):
//   kName                                        the spec's model.variant (name())
//   symmetric_fixed_point(K)                     x* of valid K's
//   k2_for_fixed_point(K, target)                the K2 that puts x* at target > 0; throws
//       std::invalid_argument when no K2 > 0 does
//   check_k(K)                                   the variant's own conditions on the K's
//       beyond validate_k_signs, thrown as std::invalid_argument (default: none)
//   add_k_problems(K, target, problems)          the same conditions as a spec's problems,
//       after k_sign_problems (default: none)
//   fixed_point_row(K, xs)                       the Jacobian's row at x* = xs (circulant)
// and the element formulas, each one expression in the variant's own operation order:
//   rate(K, xi, xg, xk, ui)                      f_i (xg = x_{i-g}, xk = x_{i-k})
//   linearised(K, xs, xsk, xo, vs, vg, vo)       one entry of J v or J^T v: the generation
//       coefficient K1 times vg, the diagonal at (xs, xsk = x_{s-k}) times vs, and the
//       overcoming coefficient -K2 xo times vo. Row i of J v: s = i, xo = x_i, vg = v_{i-g},
//       vo = v_{i-k}; column j of J^T v: s = j, xo = x_{j+k}, vg = v_{j+g}, vo = v_{j+k}
//   k3_derivative(xi)                            d f_i / d K3
//   jacobian_diagonal(K, xi, xk)                 J_ii of the dense Jacobian
template <class Variant>
class RingEquation : public Equation {
 public:
  std::string_view name() const override { return Variant::kName; }

  void validate(const KParams& K) const override {
    validate_k_signs(K);
    Variant::check_k(K);
  }

  std::vector<KProblem> k_problems(const KParams& K,
                                   std::optional<double> fixed_point_target) const override {
    auto problems = k_sign_problems(K, fixed_point_target);
    Variant::add_k_problems(K, fixed_point_target, problems);
    return problems;
  }

  double fixed_point(const KParams& K) const override {
    validate(K);
    return Variant::symmetric_fixed_point(K);
  }

  KParams with_fixed_point(KParams K, double target) const override {
    check_fixed_point_target(target);
    K.K2 = Variant::k2_for_fixed_point(K, target);
    validate(K);
    return K;
  }

  std::vector<std::complex<double>> fixed_point_eigenvalues(const Topology& topo,
                                                            const KParams& K) const override {
    topo.validate();
    const RingRow r = Variant::fixed_point_row(K, fixed_point(K));
    return circulant_eigenvalues(topo, r.diag, r.gen, r.over);
  }

  void rhs(const Topology& topo, const KParams& K, const double* x, const double* u, double* dxdt,
           std::size_t batch) const override {
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
      for (std::size_t b = 0; b < batch; ++b) di[b] = Variant::rate(K, xi[b], xg[b], xk[b], ui[b]);
      ig = ig + 1 == n ? 0 : ig + 1;
      ik = ik + 1 == n ? 0 : ik + 1;
    }
  }

  void jacobian_transpose_apply(const Topology& topo, const KParams& K, const double* x,
                                const double* v, double* out, std::size_t batch) const override {
    const int n = topo.n;
    // Row i of J touches columns i-g, i and i-k; its transpose scatters v_i back to them,
    // which is the same ring with both cycles reversed: column j collects from rows
    // i = j+g (generation), i = j (diagonal), i = j+k (overcoming).
    for (int j = 0; j < n; ++j) {
      const int ig = (j + topo.g) % n;
      const int ik = (j + topo.k) % n;
      linearised_row(K, x + j * batch, x + behind(j, topo.k, n) * batch, x + ik * batch,
                     v + j * batch, v + ig * batch, v + ik * batch, out + j * batch, batch);
    }
  }

  void jacobian_apply(const Topology& topo, const KParams& K, const double* x, const double* v,
                      double* out, std::size_t batch) const override {
    const int n = topo.n;
    for (int i = 0; i < n; ++i) {
      const int ig = behind(i, topo.g, n);
      const int ik = behind(i, topo.k, n);
      linearised_row(K, x + i * batch, x + ik * batch, x + i * batch, v + i * batch, v + ig * batch,
                     v + ik * batch, out + i * batch, batch);
    }
  }

  void parameter_derivative(const Topology& topo, const KParams& /*K*/, KIndex which,
                            const double* x, double* out, std::size_t batch) const override {
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
            oi[b] = Variant::k3_derivative(xi[b]);
            break;
        }
      }
    }
  }

  Eigen::MatrixXd jacobian(const Topology& topo, const KParams& K,
                           const Eigen::VectorXd& x) const override {
    return ring_jacobian(topo, x, [&](int i, int /*ig*/, int ik) {
      return RingRow{K.K1, Variant::jacobian_diagonal(K, x(i), x(ik)), -K.K2 * x(i)};
    });
  }

 protected:
  // The defaults of the optional hooks: no conditions beyond the signs of the K's.
  static void check_k(const KParams& /*K*/) {}
  static void add_k_problems(const KParams& /*K*/, std::optional<double> /*fixed_point_target*/,
                             std::vector<KProblem>& /*problems*/) {}

 private:
  // One batch of linearised entries (see above): o[b] = linearised(K, xs[b], ..., vo[b]).
  static void linearised_row(const KParams& K, const double* xs, const double* xsk,
                             const double* xo, const double* vs, const double* vg, const double* vo,
                             double* o, std::size_t batch) {
    for (std::size_t b = 0; b < batch; ++b)
      o[b] = Variant::linearised(K, xs[b], xsk[b], xo[b], vs[b], vg[b], vo[b]);
  }
};

}  // namespace wuxing::detail
