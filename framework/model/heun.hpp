// The one batched Heun (improved Euler) stepper of the model, in the style of Boost.Odeint:
// the stepper is kept apart from what it integrates and from what is recorded.
//  - the system is a block field (fields.hpp: the forward field, the adjoint field), evaluated
//    one neuron block at a time so that each block's stage arithmetic, rate test and update
//    run while the block is in L1 (the "algebra": branch-free lane loops that vectorise);
//  - the bounds say whether the system is clamped (forward phase, bptt) or free (adjoint);
//  - the settle rule says when it stops: each sample (lane) frozen on its own, or the whole
//    batch together (bptt's unrolled network);
//  - an observer sees the state at every step (trajectory probes, bptt's tape);
//  - heun_replay repeats one step with its stages kept, for a reverse pass (bptt).
// The forward phase, the integrated adjoint and bptt all step through heun_first_stage and
// heun_second_stage below: one copy of the Heun update and its operation order.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "framework/model/lanes.hpp"
#include "framework/model/phase.hpp"

namespace wuxing::detail {

// The value range of the clamped system ([lo, hi]), or none (Clamp = false: the adjoint).
// Clamped, an element held at a bound and pushed outward has rate 0 in both stages (see
// lanes.hpp's project), and each updated value is clamped into the range.
template <bool Clamp>
struct Bounds {
  double lo = 0.0, hi = 0.0;
};

// The clamped system (lanes.hpp's project, branch-free so that the lane loops vectorise): x is
// held at a bound when its rate f pushes it outward, and then its rate counts as 0.
template <bool Clamp>
inline bool is_held(double x, double f, Bounds<Clamp> bounds) {
  if constexpr (Clamp)
    return ((x <= bounds.lo) & (f < 0.0)) | ((x >= bounds.hi) & (f > 0.0));
  else
    return false;
}

// When the integration stops. per_lane: each sample is frozen once its own max |rate| < tol
// (or once it turns non-finite), so its result does not depend on its batch-mates, and the
// frozen lanes are dropped from the working arrays (when no observer looks at them). The
// integration ends when every lane is frozen. whole_batch: nothing is frozen; every lane
// steps until all max |rates| are < tol (a non-finite rate counts as 0), as bptt's unrolled
// network does. Both stop at the time or step cap.
enum class Settle { per_lane, whole_batch };

struct HeunControl {
  double h = 0.0;
  double t_max = 0.0;  // stop once t = step h >= t_max - 1e-9 h (infinity: no time cap)
  std::int64_t max_steps = 0;
  double tol = 0.0;  // the settle test: max |rate| < tol (0: never settles)
};

// The observer that sees nothing. Any other observer is called as
// observe(const double* x, double t, std::int64_t step) at the top of every step (step 0
// the start, then after each update, the last state once) with the state of every lane in
// batch order; the stepper then keeps every lane in its working arrays.
struct NoObserver {
  void operator()(const double*, double, std::int64_t) const {}
};

// Where a replayed step's stages go (heun_replay); NoTap keeps nothing and costs nothing.
struct NoTap {
  static constexpr bool on = false;
  void first(std::size_t, double) {}
  void second(std::size_t, double, double) {}
};

// First stage of block k over `lanes` lanes (`block` = rows per block x lanes values): the
// derivative f = field(w), projected (clamped system), each lane's max |f| (`rate`) and a
// non-finite flag (`acc`: sum of f - f, see sample_rates), and the stage state yt = w + h f.
// Branch-free so that it vectorises. The arrays never overlap (__restrict): without that promise
// the compiler versions each lane loop with a run-time overlap test; with it, most of the
// template's gap to the fused kernel it replaced closed (bench/RESULTS.md).
template <bool Clamp, class Field, class Tap>
inline void heun_first_stage(const Field& field, std::size_t k, std::size_t block,
                             std::size_t lanes, const double* __restrict w, double* __restrict k1,
                             double* __restrict yt, double h, Bounds<Clamp> bounds,
                             double* __restrict rate, double* __restrict acc, Tap& tap) {
  double* __restrict f = k1 + k * block;
  const double* __restrict yk = w + k * block;
  double* __restrict ytk = yt + k * block;
  field.eval(k, w, f);
  for (std::size_t q0 = 0; q0 < block; q0 += lanes) {
    for (std::size_t b = 0; b < lanes; ++b) {
      double fv = f[q0 + b];
      const double yv = yk[q0 + b];
      const bool held = is_held(yv, fv, bounds);
      if constexpr (Clamp) {
        fv = held ? 0.0 : fv;
        f[q0 + b] = fv;
      }
      if constexpr (Tap::on) tap.first(k * block + q0 + b, held ? 0.0 : 1.0);
      double rv = std::abs(fv);
      rv = rv <= kMaxFinite ? rv : 0.0;
      rate[b] = rate[b] < rv ? rv : rate[b];
      ytk[q0 + b] = yv + h * fv;
    }
    // The non-finite flag in a pass of its own over the (projected) rates: folded into the
    // loop above, GCC 12 does not if-convert it for AVX2 (only AVX-512's masks let it
    // vectorise). Same values, same order per lane, so the same bits.
    for (std::size_t b = 0; b < lanes; ++b) acc[b] += f[q0 + b] - f[q0 + b];
  }
}

// Second stage of block k: the derivative at the stage state (into k2, one block), projected
// there, and the masked (clamped) update w += h/2 (k1 + k2) in one branch-free pass; lanes
// with active[b] == 0 keep their state. `clamps` counts each lane's clamped values. The field
// reads only the stage state, so updating w block by block is safe. No array overlaps another.
template <bool Clamp, class Field, class Tap>
inline void heun_second_stage(const Field& field, std::size_t k, std::size_t block,
                              std::size_t lanes, double* __restrict w, const double* __restrict k1,
                              const double* __restrict yt, double* __restrict k2, double h,
                              Bounds<Clamp> bounds, const double* __restrict active,
                              double* __restrict clamps, Tap& tap) {
  const double half = 0.5 * h;
  // The bounds as scalars: read through the struct inside the selects below, GCC 12 keeps them
  // as loads in the select's arms and does not if-convert the loop for AVX2 (only AVX-512's
  // masked loads let it vectorise), which made this stage up to 1.9x slower on such CPUs.
  const double lo = bounds.lo, hi = bounds.hi;
  const double* __restrict f1 = k1 + k * block;
  const double* __restrict ytk = yt + k * block;
  double* __restrict yk = w + k * block;
  field.eval(k, yt, k2);
  for (std::size_t q0 = 0; q0 < block; q0 += lanes) {
    // The tap's mask and pre-clamp value (bptt's replay) in a pass of their own before the
    // update: stored in the update's loop, the mask kept GCC 12 from if-converting it for AVX2
    // (bench/RESULTS.md). The same expressions, so the same values.
    if constexpr (Tap::on)
      for (std::size_t b = 0; b < lanes; ++b) {
        double f2v = k2[q0 + b];
        const bool held = is_held(ytk[q0 + b], f2v, bounds);
        if constexpr (Clamp) f2v = held ? 0.0 : f2v;
        const double kept = held ? 0.0 : 1.0;
        const double v = yk[q0 + b] + half * (f1[q0 + b] + f2v);
        tap.second(k * block + q0 + b, kept, v);
      }
    for (std::size_t b = 0; b < lanes; ++b) {
      double f2v = k2[q0 + b];
      const bool held = is_held(ytk[q0 + b], f2v, bounds);
      if constexpr (Clamp) f2v = held ? 0.0 : f2v;
      const double yv = yk[q0 + b];
      double v = yv + half * (f1[q0 + b] + f2v);
      const bool live_b = active[b] != 0.0;
      if constexpr (Clamp) {
        // lo < hi, so this is "below ? lo : above ? hi : v" (a NaN passes through).
        const bool outside = (v < lo) | (v > hi);
        clamps[b] += (live_b & outside) ? 1.0 : 0.0;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
      }
      yk[q0 + b] = live_b ? v : yv;
    }
  }
}

// Integrates the field from y (B lanes, the field's layout: [block][row][lane]) until the
// settle rule stops it, and leaves the end state in y. Fills r.sample_steps (each lane's
// steps), r.clamp_events, and for per_lane also r.sample_settled, r.non_finite and
// r.step_cap_hits (whole_batch leaves the settle verdict to the caller). Returns the steps
// of the loop (the end time is steps h).
template <Settle S, bool Clamp, class Field, class Observer = NoObserver>
std::int64_t heun_integrate(Field& field, std::size_t B, double* y, const HeunControl& c,
                            Bounds<Clamp> bounds, PhaseReport& r, Observer&& observe = {}) {
  constexpr bool observed = !std::is_same_v<std::remove_cvref_t<Observer>, NoObserver>;
  // Observers read samples by their batch index: keep every lane where they look.
  constexpr bool compact = S == Settle::per_lane && !observed;
  const std::size_t rows = field.blocks() * field.block_rows();
  const double h = c.h;
  std::vector<double>& w = scratch(5);  // the state of the lanes still integrated
  w.assign(y, y + rows * B);
  std::vector<std::size_t> lane(B), keep;  // lane -> sample
  for (std::size_t b = 0; b < B; ++b) lane[b] = b;
  std::size_t Bc = B;  // lanes in the working arrays
  std::vector<double>& k1 = scratch(2);
  std::vector<double>& k2 = scratch(3);
  k1.resize(rows * B);
  k2.resize(field.block_rows() * B);
  std::vector<double> yt(rows * B), rate(B), acc(B);
  std::vector<double> active(B, 1.0);
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 0);
  NoTap tap;
  std::int64_t step = 0;
  double t = 0.0;
  std::size_t live = B;
  double* rt = rate.data();
  double* ac = acc.data();
  // Writes lane b of the working state to its sample's place in y.
  auto store_lane = [&](std::size_t b) {
    for (std::size_t q = 0; q < rows; ++q) y[q * B + lane[b]] = w[q * Bc + b];
  };
  while (true) {
    const std::size_t block = field.block_rows() * Bc;
    std::fill(rt, rt + Bc, 0.0);
    std::fill(ac, ac + Bc, 0.0);
    for (std::size_t k = 0; k < field.blocks(); ++k)
      heun_first_stage(field, k, block, Bc, w.data(), k1.data(), yt.data(), h, bounds, rt, ac, tap);
    if constexpr (S == Settle::per_lane) {
      for (std::size_t b = 0; b < Bc; ++b) {
        if (active[b] == 0.0) continue;
        if (!(ac[b] == 0.0)) {
          ++r.non_finite;
          active[b] = 0.0;
          r.sample_steps[lane[b]] = step;
          --live;
        } else if (rate[b] < c.tol) {
          r.sample_settled[lane[b]] = 1;
          active[b] = 0.0;
          r.sample_steps[lane[b]] = step;
          --live;
        }
      }
    } else {
      bool all = true;
      for (std::size_t b = 0; b < Bc; ++b) all = all && rate[b] < c.tol;
      if (all) {
        for (std::size_t b = 0; b < Bc; ++b) r.sample_steps[lane[b]] = step;
        live = 0;
      }
    }
    if constexpr (observed) observe(static_cast<const double*>(w.data()), t, step);
    if (live == 0) break;
    if (t >= c.t_max - 1e-9 * h || step >= c.max_steps) {
      if (step >= c.max_steps && t < c.t_max - 1e-9 * h)
        r.step_cap_hits += static_cast<std::int64_t>(live);
      for (std::size_t b = 0; b < Bc; ++b)
        if (active[b] != 0.0) r.sample_steps[lane[b]] = step;
      break;
    }
    std::fill(ac, ac + Bc, 0.0);  // now: clamp events per lane (a sum per row would not vectorise)
    for (std::size_t k = 0; k < field.blocks(); ++k)
      heun_second_stage(field, k, block, Bc, w.data(), k1.data(), yt.data(), k2.data(), h, bounds,
                        active.data(), ac, tap);
    if constexpr (Clamp)
      for (std::size_t b = 0; b < Bc; ++b) r.clamp_events += static_cast<std::int64_t>(ac[b]);
    ++step;
    t = step * h;
    if constexpr (compact) {
      if (live < Bc) {
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
  }
  for (std::size_t b = 0; b < Bc; ++b) store_lane(b);
  return step;
}

// One step of every lane from x, replayed with its stages kept, for a reverse pass through
// the step (bptt): the stage state xt = x + h k1, the projection masks m1 (of k1 at x) and
// m2 (of k2 at xt: 1 where the rate was kept, 0 where it was held), and the updated value y
// before the clamp. The same stage code as heun_integrate, so the same bits.
struct HeunStages {
  std::vector<double> xt, m1, m2, y;
  std::vector<double> x, k1, k2, rate, acc, active;  // working arrays
  static constexpr bool on = true;
  void first(std::size_t i, double kept) { m1[i] = kept; }
  void second(std::size_t i, double kept, double v) {
    m2[i] = kept;
    y[i] = v;
  }
};

template <bool Clamp, class Field>
void heun_replay(const Field& field, std::size_t B, const double* x, double h, Bounds<Clamp> bounds,
                 HeunStages& s) {
  const std::size_t block = field.block_rows() * B, size = field.blocks() * block;
  s.x.assign(x, x + size);
  for (auto* v : {&s.xt, &s.m1, &s.m2, &s.y, &s.k1}) v->resize(size);
  s.k2.resize(block);
  s.rate.assign(B, 0.0);
  s.acc.assign(B, 0.0);
  s.active.assign(B, 1.0);
  for (std::size_t k = 0; k < field.blocks(); ++k)
    heun_first_stage(field, k, block, B, s.x.data(), s.k1.data(), s.xt.data(), h, bounds,
                     s.rate.data(), s.acc.data(), s);
  for (std::size_t k = 0; k < field.blocks(); ++k)
    heun_second_stage(field, k, block, B, s.x.data(), s.k1.data(), s.xt.data(), s.k2.data(), h,
                      bounds, s.active.data(), s.acc.data(), s);
}

}  // namespace wuxing::detail
