// The Eigen kernels here trigger GCC 12's false -Wmaybe-uninitialized on AVX-512 intrinsics
// (GCC bug 105593; see analysis/response.cpp). The pragmas must precede every include.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "analysis/response_scan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "framework/base/enum_names.hpp"
#include "integrators/integrator.hpp"

namespace wuxing {
namespace {

constexpr double kSame = 1e-7;  // two steady states closer than this (max norm) are one

double dist(const Eigen::VectorXd& a, const Eigen::VectorXd& b) {
  return (a - b).lpNorm<Eigen::Infinity>();
}

ResponsePoint make_point(const DrivenNeuron& p, int branch, double u, const Eigen::VectorXd& x) {
  ResponsePoint r;
  r.branch = branch;
  r.u = u;
  r.x = x;
  r.s = x(p.read) - p.x_star();
  r.state = analyse_state(p, u, x);
  r.in_range = x.minCoeff() >= p.lo && x.maxCoeff() <= p.hi;
  return r;
}

SpecialPoint make_special(const DrivenNeuron& p, int branch, double u, const Eigen::VectorXd& x,
                          Crossing crossing, std::complex<double> eigenvalue) {
  SpecialPoint sp{branch, u, x, x(p.read) - p.x_star(), crossing, eigenvalue, 0.0};
  double smallest = std::numeric_limits<double>::infinity();
  for (const auto& l : analyse_state(p, u, x).eigenvalues)
    smallest = std::min(smallest, std::abs(l));
  sp.min_abs_eigenvalue = smallest;
  return sp;
}

// ---- Unclamped pseudo-arclength continuation ------------------------------------------

struct ArcState {
  Eigen::VectorXd z;  // (x, u)
  Eigen::VectorXd t;  // unit tangent
};

class Arclength {
 public:
  explicit Arclength(const DrivenNeuron& p) : p_(p), n_(p.topo.n) {}

  Eigen::MatrixXd DH(const Eigen::VectorXd& z) const {
    Eigen::MatrixXd D = Eigen::MatrixXd::Zero(n_, n_ + 1);
    D.leftCols(n_) = p_.eq->jacobian(p_.topo, p_.K, z.head(n_));
    D(p_.drive, n_) = 1.0;
    return D;
  }
  Eigen::VectorXd H(const Eigen::VectorXd& z) const {
    return detail::drive_rhs(p_, z(n_), z.head(n_));
  }
  // The unit null vector of DH oriented along `previous`.
  Eigen::VectorXd tangent(const Eigen::VectorXd& z, const Eigen::VectorXd& previous) const {
    Eigen::MatrixXd A(n_ + 1, n_ + 1);
    A.topRows(n_) = DH(z);
    A.row(n_) = previous.transpose();
    Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n_ + 1);
    rhs(n_) = 1.0;
    Eigen::VectorXd t = A.fullPivLu().solve(rhs);
    return t / t.norm();
  }
  // Newton on [H(w) = 0, t.(w - zp) = 0] from the predictor zp.
  bool correct(const Eigen::VectorXd& zp, const Eigen::VectorXd& t, Eigen::VectorXd& w,
               int& iterations) const {
    w = zp;
    Eigen::MatrixXd A(n_ + 1, n_ + 1);
    Eigen::VectorXd g(n_ + 1);
    for (iterations = 1; iterations <= 12; ++iterations) {
      A.topRows(n_) = DH(w);
      A.row(n_) = t.transpose();
      g.head(n_) = H(w);
      g(n_) = t.dot(w - zp);
      const Eigen::VectorXd d = A.fullPivLu().solve(-g);
      if (!d.allFinite()) return false;
      w += d;
      if (d.lpNorm<Eigen::Infinity>() < 1e-13 * std::max(1.0, w.lpNorm<Eigen::Infinity>()))
        return H(w).lpNorm<Eigen::Infinity>() < 1e-10;
    }
    return false;
  }

 private:
  const DrivenNeuron& p_;
  int n_;
};

// Follows the unclamped steady states from x* in direction dir of u. Appends the points in
// order of arclength and the folds (tangent's u component changes sign, refined by
// Moore-Spence) and Hopf points (a complex pair crosses, located by bisection in arclength).
void continue_unclamped(const DrivenNeuron& p, const DrivenNeuron& unbounded,
                        const ResponseOptions& o, int dir, int branch,
                        std::vector<ResponsePoint>& points, std::vector<SpecialPoint>& special) {
  const int n = p.topo.n;
  const double xs = p.x_star();
  const Arclength arc(unbounded);
  Eigen::VectorXd z(n + 1);
  z.head(n).setConstant(xs);
  z(n) = 0.0;
  Eigen::VectorXd seed = Eigen::VectorXd::Zero(n + 1);
  seed(n) = dir;
  Eigen::VectorXd t = arc.tangent(z, seed);
  StateAnalysis a = analyse_state(unbounded, 0.0, z.head(n));
  double ds = o.arclength_step;
  for (int count = 0; count < o.max_arclength_points && ds > 1e-9;) {
    Eigen::VectorXd w;
    int iterations = 0;
    if (!arc.correct(z + ds * t, t, w, iterations) || (w - z).norm() > 2.0 * ds) {
      ds /= 2.0;
      continue;
    }
    const double u = w(n);
    if (u < o.u_min || u > o.u_max || dist(w.head(n), Eigen::VectorXd::Constant(n, xs)) > 100 * xs)
      break;
    const Eigen::VectorXd tw = arc.tangent(w, t);
    const StateAnalysis aw = analyse_state(unbounded, u, w.head(n));
    if ((tw(n) > 0) != (t(n) > 0)) {
      const FoldRefinement r = refine_fold(unbounded, u, w.head(n));
      if (r.converged) {
        const StateAnalysis af = analyse_state(unbounded, r.u, r.x);
        const auto l = *std::min_element(af.eigenvalues.begin(), af.eigenvalues.end(),
                                         [](auto x, auto y) { return std::abs(x) < std::abs(y); });
        special.push_back(make_special(unbounded, branch, r.u, r.x, Crossing::fold, l));
      }
    } else if (aw.stable != a.stable &&
               (std::abs(aw.leading.imag()) > 0.0 || std::abs(a.leading.imag()) > 0.0)) {
      // Bisection on the leading real part along the predictor-corrector path.
      double s0 = 0.0, s1 = ds;
      Eigen::VectorXd wm = w;
      for (int i = 0; i < 60; ++i) {
        const double sm = 0.5 * (s0 + s1);
        int it = 0;
        if (!arc.correct(z + sm * t, t, wm, it)) break;
        const bool stable = analyse_state(unbounded, wm(n), wm.head(n)).stable;
        (stable == a.stable ? s0 : s1) = sm;
      }
      const StateAnalysis ah = analyse_state(unbounded, wm(n), wm.head(n));
      special.push_back(
          make_special(unbounded, branch, wm(n), wm.head(n), Crossing::hopf, ah.leading));
    }
    ResponsePoint pt = make_point(unbounded, branch, u, w.head(n));
    pt.in_range = w.head(n).minCoeff() >= p.lo && w.head(n).maxCoeff() <= p.hi;
    points.push_back(std::move(pt));
    ++count;
    z = w;
    t = tw;
    a = aw;
    if (iterations <= 3) ds = std::min(1.5 * ds, o.arclength_step);
  }
}

}  // namespace

std::string_view to_string(BranchKind kind) {
  static constexpr std::array<std::string_view, 3> names{"stable", "unclamped", "clamped"};
  return enum_name(kind, names, "?");
}

void ResponseOptions::validate() const {
  if (!(std::isfinite(u_min) && std::isfinite(u_max) && u_min <= 0.0 && 0.0 <= u_max &&
        u_min < u_max))
    throw std::invalid_argument(fmt::format(
        "response: the drive interval [{}, {}] must be finite and contain u = 0", u_min, u_max));
  if (!(du > 0.0) || (u_max - u_min) / du > 1e6)
    throw std::invalid_argument(
        fmt::format("response: du = {} must be > 0 with at most 1e6 grid values", du));
  if (!(arclength_step > 0.0) || max_arclength_points < 1)
    throw std::invalid_argument("response: arclength_step must be > 0, max_arclength_points >= 1");
  if (!(h > 0.0 && t_max > 0.0 && tol > 0.0))
    throw std::invalid_argument(fmt::format(
        "response: integration needs h > 0, t_max > 0, tol > 0 (got {}, {}, {})", h, t_max, tol));
  make_stepper(method, IntegrationOptions{.h = h});
}

std::vector<double> ResponseOptions::grid() const {
  // Integer multiples of du, so that u = 0 and the values are symmetric about it.
  std::vector<double> g;
  const auto first = static_cast<long>(std::ceil(u_min / du - 1e-9));
  const auto last = static_cast<long>(std::floor(u_max / du + 1e-9));
  for (long i = first; i <= last; ++i)
    g.push_back(std::clamp(static_cast<double>(i) * du, u_min, u_max));
  return g;
}

IntegratedPoint integrate_from_x_star(const DrivenNeuron& p, double u, const ResponseOptions& o) {
  const int n = p.topo.n;
  const IntegrationOptions io{.h = o.h, .t_max = o.t_max, .tol = o.tol};
  auto stepper = make_stepper(o.method, io);
  State drive(n, 0.0);
  drive[p.drive] = u;
  const System system = [&](const State& x, State& dxdt, double) {
    p.eq->rhs(p.topo, p.K, x.data(), drive.data(), dxdt.data(), 1);
    for (int e = 0; e < n; ++e)
      if ((x[e] <= p.lo && dxdt[e] < 0.0) || (x[e] >= p.hi && dxdt[e] > 0.0)) dxdt[e] = 0.0;
  };
  const StepHook clip = [&](State& x, double) {
    for (auto& v : x) v = std::clamp(v, p.lo, p.hi);
  };
  State x(n, std::clamp(p.x_star(), p.lo, p.hi));
  const IntegrationReport report = integrate_to_steady(*stepper, system, x, io, clip);
  IntegratedPoint out;
  out.u = u;
  out.x = Eigen::Map<const Eigen::VectorXd>(x.data(), n);
  out.s = out.x(p.read) - p.x_star();
  out.settled = report.reason == StopReason::settled;
  out.t = report.t;
  return out;
}

ResponseAnalysis analyse_response(const DrivenNeuron& p, const ResponseOptions& o) {
  p.validate();
  o.validate();
  ResponseAnalysis out;
  out.neuron = p;
  out.options = o;
  out.x_star = p.x_star();
  const int n = p.topo.n;
  const std::vector<double> grid = o.grid();
  const auto G = static_cast<long>(grid.size());
  const double max_move = std::max(0.1 * out.x_star, 1e-3);

  // Branch 0: the stable branch through x*, landing on every grid value it reaches.
  const FoldSearch search{.u_min = o.u_min, .u_max = o.u_max, .du_max = std::min(o.du, 0.05)};
  out.folds = find_folds(p, search);
  out.branches.push_back(BranchKind::stable);
  std::vector<Eigen::VectorXd> stable_at(G);  // empty where branch 0 has no state
  if (out.folds.stable_at_start) {
    const Eigen::VectorXd start = solve_steady(p, 0.0, Eigen::VectorXd::Constant(n, out.x_star)).x;
    std::vector<std::pair<double, Eigen::VectorXd>> left, right;
    std::vector<double> down(grid.rbegin(), grid.rend());
    detail::trace_stable_branch(p, 0.0, start, -1, search, &down, &left);
    detail::trace_stable_branch(p, 0.0, start, +1, search, &grid, &right);
    std::vector<std::pair<double, Eigen::VectorXd>> all(left.rbegin(), left.rend());
    all.emplace_back(0.0, start);
    all.insert(all.end(), right.begin(), right.end());
    for (const auto& end : {out.folds.left, out.folds.right})
      if (end.crossing != Crossing::none) {
        out.special.push_back(make_special(p, 0, end.u, end.x, end.crossing, end.eigenvalue));
        if (end.u < 0)
          all.insert(all.begin(), {end.u, end.x});
        else
          all.emplace_back(end.u, end.x);
      }
    for (const auto& [u, x] : all) {
      out.points.push_back(make_point(p, 0, u, x));
      out.points.back().end = (u == out.folds.left.u || u == out.folds.right.u);
    }
    // Where an element starts or stops being held between two neighbouring states: bisect
    // on u for the edge of the first state's clamped set, then go on from there (one grid
    // step may hold several changes). These are the knees of a saturating response.
    const auto pattern = [&](double u, const Eigen::VectorXd& x) {
      return analyse_state(p, u, x).clamp;
    };
    for (std::size_t i = 0; i + 1 < all.size(); ++i) {
      auto [ua, xa] = all[i];
      const auto& [ub, xb] = all[i + 1];
      const auto last = pattern(ub, xb);
      for (int change = 0; change < p.topo.n * 2 && pattern(ua, xa) != last; ++change) {
        const auto first = pattern(ua, xa);
        double u0 = ua, u1 = ub;
        Eigen::VectorXd x0 = xa, x1 = xb;
        for (int it = 0; it < 60 && u1 - u0 > 1e-12; ++it) {
          const double um = 0.5 * (u0 + u1);
          const SteadyState sm = solve_steady(p, um, x0);
          if (!sm.converged) break;
          const bool same = pattern(um, sm.x) == first;
          (same ? u0 : u1) = um;
          (same ? x0 : x1) = sm.x;
        }
        // Reported on the side away from u = 0, the side a drive of growing size reaches last.
        const bool outer0 = std::abs(u0) > std::abs(u1);
        const double uk = outer0 ? u0 : u1;
        const Eigen::VectorXd& xk = outer0 ? x0 : x1;
        out.special.push_back(
            make_special(p, 0, uk, xk, Crossing::clamp, analyse_state(p, uk, xk).leading));
        ua = u1;
        xa = x1;
      }
    }
    for (const auto& [u, x] : all) {
      const long i = std::lround(u / o.du) - std::lround(grid.front() / o.du);
      if (i >= 0 && i < G && grid[i] == u) stable_at[i] = x;
    }
  }

  // Branch 1: the unclamped system through x*, past its folds.
  {
    DrivenNeuron unbounded = p;
    unbounded.lo = -1e300;
    unbounded.hi = 1e300;
    std::vector<ResponsePoint> left, right;
    continue_unclamped(p, unbounded, o, -1, 1, left, out.special);
    continue_unclamped(p, unbounded, o, +1, 1, right, out.special);
    out.branches.push_back(BranchKind::unclamped);
    out.points.insert(out.points.end(), left.rbegin(), left.rend());
    ResponsePoint origin = make_point(unbounded, 1, 0.0, Eigen::VectorXd::Constant(n, out.x_star));
    origin.in_range = out.x_star >= p.lo && out.x_star <= p.hi;
    out.points.push_back(std::move(origin));
    out.points.insert(out.points.end(), right.begin(), right.end());
  }

  // Integration from x* at every grid value.
  for (long i = 0; i < G; ++i) out.integrated.push_back(integrate_from_x_star(p, grid[i], o));

  // Branches 2...: other clamped steady states, from seeds at every grid value (the uniform
  // states lo and hi, x*, the integrated end state) and continued from grid value to grid
  // value, upward and then downward from where each was first found.
  std::vector<std::vector<Eigen::VectorXd>> others;  // [branch - 2][grid index]
  auto known = [&](long i, const Eigen::VectorXd& x) {
    if (stable_at[i].size() && dist(stable_at[i], x) < kSame) return true;
    for (const auto& b : others)
      if (b[i].size() && dist(b[i], x) < kSame) return true;
    return false;
  };
  auto extend = [&](std::size_t b, long from, long to) {
    const SteadyState s = solve_steady(p, grid[to], others[b][from]);
    if (s.converged && dist(s.x, others[b][from]) <= max_move && !known(to, s.x)) {
      others[b][to] = s.x;
      return true;
    }
    return false;
  };
  for (long i = 0; i < G; ++i) {
    for (std::size_t b = 0; b < others.size(); ++b)
      if (i > 0 && others[b][i - 1].size()) extend(b, i - 1, i);
    const Eigen::VectorXd seeds[] = {Eigen::VectorXd::Constant(n, p.lo),
                                     Eigen::VectorXd::Constant(n, p.hi),
                                     Eigen::VectorXd::Constant(n, out.x_star), out.integrated[i].x};
    for (const auto& seed : seeds) {
      const SteadyState s = solve_steady(p, grid[i], seed);
      if (!s.converged || known(i, s.x)) continue;
      others.emplace_back(G);
      others.back()[i] = s.x;
    }
  }
  for (std::size_t b = 0; b < others.size(); ++b) {
    long first = 0;
    while (!others[b][first].size()) ++first;
    for (long i = first - 1; i >= 0 && extend(b, i + 1, i); --i) {
    }
  }
  for (std::size_t b = 0; b < others.size(); ++b) {
    const int id = static_cast<int>(out.branches.size());
    out.branches.push_back(BranchKind::clamped);
    for (long i = 0; i < G; ++i)
      if (others[b][i].size()) out.points.push_back(make_point(p, id, grid[i], others[b][i]));
  }

  // Which branch each integration ended on.
  for (long i = 0; i < G; ++i) {
    auto& in = out.integrated[i];
    auto consider = [&](int branch, const Eigen::VectorXd& x) {
      const double d = dist(in.x, x);
      if (d < 1e-3 && !(d >= in.distance)) {
        in.branch = branch;
        in.distance = d;
      }
    };
    if (stable_at[i].size()) consider(0, stable_at[i]);
    for (std::size_t b = 0; b < others.size(); ++b)
      if (others[b][i].size()) consider(static_cast<int>(b) + 2, others[b][i]);
  }
  return out;
}

}  // namespace wuxing
