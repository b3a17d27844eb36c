// FROZEN COPY, for bench/bench_heun.cpp only: the fused Heun kernel
// (framework/model/fused_heun.hpp) as it was before the one Heun stepper (framework/model/heun.hpp)
// replaced it, at commit cffad4e. The benchmark times it against the new code path in the same run
// and checks that both give the same bits. Not built into the library; do not edit (it is the
// reference the ratio is measured against). The fused improved-Euler (Heun) stepper over a field of
// neuron blocks (fields.hpp), with per-sample freezing and lane compaction. Used by the forward
// phase (Clamp = true) and the integrated backward phase.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "framework/model/lanes.hpp"
#include "framework/model/phase.hpp"

namespace wuxing::bench_before {
using namespace wuxing::detail;

// field at a time: each block's derivative, stage arithmetic, rate test and update run
// while the block is in L1. Each sample is frozen once its own max rate drops below tol, so
// its result does not depend on its batch-mates. Frozen samples are then dropped from the
// working arrays (their lanes compacted away; the field follows via keep_lanes), so the
// work follows the samples still moving. Lanes never mix, so the results are the same bits
// as without the compaction. `Clamp` applies the value range (forward phase only).
template <bool Clamp, class Field>
void fused_heun(Field& field, std::size_t B, double* y, double h, double t_max, double tol,
                std::int64_t max_steps, double lo, double hi, PhaseReport& r, const Network& net,
                std::vector<TrajectoryProbe>* probes) {
  const std::size_t rows = field.blocks() * static_cast<std::size_t>(net.n());
  // Probes read samples by their batch index: keep every lane where they look.
  const bool compact = !probes || probes->empty();
  std::vector<double>& w = scratch(5);  // the state of the lanes still integrated
  w.assign(y, y + rows * B);
  std::vector<std::size_t> lane(B), keep;  // lane -> sample
  for (std::size_t b = 0; b < B; ++b) lane[b] = b;
  std::size_t Bc = B;  // lanes in the working arrays
  std::vector<double>& k1 = scratch(2);
  std::vector<double>& k2 = scratch(3);
  k1.resize(rows * B);
  k2.resize(static_cast<std::size_t>(net.n()) * B);
  std::vector<double> yt(rows * B), rate(B), acc(B);
  std::vector<double> active(B, 1.0);
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 0);
  std::int64_t step = 0;
  double t = 0.0;
  std::size_t live = B;
  double* k2p = k2.data();
  double* rt = rate.data();
  double* ac = acc.data();
  const double* act = active.data();
  // Writes lane b of the working state to its sample's place in y.
  auto store_lane = [&](std::size_t b) {
    for (std::size_t q = 0; q < rows; ++q) y[q * B + lane[b]] = w[q * Bc + b];
  };
  while (true) {
    const std::size_t block = static_cast<std::size_t>(net.n()) * Bc;
    // First stage, block by block: the derivative, projected (clamped system), each
    // sample's max |rate| and a non-finite flag (see sample_rates), and the stage state.
    // Branch-free so that it vectorises.
    std::fill(rt, rt + Bc, 0.0);
    std::fill(ac, ac + Bc, 0.0);
    for (std::size_t k = 0; k < field.blocks(); ++k) {
      double* f = k1.data() + k * block;
      const double* yk = w.data() + k * block;
      double* ytk = yt.data() + k * block;
      field.eval(k, w.data(), f);
      for (std::size_t q0 = 0; q0 < block; q0 += Bc) {
        for (std::size_t b = 0; b < Bc; ++b) {
          double fv = f[q0 + b];
          const double yv = yk[q0 + b];
          if constexpr (Clamp) {
            const bool held = (yv <= lo && fv < 0.0) || (yv >= hi && fv > 0.0);
            fv = held ? 0.0 : fv;
            f[q0 + b] = fv;
          }
          double rv = std::abs(fv);
          rv = rv <= kMaxFinite ? rv : 0.0;
          rt[b] = rt[b] < rv ? rv : rt[b];
          ac[b] += fv - fv;
          ytk[q0 + b] = yv + h * fv;
        }
      }
    }
    for (std::size_t b = 0; b < Bc; ++b) {
      if (active[b] == 0.0) continue;
      if (!(ac[b] == 0.0)) {
        ++r.non_finite;
        active[b] = 0.0;
        r.sample_steps[lane[b]] = step;
        --live;
      } else if (rate[b] < tol) {
        r.sample_settled[lane[b]] = 1;
        active[b] = 0.0;
        r.sample_steps[lane[b]] = step;
        --live;
      }
    }
    if (!compact) record_probes(net, B, w.data(), t, probes, step, false);
    if (live == 0) break;
    if (t >= t_max - 1e-9 * h || step >= max_steps) {
      if (step >= max_steps && t < t_max - 1e-9 * h)
        r.step_cap_hits += static_cast<std::int64_t>(live);
      for (std::size_t b = 0; b < Bc; ++b)
        if (active[b] != 0.0) r.sample_steps[lane[b]] = step;
      break;
    }
    // Second stage, block by block: the derivative at the stage state, projected there, and
    // the masked (clamped) update in one branch-free pass; frozen samples keep their state.
    // The field reads only the stage state, so updating w block by block is safe.
    const double half = 0.5 * h;
    std::fill(ac, ac + Bc, 0.0);  // now: clamp events per lane (a sum per row would not vectorise)
    for (std::size_t k = 0; k < field.blocks(); ++k) {
      const double* f1 = k1.data() + k * block;
      const double* ytk = yt.data() + k * block;
      double* yk = w.data() + k * block;
      field.eval(k, yt.data(), k2p);
      for (std::size_t q0 = 0; q0 < block; q0 += Bc) {
        for (std::size_t b = 0; b < Bc; ++b) {
          double f2v = k2p[q0 + b];
          if constexpr (Clamp) {
            const double xv = ytk[q0 + b];
            const bool held = ((xv <= lo) & (f2v < 0.0)) | ((xv >= hi) & (f2v > 0.0));
            f2v = held ? 0.0 : f2v;
          }
          const double yv = yk[q0 + b];
          double v = yv + half * (f1[q0 + b] + f2v);
          const bool live_b = act[b] != 0.0;
          if constexpr (Clamp) {
            // lo < hi, so this is "below ? lo : above ? hi : v" (a NaN passes through).
            const bool outside = (v < lo) | (v > hi);
            ac[b] += (live_b & outside) ? 1.0 : 0.0;
            v = v < lo ? lo : v;
            v = v > hi ? hi : v;
          }
          yk[q0 + b] = live_b ? v : yv;
        }
      }
    }
    if constexpr (Clamp)
      for (std::size_t b = 0; b < Bc; ++b) r.clamp_events += static_cast<std::int64_t>(ac[b]);
    ++step;
    t = step * h;
    if (compact && live < Bc) {
      // Frozen lanes are final: store them, then keep only the live ones.
      keep.clear();
      for (std::size_t b = 0; b < Bc; ++b) {
        if (active[b] == 0.0)
          store_lane(b);
        else
          keep.push_back(b);
      }
      keep_lanes_of(w, Bc, keep);
      for (std::size_t j = 0; j < live; ++j) lane[j] = lane[keep[j]];
      field.keep_lanes(keep);
      Bc = live;
      std::fill(active.begin(), active.begin() + Bc, 1.0);
    }
  }
  for (std::size_t b = 0; b < Bc; ++b) store_lane(b);
  record_probes(net, B, y, t, probes, step, true);
}

}  // namespace wuxing::bench_before
