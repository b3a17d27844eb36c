// Stability of a settled state: the free Jacobian blocks of the neurons (the network
// Jacobian is block lower triangular for a feedforward cascade, so its eigenvalues are
// those of the neuron blocks).
#pragma once

#include <Eigen/Core>
#include <complex>
#include <cstddef>
#include <vector>

#include "framework/model/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing {

namespace detail {
// True when every eigenvalue of A has a negative real part (Faddeev-LeVerrier characteristic
// polynomial and the Routh-Hurwitz test; rows <= 16). Used by the steady-state solvers.
bool hurwitz_stable(const Eigen::Ref<const Eigen::MatrixXd>& A);
// The same for a row-major m x m array (no copies; the solvers call it per sample).
bool hurwitz_stable(const double* A, int m);
}  // namespace detail

// Per-neuron Jacobian eigenvalues of sample b at the state x. Elements held at a range bound
// are left out (the clamped system's free block).
std::vector<std::complex<double>> operating_point_eigenvalues(const Network& net, std::size_t B,
                                                              const double* x, std::size_t b);

}  // namespace wuxing
