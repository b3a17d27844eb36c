// Per-lane (per-sample) helpers shared by the steppers and solvers of the model: the batch
// is the innermost index of every array, and each sample is one lane.
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "framework/model/layer.hpp"

namespace wuxing::detail {

inline constexpr double kMaxFinite = std::numeric_limits<double>::max();

// Per-thread scratch, reused across calls so that the integrators do not allocate per step.
// Slots: 0 the drive of a neuron block, 2 and 3 the Heun stages, 4 sample_rates, 5 the Heun
// working state.
std::vector<double>& scratch(int which);

// Keeps lanes `keep` (increasing) of every row of a [row][lane] array with `lanes` lanes, in
// place: each value moves to a lower or the same index, in increasing order.
void keep_lanes_of(std::vector<double>& a, std::size_t lanes, const std::vector<std::size_t>& keep);

// The same for an array the caller owns (`size` values at `data`): the kept lanes go into
// `own`, a copy made on the first call, and `data` is pointed at it.
void keep_lanes_of(const double*& data, std::vector<double>& own, std::size_t size,
                   std::size_t lanes, const std::vector<std::size_t>& keep);

// The clamped system: an element held at a bound and pushed outward does not move. Both
// Heun stages use the projected rate, so that the discrete map's fixed points are exactly
// the states where the projected rate vanishes (the settle test) and the elements that
// are held never leak a beyond-range value into the other elements through the second
// stage. Returns 1 where the rate is kept, 0 where it was zeroed.
inline double project(double x, double& f, double lo, double hi) {
  if ((x <= lo && f < 0.0) || (x >= hi && f > 0.0)) {
    f = 0.0;
    return 0.0;
  }
  return 1.0;
}

// Per-sample max of |rate| (projected at bounds when `x` is given) and non-finite flags.
// Branch-free so that the inner loop vectorises: a NaN or infinite rate never counts (as in
// max-of-finite), and a value is flagged through (v - v), which is NaN iff v is not finite.
void sample_rates(std::size_t size, std::size_t B, const double* f, const double* x, double lo,
                  double hi, std::vector<double>& rate, std::vector<char>& bad);

}  // namespace wuxing::detail
