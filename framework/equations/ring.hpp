// Index arithmetic on the ring of a neuron's elements, shared by the equation variants.
#pragma once

namespace wuxing::detail {

// Index of element i - offset on a ring of n elements (offset may exceed i).
inline int behind(int i, int offset, int n) { return ((i - offset) % n + n) % n; }

}  // namespace wuxing::detail
