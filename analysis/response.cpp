// Eigen's dense products and LU solves at dynamic size instantiate AVX-512 kernels on which
// GCC 12 with -march=native reports a false -Wmaybe-uninitialized (GCC bug 105593; see
// analysis/stability_eigen.cpp). The pragmas must precede every include.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "analysis/response.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "analysis/stability.hpp"
#include "framework/base/enum_names.hpp"

namespace wuxing {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

bool finite(const Eigen::VectorXd& v) { return v.allFinite(); }

// The rows and columns of the free elements.
Eigen::MatrixXd free_block(const Eigen::MatrixXd& J, const std::vector<int>& free) {
  const auto m = static_cast<Eigen::Index>(free.size());
  Eigen::MatrixXd B(m, m);
  for (Eigen::Index r = 0; r < m; ++r)
    for (Eigen::Index c = 0; c < m; ++c) B(r, c) = J(free[r], free[c]);
  return B;
}

std::vector<int> free_elements(const std::vector<int>& clamp) {
  std::vector<int> free;
  for (int e = 0; e < static_cast<int>(clamp.size()); ++e)
    if (clamp[e] == 0) free.push_back(e);
  return free;
}

// Held at a bound and pushed outward: the same rule as the network's clamped stepper.
std::vector<int> clamp_pattern(const DrivenNeuron& p, const Eigen::VectorXd& x,
                               const Eigen::VectorXd& f) {
  std::vector<int> clamp(x.size(), 0);
  for (Eigen::Index e = 0; e < x.size(); ++e) {
    if (x(e) <= p.lo && f(e) < 0.0) clamp[e] = -1;
    if (x(e) >= p.hi && f(e) > 0.0) clamp[e] = +1;
  }
  return clamp;
}

// Near zero on the scale of the K's (which set the scale of every eigenvalue).
double rate_scale(const KParams& K) { return std::max({K.K1, K.K2, K.K3}); }

}  // namespace

std::string_view to_string(Crossing crossing) {
  static constexpr std::array<std::string_view, 5> names{"none", "fold", "hopf", "border", "clamp"};
  return enum_name(crossing, names, "?");
}

void DrivenNeuron::validate() const {
  if (!eq) throw std::invalid_argument("response: no equation");
  validate_neuron(*eq, topo, K);
  for (auto [name, e] :
       {std::pair{"drive (input) element", drive}, {"read (output) element", read}})
    if (e < 0 || e >= topo.n)
      throw std::invalid_argument(
          fmt::format("response: {} {} is not an element of an n = {} neuron", name, e, topo.n));
  if (!(std::isfinite(lo) && std::isfinite(hi) && lo < hi))
    throw std::invalid_argument(
        fmt::format("response: the value range [{}, {}] must be finite with lo < hi", lo, hi));
}

void FoldSearch::validate() const {
  if (!(u_min <= 0.0 && 0.0 <= u_max))
    throw std::invalid_argument(
        fmt::format("fold search: the interval [{}, {}] must contain u = 0", u_min, u_max));
  if (!(du_max > 0.0 && du_min > 0.0 && du_min < du_max))
    throw std::invalid_argument(
        fmt::format("fold search: need 0 < du_min ({}) < du_max ({})", du_min, du_max));
}

namespace detail {
Eigen::VectorXd drive_rhs(const DrivenNeuron& p, double u, const Eigen::VectorXd& x) {
  const int n = p.topo.n;
  Eigen::VectorXd drive = Eigen::VectorXd::Zero(n), f(n);
  drive(p.drive) = u;
  p.eq->rhs(p.topo, p.K, x.data(), drive.data(), f.data(), 1);
  return f;
}
}  // namespace detail

SteadyState solve_steady(const DrivenNeuron& p, double u, const Eigen::VectorXd& x0) {
  // Phi(x) = x - clip(x + f) vanishes exactly at the clamped steady states. Its generalised
  // Jacobian has the row -J_e where x_e + f_e is inside the range and the unit row where it
  // is clipped, so Newton solves f_e = 0 on the first and lands on the bound on the second.
  constexpr int kMaxIterations = 60;
  const int n = p.topo.n;
  SteadyState out;
  Eigen::VectorXd x = x0.cwiseMax(p.lo).cwiseMin(p.hi);
  Eigen::VectorXd phi(n);
  Eigen::MatrixXd M(n, n);
  double best = std::numeric_limits<double>::infinity();
  int best_it = 0;
  for (int it = 0; it <= kMaxIterations; ++it) {
    const Eigen::VectorXd f = detail::drive_rhs(p, u, x);
    const Eigen::VectorXd z = x + f;
    for (int e = 0; e < n; ++e) phi(e) = x(e) - std::clamp(z(e), p.lo, p.hi);
    out.residual = phi.lpNorm<Eigen::Infinity>();
    out.iterations = it;
    if (!std::isfinite(out.residual)) break;
    // Give up once 8 iterations in a row brought no progress: there is no solution nearby
    // (past a fold), and the continuation's next, shorter step is cheaper than waiting.
    if (out.residual < best) {
      best = out.residual;
      best_it = it;
    } else if (it - best_it >= 8) {
      break;
    }
    if (out.residual <= 1e-13 * std::max(1.0, x.lpNorm<Eigen::Infinity>())) {
      for (int e = 0; e < n; ++e) {
        if (z(e) < p.lo) x(e) = p.lo;
        if (z(e) > p.hi) x(e) = p.hi;
      }
      out.converged = true;
      out.x = x;
      return out;
    }
    if (it == kMaxIterations) break;
    const Eigen::MatrixXd J = p.eq->jacobian(p.topo, p.K, x);
    for (int e = 0; e < n; ++e) {
      if (z(e) < p.lo || z(e) > p.hi)
        M.row(e) = Eigen::RowVectorXd::Unit(n, e);
      else
        M.row(e) = -J.row(e);
    }
    const Eigen::VectorXd step = M.partialPivLu().solve(-phi);
    if (!finite(step)) break;
    x += step;
    if (!finite(x) || x.lpNorm<Eigen::Infinity>() > 1e8) break;
  }
  out.x = x;
  return out;
}

StateAnalysis analyse_state(const DrivenNeuron& p, double u, const Eigen::VectorXd& x) {
  StateAnalysis a;
  const int n = p.topo.n;
  a.clamp = clamp_pattern(p, x, detail::drive_rhs(p, u, x));
  const std::vector<int> free = free_elements(a.clamp);
  const Eigen::MatrixXd JF = free_block(p.eq->jacobian(p.topo, p.K, x), free);
  a.eigenvalues = matrix_eigenvalues(JF);
  std::sort(a.eigenvalues.begin(), a.eigenvalues.end(), [](auto l, auto r) {
    return l.real() != r.real() ? l.real() > r.real() : l.imag() > r.imag();
  });
  if (!a.eigenvalues.empty()) a.leading = a.eigenvalues.front();
  a.stable = a.leading.real() < 0.0;
  a.settling_time = a.stable ? std::log(1e5) / -a.leading.real() : kInf;
  a.dxdu = Eigen::VectorXd::Zero(n);
  const auto b = std::find(free.begin(), free.end(), p.drive);
  if (b != free.end()) {
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(JF.rows());
    rhs(b - free.begin()) = -1.0;
    const Eigen::VectorXd y = JF.partialPivLu().solve(rhs);
    for (std::size_t r = 0; r < free.size(); ++r) a.dxdu(free[r]) = y(r);
  }
  a.gain = a.dxdu(p.read);
  return a;
}

FoldRefinement refine_fold(const DrivenNeuron& p, double u, const Eigen::VectorXd& x0) {
  FoldRefinement out;
  const std::vector<int> free = free_elements(clamp_pattern(p, x0, detail::drive_rhs(p, u, x0)));
  const auto m = static_cast<Eigen::Index>(free.size());
  const auto b = std::find(free.begin(), free.end(), p.drive);
  if (m == 0 || b == free.end()) return out;  // the drive does not reach the free block
  const Eigen::Index bi = b - free.begin();
  auto JF = [&](const Eigen::VectorXd& x) {
    return free_block(p.eq->jacobian(p.topo, p.K, x), free);
  };
  // Start v from inverse iteration on J_FF: its component along the near-null direction
  // is amplified by 1 / |lambda|. c = v0 / |v0|^2 fixes the scale (c.v0 = 1).
  Eigen::VectorXd v = Eigen::VectorXd::Ones(m);
  for (int i = 0; i < 3; ++i) {
    const Eigen::VectorXd w = JF(x0).fullPivLu().solve(v);
    if (!finite(w) || w.norm() == 0.0) break;
    v = w / w.norm();
  }
  const Eigen::VectorXd c = v / v.squaredNorm();
  Eigen::VectorXd x = x0;
  double uu = u;
  const Eigen::Index N = 2 * m + 1;
  Eigen::VectorXd G(N);
  Eigen::MatrixXd DG(N, N);
  constexpr double kH = 1e-4;  // central differences of J: exact for a quadratic rhs
  for (int it = 0; it < 40; ++it) {
    out.iterations = it;
    const Eigen::VectorXd f = detail::drive_rhs(p, uu, x);
    const Eigen::MatrixXd J = JF(x);
    for (Eigen::Index r = 0; r < m; ++r) G(r) = f(free[r]);
    G.segment(m, m) = J * v;
    G(2 * m) = c.dot(v) - 1.0;
    DG.setZero();
    DG.topLeftCorner(m, m) = J;
    DG(bi, 2 * m) = 1.0;
    for (Eigen::Index j = 0; j < m; ++j) {
      Eigen::VectorXd xp = x, xm = x;
      xp(free[j]) += kH;
      xm(free[j]) -= kH;
      DG.block(m, j, m, 1) = (JF(xp) - JF(xm)) * v / (2.0 * kH);
    }
    DG.block(m, m, m, m) = J;
    DG.block(2 * m, m, 1, m) = c.transpose();
    const Eigen::VectorXd d = DG.fullPivLu().solve(-G);
    if (!finite(d)) return out;
    for (Eigen::Index j = 0; j < m; ++j) x(free[j]) += d(j);
    v += d.segment(m, m);
    uu += d(2 * m);
    if (d.lpNorm<Eigen::Infinity>() < 1e-14 * std::max(1.0, x.lpNorm<Eigen::Infinity>()) &&
        G.lpNorm<Eigen::Infinity>() < 1e-10) {
      out.converged = true;
      break;
    }
  }
  if (!out.converged) {
    // Quadratic convergence stalls at round-off: accept a small final residual too.
    const Eigen::VectorXd f = detail::drive_rhs(p, uu, x);
    double r = (JF(x) * v).lpNorm<Eigen::Infinity>();
    for (Eigen::Index j = 0; j < m; ++j) r = std::max(r, std::abs(f(free[j])));
    out.converged = std::isfinite(r) && r < 1e-11;
  }
  out.u = uu;
  out.x = x;
  double smallest = kInf;
  for (const auto& l : matrix_eigenvalues(JF(x))) smallest = std::min(smallest, std::abs(l));
  out.min_abs_eigenvalue = smallest;
  return out;
}

namespace detail {

BranchEnd trace_stable_branch(const DrivenNeuron& p, double u0, const Eigen::VectorXd& x0, int dir,
                              const FoldSearch& search, const std::vector<double>* grid,
                              std::vector<std::pair<double, Eigen::VectorXd>>* visited) {
  // A step may not move the state by more than this: a longer move is a jump to another
  // branch (past a fold Newton often converges to the collapsed state), not continuation.
  const double max_move = 0.1 * std::max(p.x_star(), 1e-3);
  const double limit = dir > 0 ? search.u_max : search.u_min;
  double u = u0;
  Eigen::VectorXd x = x0;
  StateAnalysis a = analyse_state(p, u, x);
  std::size_t next = 0;  // next grid value ahead
  if (grid)
    while (next < grid->size() && dir * ((*grid)[next] - u) <= 0.0) ++next;
  double du = search.du_max;
  int accepted_in_row = 0;
  BranchEnd none;
  none.u = dir * kInf;
  while (true) {
    // Once the drive element is held and the drive pushes it further out, nothing else
    // changes: f(x) and J_FF do not depend on u, and the held element's f_b + u only moves
    // further outward. The branch goes on unchanged, so it has no end (no need to walk to the
    // limit, unless the grid wants its states).
    if (a.clamp[p.drive] == dir && !grid) return none;
    double target = limit;
    if (grid && next < grid->size() && dir * ((*grid)[next] - limit) < 0.0) target = (*grid)[next];
    const double remaining = dir * (target - u);
    if (remaining <= 0.0) {
      if (target == limit) return none;
      ++next;  // (a grid value at the start point)
      continue;
    }
    // (A step within rounding of the target lands on it, so that grid values are hit exactly.)
    const bool full = du >= remaining * (1.0 - 1e-9);
    const double ut = full ? target : u + dir * du;
    const Eigen::VectorXd predicted = finite(a.dxdu) ? Eigen::VectorXd(x + (ut - u) * a.dxdu) : x;
    const SteadyState s = solve_steady(p, ut, predicted);
    bool ok = s.converged && (s.x - x).lpNorm<Eigen::Infinity>() <= max_move;
    StateAnalysis at;
    if (ok) {
      at = analyse_state(p, ut, s.x);
      ok = at.stable;
    }
    if (ok) {
      const double taken = std::abs(ut - u);
      u = ut;
      x = s.x;
      a = std::move(at);
      if (grid && next < grid->size() && ut == (*grid)[next]) {
        if (visited) visited->emplace_back(u, x);
        ++next;
      }
      // Grow the step only after two full steps in a row: right after a rejection that
      // would retry the step just refused, so bracketing an end costs ~1 solve per halving.
      if (taken >= du && ++accepted_in_row >= 2) {
        du = std::min(2.0 * du, search.du_max);
        accepted_in_row = 0;
      }
      continue;
    }
    du = std::min(du, remaining) / 2.0;
    accepted_in_row = 0;
    if (du >= search.du_min) continue;
    // The branch ends between u and u + dir * du_min: say how.
    BranchEnd end{u, Crossing::border, a.leading, x};
    const double scale = rate_scale(p.K);
    if (std::abs(a.leading.real()) < 1e-3 * scale) {
      if (std::abs(a.leading.imag()) > 1e-6 * scale) {
        end.crossing = Crossing::hopf;
      } else {
        end.crossing = Crossing::fold;
        const FoldRefinement r = refine_fold(p, u, x);
        if (r.converged && std::abs(r.u - u) < 1e-4) {
          end.u = r.u;
          end.x = r.x;
          // The eigenvalue that crossed: the one of J_FF nearest zero at the fold.
          const StateAnalysis af = analyse_state(p, r.u, r.x);
          end.eigenvalue =
              *std::min_element(af.eigenvalues.begin(), af.eigenvalues.end(),
                                [](auto l, auto r2) { return std::abs(l) < std::abs(r2); });
        }
      }
    }
    return end;
  }
}

}  // namespace detail

ResponseFolds find_folds(const DrivenNeuron& p, const FoldSearch& search) {
  p.validate();
  search.validate();
  ResponseFolds out;
  const int n = p.topo.n;
  const SteadyState start = solve_steady(p, 0.0, Eigen::VectorXd::Constant(n, p.x_star()));
  if (!start.converged)
    throw std::runtime_error("find_folds: no clamped steady state at u = 0 near x*");
  const StateAnalysis a = analyse_state(p, 0.0, start.x);
  out.stable_at_start = a.stable;
  out.leading_at_start = a.leading;
  if (!a.stable) {
    const Crossing kind = std::abs(a.leading.imag()) > 1e-12 ? Crossing::hopf : Crossing::fold;
    out.left = out.right = BranchEnd{0.0, kind, a.leading, start.x};
    return out;
  }
  out.left = detail::trace_stable_branch(p, 0.0, start.x, -1, search, nullptr, nullptr);
  out.right = detail::trace_stable_branch(p, 0.0, start.x, +1, search, nullptr, nullptr);
  return out;
}

ResponseFolds find_folds(const Equation& eq, const Topology& topo, const KParams& K, int drive,
                         int read, double lo, double hi, const FoldSearch& search) {
  return find_folds(DrivenNeuron{&eq, topo, K, drive, read, lo, hi}, search);
}

}  // namespace wuxing
