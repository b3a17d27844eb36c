// The forward phase (MODEL.md section 4): every integrated neuron starts at its fixed point,
// the inputs are applied, and the network settles to its steady state.
#pragma once

#include <vector>

#include "framework/base/config.hpp"
#include "framework/model/network.hpp"
#include "framework/model/phase.hpp"

namespace wuxing {

// Forward phase: from the fixed point to steady state, left in batch.x. `heun` uses the
// Heun stepper (heun.hpp: each sample frozen once its own max rate < tol); other methods use
// make_stepper on the flattened state (the batch stops together). With
// integ.forward_method solve or table the steady state is solved instead (steady_state.hpp),
// except for a phase with probes, whose trajectories need the dynamics.
PhaseReport forward_phase(const Network& net, Batch& batch, const IntegratorConfig& integ,
                          std::vector<TrajectoryProbe>* probes = nullptr);

}  // namespace wuxing
