// Steady states by solving instead of stepping (integrator.forward_method: solve). In a
// layered network the forward phase is a feedforward cascade: a neuron's steady state depends
// only on its drive, and the drive of layer l only on the settled signals of layer l - 1. So
// the settled network is found layer by layer, one small nonlinear system per neuron and
// sample, by projected (active-set) Newton from the neuron's fixed point. The projection
// keeps every element in the value range exactly as the clamped dynamics do: a steady state
// of the clamped system has, per element, lo < x < hi and f = 0, or x = lo and f <= 0, or
// x = hi and f >= 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "framework/base/config.hpp"
#include "framework/model/layer.hpp"
#include "framework/model/network.hpp"
#include "framework/model/neuron.hpp"
#include "framework/model/phase.hpp"

namespace wuxing {

struct NeuronSolveOptions {
  double lo = 0.0, hi = 4.0;  // value range
  double tol = 1e-12;         // converged when max |f| over the free elements < tol
  int max_iterations = 50;
};

// What the solve of one neuron found for each lane (sample).
enum class SolveOutcome : char {
  settled = 0,     // converged to a state whose free Jacobian block is Hurwitz-stable
  unstable = 1,    // converged, but the state is not stable: the dynamics would leave it
  no_converge = 2  // no consistent state within max_iterations (or a non-finite value)
};

// Solves the clamped steady state of one neuron for B lanes: f(x) + u = 0 on the free
// elements, x ([element][b]) holding the start on entry and the state on return, u the
// drive ([element][b]). `G` (n x n x B, [row][column][b]), when not null, receives
// -(J_FF)^-1 at the solution (zero on held elements): the sensitivity dx/du. Returns the
// Newton iterations of the slowest lane.
int solve_neuron(const Equation& eq, const Topology& topo, const KParams& K, const double* u,
                 std::size_t B, const NeuronSolveOptions& options, double* x, double* G,
                 SolveOutcome* outcome);

// Sets the start of solve_neuron: the linear response at the fixed point to the drive u,
// x* - J*^-1 u, within the range.
void linear_start(const Equation& eq, const Topology& topo, const KParams& K, const double* u,
                  std::size_t B, const NeuronSolveOptions& options, double* x);

// The forward phase by solving, layer by layer (batch.x, batch.sensitivity and batch.solved
// are filled). A sample whose solve does not converge, or converges to an unstable state, is
// integrated instead with integ.method (its steps are reported; `solve_fallbacks` counts
// it). Newton iterations are reported as the phase's steps.
PhaseReport solve_forward(const Network& net, Batch& batch, const IntegratorConfig& integ);

}  // namespace wuxing
