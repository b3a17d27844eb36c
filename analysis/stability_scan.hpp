// The stability scan behind `wuxing stability`: a YAML spec, a table of Hopf
// boundaries (analytic vs simulated) over element counts n, a K-plane map of
// max Re lambda, and their HDF5 layout (documented in docs/stability.md).
#pragma once

#include <Eigen/Dense>
#include <string>
#include <vector>

#include "analysis/stability.hpp"
#include "framework/pipeline/layer.hpp"

namespace wuxing {

struct StabilitySpec {
  std::string source = "<spec>";  // file name, for messages and provenance
  std::string text;               // the spec as written, stored with the results
  std::string equation = "jiang-r1";
  std::vector<int> n = {3, 4, 5, 6, 7, 8, 9};
  int g = 1;
  int k = 2;
  double K1 = 1.0;
  double fixed_point = 1.0;                 // target x*: sets K2 = (K1 - K3) / x* at every ratio
  double ratio_lo = 0.01, ratio_hi = 0.99;  // K3/K1 range searched
  double bisection_tol = 1e-5;              // width of the final simulated bracket
  // Regimes are simulated at boundary * below_factor and boundary * above_factor (or at
  // the ends of the range when there is no boundary).
  double below_factor = 0.9, above_factor = 1.1;
  SimulationOptions simulation;
  int map_ratio_points = 100;
  bool map_simulate = true;  // also fit the simulated growth rate at every map point
  void validate() const;
};

// Reads a spec with a `stability:` block on the common spec system (framework/pipeline/spec.hpp):
// `base:` files, command-line overrides (`stability.n=[5]`), and SpecErrors naming the file,
// line, column and key for unknown keys, wrong types and meaningless values
// (analysis/stability_spec.cpp).
StabilitySpec load_stability_spec(const std::string& path,
                                  const std::vector<std::string>& overrides = {});
StabilitySpec parse_stability_spec(const std::string& yaml_text, const std::string& source,
                                   const std::vector<std::string>& overrides = {});
// Whether the spec at `path` is a stability spec (its composed tree has a `stability:` block).
bool is_stability_spec(const std::string& path);

struct ScanRow {
  int n = 0;
  Boundary analytic, simulated;
  double ratio_below = 0.0, ratio_above = 0.0;
  double max_re_below = 0.0, max_re_above = 0.0;  // closed form at those ratios
  Verdict below, above;
};
std::vector<ScanRow> run_scan(const StabilitySpec& spec);
std::string format_scan_table(const StabilitySpec& spec, const std::vector<ScanRow>& rows);

struct StabilityMap {
  std::vector<double> ratio;            // K3/K1, columns
  std::vector<int> n;                   // rows
  Eigen::MatrixXd max_real_eigenvalue;  // n x ratio, closed form
  Eigen::MatrixXi regime;               // n x ratio, predicted from the eigenvalues
  Eigen::MatrixXd simulated_rate;       // n x ratio, NaN when not simulated
  // n x ratio: max Re lambda minus the next distinct real part (a conjugate pair counts
  // once). Where it is small two modes decay almost alike and a finite-time fit of the
  // growth rate sees a blend of both.
  Eigen::MatrixXd spectral_gap;
};
double spectral_gap(const std::vector<std::complex<double>>& lambdas);
// Predicted regime: propagator if max Re lambda < 0, oscillator if a complex pair has
// Re > 0 (Hopf), unstable if a real eigenvalue is > 0.
Regime predicted_regime(const std::vector<std::complex<double>>& lambdas);
StabilityMap compute_map(const StabilitySpec& spec);

// Writes to a temporary file next to `path` and renames it, so a reader never sees
// a half-written file.
void write_stability_h5(const std::string& path, const StabilitySpec& spec,
                        const std::vector<ScanRow>& rows, const StabilityMap& map);

}  // namespace wuxing
