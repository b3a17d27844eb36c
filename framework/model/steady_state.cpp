// GCC 12 reports a false -W(maybe-)uninitialized inside Eigen's AVX-512 kernels (see
// operating_point.cpp).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "framework/model/steady_state.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "framework/model/connection_kernels.hpp"
#include "framework/model/forward_phase.hpp"
#include "framework/model/lanes.hpp"
#include "framework/model/operating_point.hpp"
#include "framework/model/response_table.hpp"

namespace wuxing {
namespace detail {

// LU factorisation with partial pivoting of a row-major m x m array, in place; piv[c] is the
// row swapped into row c. Returns false when a pivot vanishes (singular).
bool lu_factor(double* A, int m, int* piv) {
  for (int c = 0; c < m; ++c) {
    int p = c;
    for (int q = c + 1; q < m; ++q)
      if (std::abs(A[q * m + c]) > std::abs(A[p * m + c])) p = q;
    piv[c] = p;
    if (!(std::abs(A[p * m + c]) > 0.0)) return false;
    if (p != c)
      for (int t = 0; t < m; ++t) std::swap(A[c * m + t], A[p * m + t]);
    const double inv = 1.0 / A[c * m + c];
    for (int q = c + 1; q < m; ++q) {
      const double f = A[q * m + c] * inv;
      A[q * m + c] = f;
      for (int t = c + 1; t < m; ++t) A[q * m + t] -= f * A[c * m + t];
    }
  }
  return true;
}

// Solves A y = r with the factors of lu_factor; r is overwritten by y.
void lu_solve(const double* LU, int m, const int* piv, double* r) {
  // lu_factor swaps whole rows (multipliers included), so the permutation comes first.
  for (int c = 0; c < m; ++c)
    if (piv[c] != c) std::swap(r[c], r[piv[c]]);
  for (int c = 0; c < m; ++c)
    for (int q = c + 1; q < m; ++q) r[q] -= LU[q * m + c] * r[c];
  for (int c = m - 1; c >= 0; --c) {
    double v = r[c];
    for (int t = c + 1; t < m; ++t) v -= LU[c * m + t] * r[t];
    r[c] = v / LU[c * m + c];
  }
}

// Columns of the Jacobian for every lane: J[(row * n + column) * B + b], by applying J to the
// unit vectors (works for any equation variant through its batched jacobian_apply).
void jacobian_columns(const Equation& eq, const Topology& topo, const KParams& K, const double* x,
                      std::size_t B, std::vector<double>& unit, std::vector<double>& column,
                      std::vector<double>& J) {
  const int n = topo.n;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  unit.assign(nB, 0.0);
  column.resize(nB);
  J.resize(static_cast<std::size_t>(n) * nB);
  for (int c = 0; c < n; ++c) {
    std::fill(unit.begin() + static_cast<std::size_t>(c) * B,
              unit.begin() + static_cast<std::size_t>(c + 1) * B, 1.0);
    eq.jacobian_apply(topo, K, x, unit.data(), column.data(), B);
    for (int r = 0; r < n; ++r)
      for (std::size_t b = 0; b < B; ++b)
        J[(static_cast<std::size_t>(r) * n + c) * B + b] =
            column[static_cast<std::size_t>(r) * B + b];
    std::fill(unit.begin() + static_cast<std::size_t>(c) * B,
              unit.begin() + static_cast<std::size_t>(c + 1) * B, 0.0);
  }
}

// An element at a bound whose rate pushes outward is held there (the clamped system).
inline bool held(double x, double f, double lo, double hi) {
  return (x <= lo && f < 0.0) || (x >= hi && f > 0.0);
}

}  // namespace detail

void linear_start(const Equation& eq, const Topology& topo, const KParams& K, const double* u,
                  std::size_t B, const NeuronSolveOptions& options, double* x) {
  // The linear response at the fixed point, x* - J*^-1 u, kept in the range: most of the
  // way for small drives, so that Newton needs fewer steps.
  const int n = topo.n;
  const double xs = eq.fixed_point(K);
  const Eigen::MatrixXd Gs =
      -eq.jacobian(topo, K, Eigen::VectorXd::Constant(n, xs)).partialPivLu().inverse();
  for (int e = 0; e < n; ++e)
    for (std::size_t b = 0; b < B; ++b) {
      double v = xs;
      for (int c = 0; c < n; ++c) v += Gs(e, c) * u[c * B + b];
      x[e * B + b] = std::clamp(v, options.lo, options.hi);
    }
}

int solve_neuron(const Equation& eq, const Topology& topo, const KParams& K, const double* u,
                 std::size_t B, const NeuronSolveOptions& options, double* x, double* G,
                 SolveOutcome* outcome) {
  const int n = topo.n;
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  const double lo = options.lo, hi = options.hi;
  std::vector<double> f(nB), unit, column, J;
  std::vector<char> done(B, 0);
  std::fill(outcome, outcome + B, SolveOutcome::no_converge);
  double A[256], JF[256], r[16];
  int free_at[16], piv[16];
  int iterations = 0;
  // Newton on the free elements; held elements stay at their bound. After each step the
  // state is projected into the range, so an element that would leave it is stopped at the
  // bound and becomes held when its rate still points outward (else it is free again).
  for (int it = 0;; ++it) {
    eq.rhs(topo, K, x, u, f.data(), B);
    bool all = true;
    for (std::size_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      double res = 0.0;
      bool finite = true;
      for (int e = 0; e < n; ++e) {
        const double fv = f[e * B + b], xv = x[e * B + b];
        finite = finite && std::isfinite(fv) && std::isfinite(xv);
        if (!detail::held(xv, fv, lo, hi)) res = std::max(res, std::abs(fv));
      }
      if (!finite) {
        done[b] = 1;  // outcome stays no_converge
      } else if (res < options.tol) {
        done[b] = 1;
        outcome[b] = SolveOutcome::settled;  // stability is checked below
      } else {
        all = false;
      }
    }
    if (all || it >= options.max_iterations) break;
    iterations = it + 1;
    detail::jacobian_columns(eq, topo, K, x, B, unit, column, J);
    for (std::size_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      int m = 0;
      for (int e = 0; e < n; ++e)
        if (!detail::held(x[e * B + b], f[e * B + b], lo, hi)) free_at[m++] = e;
      for (int p = 0; p < m; ++p) {
        for (int q = 0; q < m; ++q) A[p * m + q] = J[(free_at[p] * n + free_at[q]) * B + b];
        r[p] = -f[free_at[p] * B + b];
      }
      if (!detail::lu_factor(A, m, piv)) {
        done[b] = 1;  // singular: no Newton step (outcome stays no_converge)
        continue;
      }
      detail::lu_solve(A, m, piv, r);
      for (int p = 0; p < m; ++p) {
        double& xv = x[free_at[p] * B + b];
        xv = std::clamp(xv + r[p], lo, hi);
      }
    }
  }
  // At the solution: stability of the free block and its inverse (the sensitivity).
  // Elements at a bound are constants of the clamped system (as in the adjoint's mask D).
  detail::jacobian_columns(eq, topo, K, x, B, unit, column, J);
  if (G) std::fill(G, G + static_cast<std::size_t>(n) * nB, 0.0);
  for (std::size_t b = 0; b < B; ++b) {
    if (outcome[b] != SolveOutcome::settled) continue;
    int m = 0;
    for (int e = 0; e < n; ++e)
      if (!(x[e * B + b] <= lo || x[e * B + b] >= hi)) free_at[m++] = e;
    for (int p = 0; p < m; ++p)
      for (int q = 0; q < m; ++q) JF[p * m + q] = J[(free_at[p] * n + free_at[q]) * B + b];
    if (!detail::hurwitz_stable(JF, m)) {
      outcome[b] = SolveOutcome::unstable;
      continue;
    }
    if (!G) continue;
    std::copy(JF, JF + m * m, A);
    if (!detail::lu_factor(A, m, piv)) {
      outcome[b] = SolveOutcome::unstable;  // singular: a zero eigenvalue
      continue;
    }
    for (int q = 0; q < m; ++q) {
      for (int p = 0; p < m; ++p) r[p] = p == q ? -1.0 : 0.0;
      detail::lu_solve(A, m, piv, r);
      for (int p = 0; p < m; ++p) G[(free_at[p] * n + free_at[q]) * B + b] = r[p];
    }
  }
  return iterations;
}

namespace {

// The element every connection landing on layer l drives, or -1 if there are several.
int single_drive_element(const Network& net, int l) {
  const ConnectionSet& cs = net.connections(l);
  if (cs.size() == 0) return -1;
  for (std::size_t c = 1; c < cs.size(); ++c)
    if (cs.b[c] != cs.b[0]) return -1;
  return cs.b[0];
}

// Neuron i of layer l by projected Newton from the linear response.
int solve_lanes(const Network& net, int l, int i, const double* drive, std::size_t B,
                const NeuronSolveOptions& options, double* x, double* G, SolveOutcome* outcome) {
  linear_start(net.equation(), net.topology(), net.K(l, i), drive, B, options, x);
  return solve_neuron(net.equation(), net.topology(), net.K(l, i), drive, B, options, x, G,
                      outcome);
}

// Neuron i of layer l from its response table; the lanes the table cannot answer are
// solved (compacted into a smaller batch). Returns the Newton iterations of those.
int solve_from_table(const ResponseTable& table, const Network& net, int l, int i,
                     const double* drive, std::size_t B, const NeuronSolveOptions& options,
                     double* x, double* G, SolveOutcome* outcome) {
  const int n = net.n();
  std::vector<char> answered(B);
  table.lookup(drive + static_cast<std::size_t>(table.drive_element()) * B, B, x, G,
               answered.data());
  std::vector<std::size_t> rest;
  for (std::size_t b = 0; b < B; ++b) {
    outcome[b] = SolveOutcome::settled;
    if (!answered[b]) rest.push_back(b);
  }
  if (rest.empty()) return 0;
  const std::size_t R = rest.size();
  std::vector<double> u(static_cast<std::size_t>(n) * R), xr(u.size()),
      Gr(static_cast<std::size_t>(n) * n * R);
  std::vector<SolveOutcome> out(R);
  for (int e = 0; e < n; ++e)
    for (std::size_t j = 0; j < R; ++j) u[e * R + j] = drive[e * B + rest[j]];
  const int iterations =
      solve_lanes(net, l, i, u.data(), R, options, xr.data(), Gr.data(), out.data());
  for (std::size_t j = 0; j < R; ++j) {
    const std::size_t b = rest[j];
    outcome[b] = out[j];
    for (int e = 0; e < n; ++e) x[e * B + b] = xr[e * R + j];
    for (int q = 0; q < n * n; ++q) G[q * B + b] = Gr[q * R + j];
  }
  return iterations;
}

}  // namespace

PhaseReport solve_forward(const Network& net, Batch& batch, const IntegratorConfig& integ) {
  const std::size_t B = batch.B;
  const int n = net.n();
  const std::size_t nB = static_cast<std::size_t>(n) * B;
  const std::size_t size = net.state_size(B);
  batch.x.assign(size, 0.0);
  fill_fixed_points(net, B, batch.x.data());
  batch.sensitivity.assign(size * n, 0.0);
  batch.solved.assign(B, 1);
  NeuronSolveOptions options;
  options.lo = net.config().x_min;
  options.hi = net.config().x_max;
  options.tol = integ.solve_tol;
  options.max_iterations = integ.solve_max_iterations;
  PhaseReport r;
  r.sample_steps.assign(B, 0);
  r.sample_settled.assign(B, 1);
  std::vector<char> unstable(B, 0);
  std::vector<double> u(nB), fixed;
  std::vector<SolveOutcome> outcome(B);
  // forward_method table: per layer, the one element that every incoming connection drives
  // (-1 where the table does not apply).
  std::vector<int> drive_element(net.layer_count(), -1);
  if (integ.forward_method == ForwardMethod::table)
    for (int l = 1; l < net.layer_count(); ++l) drive_element[l] = single_drive_element(net, l);
  std::size_t block = 0;
  for (int l = 1; l < net.layer_count(); ++l) {
    if (l > 1) {
      fixed.resize(net.layer_size(l - 1));
      for (int j = 0; j < net.layer_size(l - 1); ++j) fixed[j] = net.fixed_point(l - 1, j);
    }
    for (int i = 0; i < net.layer_size(l); ++i, ++block) {
      const double* drive = batch.u_in.data() + static_cast<std::size_t>(i) * nB;
      if (l > 1) {
        gather_post(net.connections(l), n, B, batch.x.data() + net.layer_offset(l - 1, B),
                    fixed.data(), i, u.data());
        drive = u.data();
      }
      double* xi = batch.x.data() + block * nB;
      double* Gi = batch.sensitivity.data() + block * n * nB;
      const ResponseTable* table = drive_element[l] >= 0
                                       ? response_table(net.equation(), net.topology(), net.K(l, i),
                                                        drive_element[l], options, integ.table_step)
                                       : nullptr;
      const int iterations =
          table ? solve_from_table(*table, net, l, i, drive, B, options, xi, Gi, outcome.data())
                : solve_lanes(net, l, i, drive, B, options, xi, Gi, outcome.data());
      for (std::size_t b = 0; b < B; ++b) {
        r.sample_steps[b] = std::max<std::int64_t>(r.sample_steps[b], iterations);
        if (outcome[b] != SolveOutcome::settled) batch.solved[b] = 0;
        if (outcome[b] == SolveOutcome::unstable) unstable[b] = 1;
      }
    }
  }
  // Samples the solve could not settle: integrate them (their lanes only), as the dynamics
  // would. Their report entries come from the integration.
  std::vector<std::size_t> fallback;
  for (std::size_t b = 0; b < B; ++b)
    if (!batch.solved[b]) fallback.push_back(b);
  if (!fallback.empty()) {
    Batch sub;
    sub.B = fallback.size();
    sub.u_in = batch.u_in;
    detail::keep_lanes_of(sub.u_in, B, fallback);
    IntegratorConfig integrate = integ;
    integrate.forward_method = ForwardMethod::integrate;
    const PhaseReport fr = forward_phase(net, sub, integrate);
    const std::size_t rows = size / B;
    for (std::size_t j = 0; j < fallback.size(); ++j) {
      const std::size_t b = fallback[j];
      for (std::size_t q = 0; q < rows; ++q) batch.x[q * B + b] = sub.x[q * sub.B + j];
      r.sample_steps[b] += fr.sample_steps[j];
      r.sample_settled[b] = fr.sample_settled[j];
      r.solve_unstable += unstable[b];
    }
    r.solve_fallbacks = static_cast<std::int64_t>(fallback.size());
    r.step_cap_hits = fr.step_cap_hits;
    r.clamp_events = fr.clamp_events;
    r.non_finite = fr.non_finite;
  }
  finish_report(net, B, batch.x.data(), r);
  return r;
}

}  // namespace wuxing
