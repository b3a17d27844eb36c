// Eigen's eigensolver, kept in its own translation unit: with -march=native on an
// AVX-512 machine GCC 12 reports -Wmaybe-uninitialized (-Wuninitialized at -O2) inside
// its own intrinsics header avx512fintrin.h when it instantiates EigenSolver (a known
// false positive, GCC bug 105593). The pragmas must precede every include, so they would
// otherwise silence these warnings for all of stability.cpp.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <Eigen/Eigenvalues>
#include <stdexcept>

#include "analysis/stability.hpp"

namespace wuxing {

std::vector<std::complex<double>> matrix_eigenvalues(const Eigen::MatrixXd& M) {
  if (M.size() == 0) return {};
  Eigen::EigenSolver<Eigen::MatrixXd> solver(M, /*computeEigenvectors=*/false);
  if (solver.info() != Eigen::Success)
    throw std::runtime_error("matrix_eigenvalues: Eigen's eigensolver did not converge");
  const auto& ev = solver.eigenvalues();
  return {ev.data(), ev.data() + ev.size()};
}

std::vector<std::complex<double>> jacobian_eigenvalues(const Equation& eq, const Topology& topo,
                                                       const KParams& K, const Eigen::VectorXd& x) {
  return matrix_eigenvalues(eq.jacobian(topo, K, x));
}

}  // namespace wuxing
