// training.unsettled_policy: what a local rule does with a sample whose forward phase did not
// settle. exclude_sample leaves it out of the gradient; exclude_element keeps it, holding the
// elements that are still moving as constants of the backward phase (as clamped ones are).
#pragma once

#include <cstdint>
#include <vector>

#include "framework/learning/layer.hpp"
#include "framework/model/network.hpp"

namespace wuxing::detail {

// For exclude_element: marks in `held` (state layout) the elements of the samples with
// settled[b] == 0 whose rate |dx/dt| at the end state is >= tol (an element held at a bound by
// an outward rate counts as settled, as in the forward phase). `usable[b]` says whether the
// sample can enter the gradient: settled, or unsettled with a finite end state. Returns the
// number of held elements.
std::int64_t hold_slow_elements(const Network& net, const Batch& batch,
                                const std::vector<char>& settled, double tol,
                                std::vector<char>& held, std::vector<char>& usable);

}  // namespace wuxing::detail
