// The batched Heun stepper (framework/model/heun.hpp) on small linear block fields with known
// solutions: second order by halving the step, per-lane freezing (each lane's result is the
// one it gets alone, whatever its batch-mates), the whole-batch rule, the observer's calls,
// the clamped system, non-finite lanes, and the replayed step.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "framework/model/heun.hpp"

using namespace wuxing;
using namespace wuxing::detail;

namespace {

// Blocks of two rows, each lane its own decay rate a: a damped rotation
// y0' = -a y0 - w y1 + c y0(block k - 1), y1' = w y0 - a y1. The coupling c makes a block
// depend on the previous one, as a layer depends on the layer before. Layout [block][row][lane].
struct LinearField {
  std::size_t n_blocks = 1;
  std::vector<double> a;  // per lane
  double w = 1.0, c = 0.0;
  int compactions = 0;
  std::vector<std::size_t> lanes_left;  // the lanes kept by the last keep_lanes

  std::size_t blocks() const { return n_blocks; }
  std::size_t block_rows() const { return 2; }
  void eval(std::size_t k, const double* y, double* f) const {
    const std::size_t B = a.size();
    const double* yk = y + k * 2 * B;
    for (std::size_t b = 0; b < B; ++b) {
      f[b] = -a[b] * yk[b] - w * yk[B + b] + (k > 0 ? c * y[(k - 1) * 2 * B + b] : 0.0);
      f[B + b] = w * yk[b] - a[b] * yk[B + b];
    }
  }
  void keep_lanes(const std::vector<std::size_t>& keep) {
    std::vector<double> kept;
    for (std::size_t j : keep) kept.push_back(a[j]);
    a = kept;
    lanes_left = keep;
    ++compactions;
  }
};

// An affine rate per lane, y' = alpha_b y + d_b (one block of one row): for the bounds.
struct AffineField {
  std::vector<double> alpha, d;
  std::size_t blocks() const { return 1; }
  std::size_t block_rows() const { return 1; }
  void eval(std::size_t, const double* y, double* f) const {
    for (std::size_t b = 0; b < d.size(); ++b) f[b] = alpha[b] * y[b] + d[b];
  }
  void keep_lanes(const std::vector<std::size_t>& keep) {
    std::vector<double> ka, kd;
    for (std::size_t j : keep) {
      ka.push_back(alpha[j]);
      kd.push_back(d[j]);
    }
    alpha = ka;
    d = kd;
  }
};

HeunControl control(double h, double t_max, double tol, std::int64_t max_steps = 1000000) {
  HeunControl c;
  c.h = h;
  c.t_max = t_max;
  c.tol = tol;
  c.max_steps = max_steps;
  return c;
}

// y(0) = (y0, y1) for every lane of a one-block field.
std::vector<double> start(std::size_t blocks, std::size_t B, double y0, double y1) {
  std::vector<double> y(blocks * 2 * B);
  for (std::size_t k = 0; k < blocks; ++k)
    for (std::size_t b = 0; b < B; ++b) {
      y[k * 2 * B + b] = y0;
      y[k * 2 * B + B + b] = y1;
    }
  return y;
}

}  // namespace

TEST_CASE("heun: second order, by halving the step on a damped rotation") {
  // Exact: y(t) = e^{-a t} R(w t) y(0). Two lanes with different decay, tol 0 (never
  // settles), so both run to t_max.
  const double T = 2.0, w = 1.5;
  const std::vector<double> a = {0.3, 0.8};
  auto error = [&](double h) {
    LinearField f;
    f.a = a;
    f.w = w;
    std::vector<double> y = start(1, 2, 1.0, 0.5);
    PhaseReport r;
    const std::int64_t steps =
        heun_integrate<Settle::per_lane>(f, 2, y.data(), control(h, T, 0.0), Bounds<false>{}, r);
    CHECK(steps == static_cast<std::int64_t>(std::llround(T / h)));
    double err = 0.0;
    for (std::size_t b = 0; b < 2; ++b) {
      const double e = std::exp(-a[b] * T), cs = std::cos(w * T), sn = std::sin(w * T);
      err = std::max(err, std::abs(y[b] - e * (1.0 * cs - 0.5 * sn)));
      err = std::max(err, std::abs(y[2 + b] - e * (1.0 * sn + 0.5 * cs)));
    }
    return err;
  };
  const double e1 = error(0.02), e2 = error(0.01), e3 = error(0.005);
  // Heun's global error is O(h^2): each halving divides it by about 4.
  CHECK(e1 / e2 == doctest::Approx(4.0).epsilon(0.05));
  CHECK(e2 / e3 == doctest::Approx(4.0).epsilon(0.05));
  CHECK(e3 < 1e-4);
}

TEST_CASE("heun: per-lane freezing gives each lane its own result and steps") {
  // Five lanes decaying at different rates through three coupled blocks: each settles at its
  // own step, and the batch result equals each lane integrated alone, bit for bit, although
  // the settled lanes are dropped from the working arrays (keep_lanes) on the way.
  const std::vector<double> a = {0.9, 0.2, 0.5, 1.4, 0.35};
  const std::size_t B = a.size(), blocks = 3;
  const double h = 0.1, tol = 1e-5;
  LinearField batch;
  batch.n_blocks = blocks;
  batch.a = a;
  batch.c = 0.5;
  std::vector<double> y = start(blocks, B, 1.0, -0.4);
  PhaseReport r;
  heun_integrate<Settle::per_lane>(batch, B, y.data(), control(h, 1e9, tol), Bounds<false>{}, r);
  CHECK(batch.compactions >= 3);  // lanes were dropped as they settled
  CHECK(r.non_finite == 0);
  for (std::size_t b = 0; b < B; ++b) {
    CAPTURE(b);
    CHECK(r.sample_settled[b] == 1);
    LinearField one;
    one.n_blocks = blocks;
    one.a = {a[b]};
    one.c = 0.5;
    std::vector<double> y1 = start(blocks, 1, 1.0, -0.4);
    PhaseReport r1;
    const std::int64_t steps = heun_integrate<Settle::per_lane>(
        one, 1, y1.data(), control(h, 1e9, tol), Bounds<false>{}, r1);
    CHECK(r.sample_steps[b] == steps);
    for (std::size_t q = 0; q < blocks * 2; ++q) CHECK(y[q * B + b] == y1[q]);
    // Frozen exactly when its max rate fell below tol: below at the end, not one step earlier.
    std::vector<double> f(blocks * 2);
    for (std::size_t k = 0; k < blocks; ++k) one.eval(k, y1.data(), f.data() + 2 * k);
    double rate = 0.0;
    for (double v : f) rate = std::max(rate, std::abs(v));
    CHECK(rate < tol);
  }
  // The slow lane takes several times the steps of the fast one.
  CHECK(r.sample_steps[1] > 2 * r.sample_steps[3]);
}

TEST_CASE("heun: the whole-batch rule steps every lane until all have settled") {
  const std::vector<double> a = {0.9, 0.2, 0.5};
  const std::size_t B = a.size();
  const double h = 0.1, tol = 1e-5;
  // No rotation (w = 0): each lane's max rate decays monotonically.
  LinearField f;
  f.a = a;
  f.w = 0.0;
  std::vector<double> y = start(1, B, 1.0, 0.0), alone = y;
  PhaseReport r, r_lane;
  const std::int64_t steps =
      heun_integrate<Settle::whole_batch>(f, B, y.data(), control(h, 1e9, tol), Bounds<false>{}, r);
  LinearField g;
  g.a = a;
  g.w = 0.0;
  heun_integrate<Settle::per_lane>(g, B, alone.data(), control(h, 1e9, tol), Bounds<false>{},
                                   r_lane);
  CHECK(f.compactions == 0);
  // The slowest lane decides; every lane took its steps.
  CHECK(steps == *std::max_element(r_lane.sample_steps.begin(), r_lane.sample_steps.end()));
  for (std::size_t b = 0; b < B; ++b) CHECK(r.sample_steps[b] == steps);
  // The fast lanes moved on past their own settling point, so they differ from per_lane's.
  CHECK(y[0] != alone[0]);
  CHECK(std::abs(y[0]) < std::abs(alone[0]));
  // The step cap stops it first when it is smaller.
  LinearField capped;
  capped.a = a;
  capped.w = 0.0;
  std::vector<double> yc = start(1, B, 1.0, 0.0);
  PhaseReport rc;
  CHECK(heun_integrate<Settle::whole_batch>(capped, B, yc.data(), control(h, 1e9, tol, 7),
                                            Bounds<false>{}, rc) == 7);
}

TEST_CASE("heun: the observer sees every step's state of every lane, in batch order") {
  const std::vector<double> a = {1.2, 0.3, 0.6};
  const std::size_t B = a.size();
  const double h = 0.1, tol = 1e-4;
  LinearField f;
  f.n_blocks = 2;
  f.a = a;
  f.c = 0.5;
  std::vector<double> y = start(2, B, 1.0, 0.0);
  const std::vector<double> y0 = y;
  std::vector<std::int64_t> steps_seen;
  std::vector<double> times;
  std::vector<std::vector<double>> states;
  PhaseReport r;
  const std::int64_t steps =
      heun_integrate<Settle::per_lane>(f, B, y.data(), control(h, 1e9, tol), Bounds<false>{}, r,
                                       [&](const double* x, double t, std::int64_t step) {
                                         steps_seen.push_back(step);
                                         times.push_back(t);
                                         states.emplace_back(x, x + y0.size());
                                       });
  // No lane is dropped while someone looks at them by batch index.
  CHECK(f.compactions == 0);
  REQUIRE(steps_seen.size() == static_cast<std::size_t>(steps) + 1);
  for (std::size_t i = 0; i < steps_seen.size(); ++i) {
    CHECK(steps_seen[i] == static_cast<std::int64_t>(i));
    CHECK(times[i] == static_cast<std::int64_t>(i) * h);
  }
  CHECK(states.front() == y0);
  CHECK(states.back() == y);
  // A frozen lane keeps its state in what the observer sees; the result is the same bits as
  // without the observer (with compaction).
  LinearField g;
  g.n_blocks = 2;
  g.a = a;
  g.c = 0.5;
  std::vector<double> unobserved = y0;
  PhaseReport ru;
  heun_integrate<Settle::per_lane>(g, B, unobserved.data(), control(h, 1e9, tol), Bounds<false>{},
                                   ru);
  CHECK(g.compactions > 0);
  CHECK(unobserved == y);
  CHECK(ru.sample_steps == r.sample_steps);
  const std::size_t fast = 0;  // settles first
  const std::size_t at = static_cast<std::size_t>(r.sample_steps[fast]);
  REQUIRE(at < states.size() - 1);
  CHECK(states[at][fast] == states.back()[fast]);
  CHECK(states[at][1] != states.back()[1]);
}

TEST_CASE("heun: the clamped system holds a lane at its bound and counts the clamps") {
  // Lane 0 grows (y' = 2.5 y): its stage state stays inside [0, 1] but the update overshoots
  // hi, so it is clamped once, then held there (pushed outward: rate 0, settled). Lane 1 is
  // its mirror image towards lo. Lane 2 moves at a constant rate that never settles and
  // stops at the time cap inside the range.
  AffineField f;
  f.alpha = {2.5, 2.5, 0.0};
  f.d = {0.0, -2.5, 0.01};
  std::vector<double> y = {0.64, 0.36, 0.5};
  PhaseReport r;
  const double h = 0.2;
  const std::int64_t steps = heun_integrate<Settle::per_lane>(f, 3, y.data(), control(h, 2.0, 1e-3),
                                                              Bounds<true>{0.0, 1.0}, r);
  CHECK(y[0] == 1.0);
  CHECK(y[1] == 0.0);
  CHECK(r.clamp_events == 2);
  CHECK(r.sample_settled[0] == 1);
  CHECK(r.sample_settled[1] == 1);
  CHECK(r.sample_steps[0] == 1);
  CHECK(r.sample_steps[1] == 1);
  CHECK(r.sample_settled[2] == 0);
  CHECK(steps == 10);
  CHECK(y[2] == doctest::Approx(0.5 + 0.01 * 2.0));
  CHECK(r.step_cap_hits == 0);  // stopped by the time cap, not the step cap
  // Unclamped, the same lanes leave the range.
  // (a fresh field: the first run dropped the settled lanes from f)
  AffineField g;
  g.alpha = {2.5, 2.5, 0.0};
  g.d = {0.0, -2.5, 0.01};
  std::vector<double> free_y = {0.64, 0.36, 0.5};
  PhaseReport rf;
  heun_integrate<Settle::per_lane>(g, 3, free_y.data(), control(h, 0.2, 1e-3), Bounds<false>{}, rf);
  CHECK(free_y[0] > 1.0);
  CHECK(free_y[1] < 0.0);
  CHECK(rf.clamp_events == 0);
}

TEST_CASE("heun: a non-finite lane is frozen and counted, the others go on") {
  AffineField f;
  f.alpha = {0.0, 0.0, 0.0};
  f.d = {std::numeric_limits<double>::quiet_NaN(), 0.0, 1.0};
  std::vector<double> y = {0.0, 0.0, 0.0};
  PhaseReport r;
  heun_integrate<Settle::per_lane>(f, 3, y.data(), control(0.1, 1.0, 1e-3, 4), Bounds<false>{}, r);
  CHECK(r.non_finite == 1);
  CHECK(r.sample_settled[0] == 0);
  CHECK(r.sample_steps[0] == 0);
  CHECK(y[0] == 0.0);  // frozen before it moved
  CHECK(r.sample_settled[1] == 1);
  CHECK(r.sample_settled[2] == 0);
  CHECK(r.sample_steps[2] == 4);  // the step cap
  CHECK(r.step_cap_hits == 1);
}

TEST_CASE("heun: a replayed step is the integrator's step, with its stages") {
  AffineField f;
  f.alpha = {0.0, 0.0, 0.0};
  f.d = {2.0, -2.0, 0.5};
  const std::vector<double> x = {0.95, 0.5, 1.0};
  std::vector<double> y = x;
  PhaseReport r;
  const Bounds<true> bounds{0.0, 1.0};
  heun_integrate<Settle::per_lane>(f, 3, y.data(), control(0.1, 1e9, 0.0, 1), bounds, r);
  HeunStages s;
  heun_replay(f, 3, x.data(), 0.1, bounds, s);
  CHECK(s.x == y);
  // Lane 0's stage state is beyond hi (held there: m2 = 0) and its update before the clamp
  // too; lane 2 starts held at hi (m1 = m2 = 0); lane 1 moves freely.
  CHECK(s.xt == std::vector<double>{0.95 + 0.1 * 2.0, 0.5 + 0.1 * -2.0, 1.0});
  CHECK(s.m1 == std::vector<double>{1.0, 1.0, 0.0});
  CHECK(s.m2 == std::vector<double>{0.0, 1.0, 0.0});
  CHECK(s.y[0] == 0.95 + 0.05 * 2.0);
  CHECK(s.y[0] > 1.0);
  CHECK(y[0] == 1.0);
  CHECK(s.y[1] == 0.5 + 0.05 * (-2.0 + -2.0));
  CHECK(s.y[2] == 1.0);
}
