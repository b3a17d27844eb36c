// Response of one neuron to a constant drive: the clamped steady-state solver, the folds
// of the stable branch (against a zero eigenvalue of the Jacobian and against the
// pseudo-arclength continuation), the curve against integration, the fold/Hopf labels
// (against the circulant formula) and the HDF5 output.
// Eigen's dense products and LU solves at dynamic size instantiate AVX-512 kernels on which
// GCC 12 with -march=native reports a false -Wmaybe-uninitialized (GCC bug 105593; see
// analysis/stability_eigen.cpp). The pragmas must precede every include.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <doctest/doctest.h>
#include <hdf5.h>

#include <cmath>
#include <filesystem>
#include <string>

#include "analysis/response_scan.hpp"
#include "analysis/stability.hpp"
#include "tests/model_support.hpp"
#include "tests/response_support.hpp"
#include "tests/support.hpp"

using namespace wuxing;

namespace {

const Equation& jiang() { return test_support::equation("jiang-r1"); }

DrivenNeuron defaults(double lo = 0.0, double hi = 4.0) {
  return DrivenNeuron{&jiang(), Topology{5, 1, 2}, KParams{1.0, 0.5, 0.5}, 1, 2, lo, hi};
}

double residual(const DrivenNeuron& p, double u, const Eigen::VectorXd& x) {
  return detail::drive_rhs(p, u, x).lpNorm<Eigen::Infinity>();
}

double min_abs_eigenvalue(const DrivenNeuron& p, const Eigen::VectorXd& x) {
  double m = INFINITY;
  for (const auto& l : jacobian_eigenvalues(*p.eq, p.topo, p.K, x)) m = std::min(m, std::abs(l));
  return m;
}

// The clamped neuron integrated from x* with rk4 to max |dx/dt| < tol.
IntegratedPoint integrate(const DrivenNeuron& p, double u, double tol) {
  ResponseOptions o;
  o.method = "rk4";
  o.h = 0.05;
  o.t_max = 20000.0;
  o.tol = tol;
  return integrate_from_x_star(p, u, o);
}

}  // namespace

TEST_CASE("solve_steady finds x* at u = 0 and clamped states that satisfy the bound conditions") {
  const DrivenNeuron p = defaults(0.5, 1.5);
  const SteadyState at0 = solve_steady(p, 0.0, Eigen::VectorXd::Constant(5, 0.7));
  REQUIRE(at0.converged);
  CHECK((at0.x.array() - 1.0).abs().maxCoeff() < 1e-12);
  for (double u : {-3.0, -0.4, 0.4, 3.0}) {
    CAPTURE(u);
    const SteadyState s = solve_steady(p, u, Eigen::VectorXd::Constant(5, 1.0));
    REQUIRE(s.converged);
    const Eigen::VectorXd f = detail::drive_rhs(p, u, s.x);
    for (int e = 0; e < 5; ++e) {
      CAPTURE(e);
      CHECK(s.x(e) >= p.lo);
      CHECK(s.x(e) <= p.hi);
      if (s.x(e) > p.lo && s.x(e) < p.hi) CHECK(std::abs(f(e)) < 1e-10);
      if (s.x(e) == p.lo) CHECK(f(e) <= 1e-10);
      if (s.x(e) == p.hi) CHECK(f(e) >= -1e-10);
    }
  }
}

TEST_CASE("defaults: the stable branch ends at a fold near u = -0.72, a real zero eigenvalue") {
  const DrivenNeuron p = defaults();
  const ResponseFolds f = find_folds(p);
  REQUIRE(f.stable_at_start);
  // MODEL.md 1: max Re lambda at x* = -0.28647 for K3/K1 = 0.5.
  CHECK(f.leading_at_start.real() == doctest::Approx(-0.28647).epsilon(1e-4));
  REQUIRE(f.left.crossing == Crossing::fold);
  CHECK(f.left.u > -0.8);
  CHECK(f.left.u < -0.65);
  // The fold state is a steady state whose Jacobian (Eigen, all elements free) has a zero
  // eigenvalue, and the one that crosses is real.
  CHECK(f.left.x.minCoeff() > p.lo);
  CHECK(residual(p, f.left.u, f.left.x) < 1e-10);
  CHECK(min_abs_eigenvalue(p, f.left.x) < 1e-6);
  CHECK(std::abs(f.left.eigenvalue) < 1e-6);
  CHECK(f.left.eigenvalue.imag() == 0.0);
  // Just inside the fold the branch exists and is stable; just outside nothing is near.
  // (Newton cannot start on the fold itself, where J is singular: walk in from u + 0.1.)
  SteadyState inside = solve_steady(p, f.left.u + 0.1, Eigen::VectorXd::Constant(5, 1.0));
  for (double d : {1e-2, 1e-3, 1e-4, 1e-5, 1e-6}) inside = solve_steady(p, f.left.u + d, inside.x);
  REQUIRE(inside.converged);
  CHECK(analyse_state(p, f.left.u + 1e-6, inside.x).stable);
  CHECK((inside.x - f.left.x).lpNorm<Eigen::Infinity>() < 1e-2);
  const SteadyState outside = solve_steady(p, f.left.u - 1e-6, f.left.x);
  CHECK((!outside.converged || (outside.x - f.left.x).lpNorm<Eigen::Infinity>() > 0.1));
  // Deterministic: the same answer bit for bit.
  const ResponseFolds g = find_folds(p);
  CHECK(g.left.u == f.left.u);
  CHECK(g.right.u == f.right.u);
}

TEST_CASE("the fold of the clamped continuation equals the fold of the pseudo-arclength branch") {
  const DrivenNeuron p = defaults();
  ResponseOptions o;
  o.u_min = -1.0;
  o.u_max = 0.5;
  o.du = 0.05;
  const ResponseAnalysis a = analyse_response(p, o);
  const ResponseFolds& f = a.folds;
  REQUIRE(f.left.crossing == Crossing::fold);
  int arclength_folds = 0;
  for (const auto& sp : a.special)
    if (sp.branch == 1 && sp.crossing == Crossing::fold) {
      ++arclength_folds;
      // Two routes to the same point: natural-parameter continuation with bisection +
      // Moore-Spence, and the tangent's u component changing sign along the arclength.
      CHECK(sp.u == doctest::Approx(f.left.u).epsilon(1e-9));
      CHECK(sp.min_abs_eigenvalue < 1e-6);
      CHECK(sp.eigenvalue.imag() == 0.0);
    }
  CHECK(arclength_folds == 1);
  // Past the fold the arclength branch continues unstable, with one positive real eigenvalue.
  bool unstable_seen = false;
  for (const auto& pt : a.points)
    if (pt.branch == 1 && !pt.state.stable && pt.u > f.left.u && pt.u < f.left.u + 0.05) {
      unstable_seen = true;
      CHECK(pt.state.leading.imag() == 0.0);
      CHECK(pt.state.leading.real() > 0.0);
    }
  CHECK(unstable_seen);
  // Below the fold, integration from x* collapses onto another branch (x_b held at 0).
  for (const auto& in : a.integrated)
    if (in.u < f.left.u - 0.05) {
      CAPTURE(in.u);
      CHECK(in.settled);
      CHECK(in.branch >= 2);
      CHECK(in.x(p.drive) == p.lo);
    } else if (in.u > f.left.u + 0.15) {
      CAPTURE(in.u);
      CHECK(in.branch == 0);
    }
}

TEST_CASE("the response curve matches integration to the integration tolerance") {
  for (const auto& [lo, hi] : {std::pair{0.0, 4.0}, std::pair{0.5, 1.5}}) {
    const DrivenNeuron p = defaults(lo, hi);
    CAPTURE(lo);
    constexpr double tol = 1e-10;
    test_support::check_response_against_integration(
        p, tol, [&](const ResponsePoint& pt) { return integrate(p, pt.u, tol); });
  }
}

TEST_CASE("band range [0.5, 1.5]: one stable branch over every drive, bounded and monotone") {
  const DrivenNeuron p = defaults(0.5, 1.5);
  const ResponseFolds f = find_folds(p);
  CHECK(f.stable_at_start);
  CHECK(f.left.crossing == Crossing::none);
  CHECK(f.right.crossing == Crossing::none);
  ResponseOptions o;
  o.u_min = -3.0;
  o.u_max = 3.0;
  o.du = 0.05;
  const ResponseAnalysis a = analyse_response(p, o);
  double previous = -INFINITY;
  for (const auto& pt : a.points)
    if (pt.branch == 0) {
      CHECK(pt.s >= previous - 1e-12);
      CHECK(pt.s >= p.lo - 1.0);
      CHECK(pt.s <= p.hi - 1.0);
      previous = pt.s;
    }
  // The knees: where the read element reaches a bound, located by bisection.
  int knees = 0;
  for (const auto& sp : a.special) {
    if (sp.crossing != Crossing::clamp || std::abs(std::abs(sp.s) - 0.5) > 0.0) continue;
    CAPTURE(sp.u);
    const double inward = sp.s > 0 ? -1.0 : 1.0;  // toward u = 0
    const SteadyState before = solve_steady(p, sp.u + inward * 1e-7, sp.x);
    REQUIRE(before.converged);
    if (analyse_state(p, sp.u + inward * 1e-7, before.x).clamp[p.read] != 0)
      continue;  // another element's knee, the read element already held
    ++knees;
    CHECK(analyse_state(p, sp.u, sp.x).clamp[p.read] != 0);
    CHECK(std::abs(before.x(p.read) - sp.x(p.read)) < 1e-5);
  }
  CHECK(knees == 2);
  // Saturated at both ends: the read element held at a bound, zero gain.
  const auto first =
      std::find_if(a.points.begin(), a.points.end(), [](const auto& pt) { return pt.branch == 0; });
  CHECK(first->state.gain == 0.0);
  CHECK(first->s == doctest::Approx(-0.5));
}

TEST_CASE("below the Hopf boundary the crossing at x* is labelled complex (Hopf)") {
  // K3 < 0.1459 K1: x* has a complex pair with Re > 0 (MODEL.md 1, circulant formula).
  for (double K3 : {0.05, 0.10, 0.14}) {
    CAPTURE(K3);
    const KParams K = jiang().with_fixed_point(KParams{1.0, 0.5, K3}, 1.0);
    const DrivenNeuron p{&jiang(), Topology{5, 1, 2}, K, 1, 2, 0.0, 4.0};
    const ResponseFolds f = find_folds(p);
    CHECK_FALSE(f.stable_at_start);
    CHECK(f.left.crossing == Crossing::hopf);
    CHECK(f.right.crossing == Crossing::hopf);
    CHECK(f.left.u == 0.0);
    std::complex<double> closed{-INFINITY, 0.0};
    for (const auto& l : jiang().fixed_point_eigenvalues(p.topo, K))
      if (l.real() > closed.real() || (l.real() == closed.real() && l.imag() > closed.imag()))
        closed = l;
    CHECK(closed.real() > 0.0);
    CHECK(f.leading_at_start.real() == doctest::Approx(closed.real()).epsilon(1e-10));
    CHECK(std::abs(f.leading_at_start.imag()) == doctest::Approx(std::abs(closed.imag())));
    CHECK(std::abs(f.leading_at_start.imag()) > 0.1);
  }
  // Just above the boundary x* is stable, but a small negative drive destabilises it: the
  // stable branch ends at a Hopf point (Re lambda = 0, Im lambda != 0, the state a steady
  // state), the same one the pseudo-arclength continuation locates by bisection.
  {
    const KParams K = jiang().with_fixed_point(KParams{1.0, 0.5, 0.15}, 1.0);
    const DrivenNeuron p{&jiang(), Topology{5, 1, 2}, K, 1, 2, 0.0, 4.0};
    ResponseOptions o;
    o.u_min = -0.3;
    o.u_max = 0.1;
    o.du = 0.05;
    const ResponseAnalysis a = analyse_response(p, o);
    REQUIRE(a.folds.stable_at_start);
    const BranchEnd& end = a.folds.left;
    REQUIRE(end.crossing == Crossing::hopf);
    CHECK(end.u < 0.0);
    CHECK(std::abs(end.eigenvalue.real()) < 1e-6);
    CHECK(std::abs(end.eigenvalue.imag()) > 0.1);
    CHECK(residual(p, end.u, end.x) < 1e-10);
    int hopfs = 0;
    for (const auto& sp : a.special)
      if (sp.branch == 1 && sp.crossing == Crossing::hopf && std::abs(sp.u - end.u) < 1e-6) {
        ++hopfs;
        CHECK(std::abs(sp.eigenvalue.real()) < 1e-6);
      }
    CHECK(hopfs == 1);
  }
  // Above the boundary x* is stable; the defaults' crossings are real (fold), not Hopf.
  const ResponseFolds d = find_folds(defaults());
  CHECK(d.left.crossing == Crossing::fold);
  CHECK(d.left.eigenvalue.imag() == 0.0);
}

TEST_CASE("the response writes its HDF5 layout") {
  test_support::TempDir dir("response");
  ResponseOptions o;
  o.u_min = -1.0;
  o.u_max = 1.0;
  o.du = 0.1;
  const ResponseAnalysis a = analyse_response(defaults(), o);
  const std::string path = (dir.path / "r.h5").string();
  write_response_h5(path, a, {"<test>", "model: {}"});
  REQUIRE(std::filesystem::exists(path));
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t set = H5Dopen2(file, "/response/special/u", H5P_DEFAULT);
  REQUIRE(set >= 0);
  const hid_t space = H5Dget_space(set);
  hsize_t dims[1] = {0};
  H5Sget_simple_extent_dims(space, dims, nullptr);
  CHECK(dims[0] == a.special.size());
  std::vector<double> u(dims[0]);
  H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, u.data());
  CHECK(u[0] == a.special[0].u);
  H5Sclose(space);
  H5Dclose(set);
  H5Fclose(file);
  for (const auto& e : std::filesystem::directory_iterator(dir.path))
    CHECK(e.path().filename() == "r.h5");  // no temporary file left behind
}
