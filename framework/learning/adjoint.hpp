// The backward (adjoint) phase (MODEL.md section 5): lambda settles to dL/du, the gradient
// of the loss with respect to every element's drive, either by integrating the reverse
// system or by solving for its fixed point.
#pragma once

#include <vector>

#include "framework/base/config.hpp"
#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"
#include "framework/model/phase.hpp"

namespace wuxing {

// Backward phase: d(lambda)/dt = D (J_net(x^f)^T (D lambda) + e), e = dlds at the output
// read element, D zeroes elements clamped at the end of the forward phase. Settles to
// lambda = dL/du. `lambda` has the state's layout. Elements marked in `held` (state layout;
// training.unsettled_policy exclude_element) are masked as the clamped ones are.
PhaseReport backward_phase(const Network& net, const Batch& batch, const std::vector<double>& dlds,
                           const IntegratorConfig& integ, std::vector<double>& lambda,
                           const std::vector<char>* held = nullptr);

}  // namespace wuxing
