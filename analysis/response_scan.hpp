// The full response analysis behind `wuxing response`: one neuron's steady-state
// response s(u) over a grid of constant drives, every branch of steady states found, with
// gain, eigenvalues and settling time, the folds and Hopf points on them, and the state
// reached by integrating from x* as the network's forward phase does. HDF5 layout:
// docs/stability.md ("Response of one neuron").
#pragma once

#include <string>
#include <vector>

#include "analysis/response.hpp"
#include "framework/model/layer.hpp"

namespace wuxing {

struct ResponseOptions {
  double u_min = -1.5;  // grid u_min, u_min + du, ..., u_max
  double u_max = 3.0;
  double du = 0.01;
  double arclength_step = 0.02;  // largest step of the unclamped continuation, in |(x, u)|
  int max_arclength_points = 20000;
  // Integration from x* at every grid value (the forward phase of one neuron, clamped).
  std::string method = "heun";
  double h = 0.2;
  double t_max = 100.0;
  double tol = 1e-4;  // settled: max |dx/dt| < tol (the projected rate at held elements)
  void validate() const;
  std::vector<double> grid() const;
};

// Kinds of branch; codes stored in HDF5.
enum class BranchKind : int {
  stable = 0,     // the stable branch through x* in the clamped system (ends at its folds)
  unclamped = 1,  // the steady states of the unclamped system through x*, by pseudo-arclength
                  // continuation through its folds (points outside [lo, hi] are flagged)
  clamped = 2,    // another branch of clamped steady states (e.g. the collapsed state)
};
std::string_view to_string(BranchKind kind);
constexpr const char* kBranchKinds =
    "0 = stable (the stable clamped branch through x*), 1 = unclamped (pseudo-arclength "
    "continuation of the unclamped system through x*, through its folds), 2 = clamped (another "
    "branch of clamped steady states)";

struct ResponsePoint {
  int branch = 0;
  double u = 0.0;
  Eigen::VectorXd x;
  double s = 0.0;  // x_a - x*
  StateAnalysis state;
  bool in_range = true;  // every element within [lo, hi]
  bool end = false;      // the end of the stable branch (a fold, Hopf or border point)
};

// A fold or Hopf point on a branch.
struct SpecialPoint {
  int branch = 0;
  double u = 0.0;
  Eigen::VectorXd x;
  double s = 0.0;
  Crossing crossing = Crossing::none;
  std::complex<double> eigenvalue;  // the one that crosses
  double min_abs_eigenvalue = 0.0;  // of the free block at the point (0 at an exact fold)
};

// The end of integrating from x* at one drive.
struct IntegratedPoint {
  double u = 0.0;
  Eigen::VectorXd x;
  double s = 0.0;
  bool settled = false;
  double t = 0.0;   // time reached (the settling time when settled)
  int branch = -1;  // the branch whose state at u it ended on (within 1e-3), -1: none
  double distance = std::numeric_limits<double>::quiet_NaN();  // to that branch's state
};

struct ResponseAnalysis {
  DrivenNeuron neuron;
  ResponseOptions options;
  double x_star = 0.0;
  ResponseFolds folds;  // find_folds over [u_min, u_max]
  std::vector<BranchKind> branches;
  std::vector<ResponsePoint> points;
  std::vector<SpecialPoint> special;
  std::vector<IntegratedPoint> integrated;
};

ResponseAnalysis analyse_response(const DrivenNeuron& neuron, const ResponseOptions& options);

// Integrates the clamped neuron from x* at drive u (the network's forward phase for one
// neuron: projected rates, values clipped to [lo, hi] after every step).
IntegratedPoint integrate_from_x_star(const DrivenNeuron& neuron, double u,
                                      const ResponseOptions& options);

// A readable summary: the ends of the stable branch, the gain range, and a table at
// `rows` evenly spaced grid values.
std::string format_response(const ResponseAnalysis& analysis, int rows = 24);

struct ResponseProvenance {
  std::string spec_file;
  std::string config_yaml;  // the resolved config the neuron was taken from
};
// Writes /response to `path` through a temporary file renamed into place.
void write_response_h5(const std::string& path, const ResponseAnalysis& analysis,
                       const ResponseProvenance& provenance);

}  // namespace wuxing
