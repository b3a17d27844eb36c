// What a phase (forward settling, backward adjoint) reports, per batch and per sample, and
// the trajectory probes a forward phase can record.
#pragma once

#include <cstdint>
#include <vector>

#include "framework/model/network.hpp"

namespace wuxing {

struct PhaseReport {
  std::int64_t unsettled = 0;      // samples that did not settle
  std::int64_t steps_total = 0;    // sum over samples of their steps
  std::int64_t max_steps = 0;      // steps of the slowest sample
  std::int64_t step_cap_hits = 0;  // samples stopped by the step cap
  std::int64_t clamp_events = 0;
  std::int64_t clamped_elements = 0;  // at the end (forward)
  std::int64_t non_finite = 0;        // samples with a NaN/Inf
  // Solved forward phase: samples integrated because Newton did not converge
  // (solve_fallbacks) or converged to an unstable state (solve_unstable, counted in both).
  std::int64_t solve_fallbacks = 0;
  std::int64_t solve_unstable = 0;
  std::vector<std::int64_t> sample_steps;
  std::vector<char> sample_settled;
};

// Records one layer's trajectory of one sample of the batch during the forward phase.
struct TrajectoryProbe {
  int layer = 1;           // >= 1
  std::size_t sample = 0;  // index in the batch
  int stride = 1;
  std::vector<double> times;
  std::vector<double> values;  // [time][neuron][element]
};

// Appends the state of every probe's layer and sample at time t (every `stride` steps, or
// once more at the end when `force`).
void record_probes(const Network& net, std::size_t B, const double* x, double t,
                   std::vector<TrajectoryProbe>* probes, std::int64_t step, bool force);

// Counts the clamped elements of the end state and sums the per-sample steps and settled
// flags into the report's totals.
void finish_report(const Network& net, std::size_t B, const double* x, PhaseReport& r);

}  // namespace wuxing
