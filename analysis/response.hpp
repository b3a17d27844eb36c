// The steady-state response of one neuron to a constant drive (issue 12, MODEL.md 10).
//
// A neuron driven by a constant u on element b (the drive element) settles, in the clamped
// system with the value range [lo, hi], to a state x(u) with, for every element e:
//   lo < x_e < hi and f_e = 0,  or  x_e = lo and f_e <= 0,  or  x_e = hi and f_e >= 0,
// where f = f(x) + u e_b. Its signal is s(u) = x_a(u) - x* at the read element a. This file
// finds that response: the stable branch through x* (u = 0), where it ends (a fold: a real
// eigenvalue of the free Jacobian block crosses zero; a Hopf point: a complex pair crosses
// the imaginary axis; or a border: the branch ends where the set of clamped elements
// changes), the coexisting branches, the gain ds/du and the settling time.
#pragma once

#include <Eigen/Dense>
#include <complex>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"

namespace wuxing {

// One neuron with a constant drive on element `drive` (b), read at element `read` (a),
// in the value range [lo, hi]. `eq` must outlive it.
struct DrivenNeuron {
  const Equation* eq = nullptr;
  Topology topo;
  KParams K;
  int drive = 1;
  int read = 2;
  double lo = 0.0;
  double hi = 4.0;
  // Throws std::invalid_argument naming what is wrong (topology, K's, elements, range).
  void validate() const;
  double x_star() const { return eq->fixed_point(K); }
};

// How a stable branch ends; codes stored in HDF5 (keep the values stable).
enum class Crossing : int {
  none = 0,    // it did not end within the searched interval
  fold = 1,    // a real eigenvalue crosses zero (saddle-node): the branch turns back
  hopf = 2,    // a complex pair crosses the imaginary axis: the branch goes on, unstable
  border = 3,  // it ends where an element reaches or leaves a bound, with no zero eigenvalue
  // Not an end: an element starts or stops being held at a bound, the branch goes on and
  // its gain jumps (the knees of a saturating response). Reported by analyse_response.
  clamp = 4,
};
std::string_view to_string(Crossing crossing);
constexpr const char* kCrossingCodes =
    "0 = none (no end in the interval), 1 = fold (real eigenvalue crosses 0), 2 = hopf (complex "
    "pair crosses the imaginary axis), 3 = border (ends at a change of the clamped set), 4 = clamp "
    "(an "
    "element starts or stops being held; not an end)";

// ---- One state ----------------------------------------------------------------------

struct SteadyState {
  bool converged = false;
  Eigen::VectorXd x;
  int iterations = 0;
  double residual = 0.0;  // max |x - clip(x + f)| at the end
};
// A clamped steady state at drive u by semismooth Newton on x = clip(x + f(x) + u e_b),
// whose solutions are exactly the clamped steady states; starts from x0 (clipped).
SteadyState solve_steady(const DrivenNeuron& neuron, double u, const Eigen::VectorXd& x0);

struct StateAnalysis {
  // Per element: -1 held at lo (pushed outward), +1 held at hi, 0 free.
  std::vector<int> clamp;
  // Eigenvalues of the free block J_FF, by decreasing real part (ties: larger imaginary
  // part first). A held element is a constant of the clamped system: no eigenvalue.
  std::vector<std::complex<double>> eigenvalues;
  std::complex<double> leading{-std::numeric_limits<double>::infinity(), 0.0};
  bool stable = true;    // every eigenvalue has Re < 0
  Eigen::VectorXd dxdu;  // -J_FF^-1 e_b on the free elements, 0 on the held ones
  double gain = 0.0;     // ds/du = dx_a/du
  // Time for the slowest mode to shrink 1e-5-fold, -ln(1e-5) / -max Re lambda (inf if unstable).
  double settling_time = 0.0;
};
StateAnalysis analyse_state(const DrivenNeuron& neuron, double u, const Eigen::VectorXd& x);

struct FoldRefinement {
  bool converged = false;
  double u = std::numeric_limits<double>::quiet_NaN();
  Eigen::VectorXd x;
  double min_abs_eigenvalue = std::numeric_limits<double>::quiet_NaN();  // of J_FF at x
  int iterations = 0;
};
// Newton on the extended (Moore-Spence) system f_F(x) + u e_b = 0, J_FF(x) v = 0, c.v = 1
// on the free elements of x, from a state (u, x) near a fold. Converges quadratically.
FoldRefinement refine_fold(const DrivenNeuron& neuron, double u, const Eigen::VectorXd& x);

// ---- Where the stable branch through x* ends ------------------------------------------

struct BranchEnd {
  double u = std::numeric_limits<double>::infinity();  // +-inf when crossing == none
  Crossing crossing = Crossing::none;
  // Leading eigenvalue of the free block at the end (the one that crosses).
  std::complex<double> eigenvalue{std::numeric_limits<double>::quiet_NaN(), 0.0};
  Eigen::VectorXd x;  // state at the end (empty when none)
};

struct ResponseFolds {
  // The state the branch starts from: the clamped steady state at u = 0 reached from x*
  // (x* itself when it lies in [lo, hi]). When it is unstable the stable branch is empty:
  // left.u = right.u = 0 and both crossings label its leading eigenvalue (real: fold,
  // complex: hopf).
  bool stable_at_start = true;
  std::complex<double> leading_at_start;
  BranchEnd left, right;
};

struct FoldSearch {
  double u_min = -10.0;  // search interval; an end beyond it is reported as +-inf
  double u_max = 10.0;
  double du_max = 0.05;   // largest continuation step in u
  double du_min = 1e-11;  // the end is bracketed to this width, then a fold is refined
  void validate() const;
};

// Follows the stable branch from x* in both directions by natural-parameter continuation
// of the clamped system (a semismooth Newton solve at each u, warm-started from a linear
// predictor; a step is accepted when it converges, stays stable and does not jump), and
// reports where it ends. Deterministic; typically under a millisecond.
ResponseFolds find_folds(const DrivenNeuron& neuron, const FoldSearch& search = {});
ResponseFolds find_folds(const Equation& eq, const Topology& topo, const KParams& K, int drive,
                         int read, double lo, double hi, const FoldSearch& search = {});

namespace detail {
// The continuation behind find_folds, from the state (u0, x0) in direction dir (+1 or -1).
// With `grid` (sorted in the direction of travel) it lands on every grid value it passes
// and appends the state there to `visited` (u, x).
BranchEnd trace_stable_branch(const DrivenNeuron& neuron, double u0, const Eigen::VectorXd& x0,
                              int dir, const FoldSearch& search, const std::vector<double>* grid,
                              std::vector<std::pair<double, Eigen::VectorXd>>* visited);
Eigen::VectorXd drive_rhs(const DrivenNeuron& neuron, double u, const Eigen::VectorXd& x);
}  // namespace detail

}  // namespace wuxing
