// bptt: the exact gradient of the discretised network (fixed-step Heun from the fixed point)
// by the chain rule through every step; the head-to-head check of the local rules.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/base/config.hpp"
#include "framework/learning/gradients.hpp"
#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"
#include "framework/model/phase.hpp"

namespace wuxing {

// bptt: exact gradient of `steps` fixed-step Heun steps (h = integ.h) from the fixed
// point (steps < 0: until every sample's max rate < tol, at most t_max / h). Returns the
// per-sample losses at the end state (left in batch.x) and fills grads.
std::vector<double> bptt_gradients(const Network& net, Batch& batch, const IntegratorConfig& integ,
                                   const TrainingConfig& training, std::int64_t steps,
                                   Gradients& grads, PhaseReport* report = nullptr,
                                   std::vector<int>* predictions = nullptr);

}  // namespace wuxing
