// Eigen's eigensolver, kept in its own translation unit: with -march=native on an
// AVX-512 machine GCC 12 reports -Wmaybe-uninitialized inside its own intrinsics
// header (avx512fintrin.h, a known false positive, GCC bug 105593) when it instantiates
// EigenSolver. The pragma must precede every include, so it would otherwise silence
// the warning for all of stability.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <Eigen/Eigenvalues>
#include <stdexcept>

#include "analysis/stability.hpp"

namespace wuxing {

std::vector<std::complex<double>> jacobian_eigenvalues(const Equation& eq, const Topology& topo,
                                                       const KParams& K, const Eigen::VectorXd& x) {
  const Eigen::MatrixXd J = eq.jacobian(topo, K, x);
  Eigen::EigenSolver<Eigen::MatrixXd> solver(J, /*computeEigenvectors=*/false);
  if (solver.info() != Eigen::Success)
    throw std::runtime_error("jacobian_eigenvalues: Eigen's eigensolver did not converge");
  const auto& ev = solver.eigenvalues();
  return {ev.data(), ev.data() + ev.size()};
}

}  // namespace wuxing
