// What the equation variants share: ring index arithmetic, the sign checks of the K's, and
// the dense Jacobian and circulant eigenvalues of an element that interacts only with
// i - g and i - k. Each variant keeps its own batched kernels (rhs, jacobian_*_apply,
// parameter_derivative): they are its equation, and its hot loops.
#pragma once

#include <fmt/format.h>

#include <Eigen/Dense>
#include <cmath>
#include <complex>
#include <numbers>
#include <stdexcept>
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

}  // namespace wuxing::detail
