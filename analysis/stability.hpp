// Stability of one Wuxing neuron (MODEL.md section 8): closed-form and Eigen
// eigenvalues, a simulated verdict (propagator / oscillator / unstable) from a small
// perturbation of the fixed point, and the Hopf boundary in K3/K1, found both from
// the closed form and by simulation.
#pragma once

#include <Eigen/Dense>
#include <complex>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "framework/model/layer.hpp"
#include "framework/model/neuron.hpp"
#include "integrators/integrator.hpp"

namespace wuxing {

// Codes stored in HDF5 (keep the values stable).
enum class Regime : int {
  propagator = 0,    // a small perturbation decays back to the fixed point
  oscillator = 1,    // it grows and saturates into a bounded periodic orbit (limit cycle)
  unstable = 2,      // it diverges, leaves positivity or becomes non-finite
  undetermined = 3,  // the simulation could not decide within its time budget
};
std::string_view to_string(Regime regime);

// The ODE of one neuron with a constant drive u (empty: u = 0) as an integrator System.
// Validates the topology and the K's.
System neuron_system(const Equation& eq, const Topology& topo, const KParams& K, State u = {});

// K's at a given K3/K1 ratio, with K2 set by the fixed-point target x*_t (MODEL.md 1).
KParams params_at_ratio(const Equation& eq, double K1, double ratio, double fixed_point_target);

// Eigenvalues of a square matrix (Eigen's real Schur solver; empty for an empty matrix).
std::vector<std::complex<double>> matrix_eigenvalues(const Eigen::MatrixXd& M);
// Eigenvalues of the dense (Eigen) Jacobian at any state x.
std::vector<std::complex<double>> jacobian_eigenvalues(const Equation& eq, const Topology& topo,
                                                       const KParams& K, const Eigen::VectorXd& x);
double max_real_part(const std::vector<std::complex<double>>& lambdas);

struct SimulationOptions {
  std::string stepper = "rk4";
  IntegrationOptions integration{.h = 0.02, .rtol = 1e-10, .atol = 1e-14};
  std::uint64_t seed = 1;  // direction of the perturbation (normal, seeded)
  // Linear growth rate: the perturbation's norm is kept at `perturbation` * x* by
  // rescaling it (keeping its direction) whenever it leaves [size / renorm, size * renorm],
  // so the fit stays in the linear regime and above round-off for any rate; the log of
  // the norm, unwrapped across rescalings, is fitted by least squares on [rate_t_skip, rate_t_end].
  // With an adaptive stepper mind that its error control acts on x, not on the tiny
  // perturbation: rtol must be far below `perturbation` (e.g. rtol 1e-13 with 1e-4).
  double perturbation = 1e-6;
  double renorm = 10.0;
  double rate_t_skip = 100.0;  // transients of the faster modes die out first
  double rate_t_end = 300.0;
  // Nonlinear verdict: start at x* (1 + classify_perturbation * unit direction), integrate
  // up to classify_t_max with classify_stepper, follow the cycles of element 0 around x*.
  // Adaptive by default: below the Hopf boundary the orbit can become a large, stiff
  // relaxation cycle on which a fixed step that suits the linear fit goes unstable.
  std::string classify_stepper = "dopri5";
  double classify_perturbation = 1e-3;
  double classify_t_max = 5000.0;
  int saturation_cycles = 10;          // cycles that must agree for a limit cycle
  double saturation_tolerance = 1e-3;  // their relative amplitude spread
  // |x - x*| > divergence_factor * x*: called unstable (diverged). Far outside any value
  // range a network uses (MODEL.md 2: [0, 4]); near it explicit steppers also turn stiff.
  double divergence_factor = 1e3;
  void validate() const;
};

struct RateFit {
  double rate = 0.0;      // fitted d log|dx| / dt
  double residual = 0.0;  // rms of the fit
  std::size_t samples = 0;
  std::size_t renormalisations = 0;
  IntegrationReport report;
};
// Growth (> 0) or decay (< 0) rate of a small perturbation of the fixed point, by
// simulation. Throws std::runtime_error if the integration stops early (non-finite, step cap).
RateFit perturbation_growth_rate(const Equation& eq, const Topology& topo, const KParams& K,
                                 const SimulationOptions& options);

struct Verdict {
  Regime regime = Regime::undetermined;
  double growth_rate = 0.0;  // linear rate from perturbation_growth_rate
  double amplitude = std::numeric_limits<double>::quiet_NaN();  // (max - min) / 2 of x_0
  double period = std::numeric_limits<double>::quiet_NaN();
  double t_simulated = 0.0;
  std::size_t cycles = 0;
  std::string detail;  // why this verdict, in words
};
Verdict simulate_regime(const Equation& eq, const Topology& topo, const KParams& K,
                        const SimulationOptions& options);

struct Boundary {
  bool found = false;
  double ratio = std::numeric_limits<double>::quiet_NaN();  // K3/K1 where the rate crosses 0
  // Imaginary part of the crossing eigenvalue (analytic only): 0 for a real crossing,
  // otherwise the Hopf frequency, with predicted period 2 pi / omega.
  double omega = std::numeric_limits<double>::quiet_NaN();
  std::string note;  // e.g. "stable throughout [0.01, 0.99]"
  int evaluations = 0;
};

// Where max Re lambda(K3/K1) of the closed-form fixed-point eigenvalues crosses 0 in
// [lo, hi], by bisection to tol. max Re lambda is a maximum of functions linear in K3
// (convex) and tends to 0 from below as K3 -> K1, so there is at most one crossing.
Boundary analytic_boundary(const Equation& eq, const Topology& topo, double K1,
                           double fixed_point_target, double lo, double hi, double tol = 1e-14);
// The same crossing from the simulated growth rate: bisection on its sign to tol.
Boundary simulated_boundary(const Equation& eq, const Topology& topo, double K1,
                            double fixed_point_target, double lo, double hi, double tol,
                            const SimulationOptions& options);

}  // namespace wuxing
