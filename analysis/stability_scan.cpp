#include "analysis/stability_scan.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <filesystem>
#include <numbers>
#include <stdexcept>

#include "framework/pipeline/h5.hpp"

namespace wuxing {
namespace {

constexpr const char* kRegimeCodes =
    "0 = propagator (perturbation decays), 1 = oscillator (limit cycle), "
    "2 = unstable (diverges, leaves positivity or non-finite), 3 = undetermined";

// Runs body(i) for i in [0, count) over OpenMP threads. Each i writes only its own
// slot, so results do not depend on the thread count; the first exception is rethrown.
template <class Body>
void parallel_for(int count, Body&& body) {
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic)
  for (int i = 0; i < count; ++i) {
    try {
      body(i);
    } catch (...) {
#pragma omp critical(wuxing_stability_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

// ---- spec ---------------------------------------------------------------------------

void StabilitySpec::validate() const {
  auto fail = [&](const std::string& m) { throw std::invalid_argument(source + ": " + m); };
  if (n.empty()) fail("stability.n must list at least one element count");
  for (int ni : n) Topology{ni, g, k}.validate();
  if (!(K1 > 0.0)) fail(fmt::format("stability.K1 = {} must be > 0", K1));
  if (!(fixed_point > 0.0))
    fail(fmt::format("stability.fixed_point = {} must be > 0", fixed_point));
  if (!(ratio_lo > 0.0 && ratio_lo < ratio_hi && ratio_hi < 1.0))
    fail(fmt::format("stability.ratio_range [{}, {}] must satisfy 0 < lo < hi < 1", ratio_lo,
                     ratio_hi));
  if (!(bisection_tol > 0.0))
    fail(fmt::format("stability.bisection_tol = {} must be > 0", bisection_tol));
  if (!(below_factor > 0.0 && below_factor < 1.0 && above_factor > 1.0))
    fail(fmt::format("need 0 < below_factor ({}) < 1 < above_factor ({})", below_factor,
                     above_factor));
  if (map_ratio_points < 2)
    fail(fmt::format("stability.map.ratio_points = {} must be >= 2", map_ratio_points));
  make_equation(equation);
  make_stepper(simulation.stepper, simulation.integration);
  make_stepper(simulation.classify_stepper, simulation.integration);
  simulation.validate();
}

// ---- scan ---------------------------------------------------------------------------

std::vector<ScanRow> run_scan(const StabilitySpec& spec) {
  const auto eq = make_equation(spec.equation);
  std::vector<ScanRow> rows(spec.n.size());
  parallel_for(static_cast<int>(rows.size()), [&](int i) {
    ScanRow& row = rows[i];
    row.n = spec.n[i];
    const Topology topo{row.n, spec.g, spec.k};
    row.analytic =
        analytic_boundary(*eq, topo, spec.K1, spec.fixed_point, spec.ratio_lo, spec.ratio_hi);
    row.simulated = simulated_boundary(*eq, topo, spec.K1, spec.fixed_point, spec.ratio_lo,
                                       spec.ratio_hi, spec.bisection_tol, spec.simulation);
    if (row.analytic.found) {
      row.ratio_below = row.analytic.ratio * spec.below_factor;
      row.ratio_above = std::min(row.analytic.ratio * spec.above_factor, spec.ratio_hi);
    } else {
      row.ratio_below = spec.ratio_lo;
      row.ratio_above = spec.ratio_hi;
    }
    auto at = [&](double r) { return params_at_ratio(*eq, spec.K1, r, spec.fixed_point); };
    row.max_re_below = max_real_eigenvalue(*eq, topo, at(row.ratio_below));
    row.max_re_above = max_real_eigenvalue(*eq, topo, at(row.ratio_above));
    row.below = simulate_regime(*eq, topo, at(row.ratio_below), spec.simulation);
    row.above = simulate_regime(*eq, topo, at(row.ratio_above), spec.simulation);
  });
  return rows;
}

std::string format_scan_table(const StabilitySpec& spec, const std::vector<ScanRow>& rows) {
  std::string out;
  out += fmt::format(
      "Hopf boundary in K3/K1 ({}, g = {}, k = {}, K1 = {}, x* = {}); simulated: growth rate of a "
      "{:g} x* perturbation,\n{} h = {}, fit on t in [{}, {}], bisection to {:g}; regimes: {} from "
      "a {:g} x* perturbation\n",
      spec.equation, spec.g, spec.k, spec.K1, spec.fixed_point, spec.simulation.perturbation,
      spec.simulation.stepper, spec.simulation.integration.h, spec.simulation.rate_t_skip,
      spec.simulation.rate_t_end, spec.bisection_tol, spec.simulation.classify_stepper,
      spec.simulation.classify_perturbation);
  out +=
      fmt::format("{:>2}  {:>8}  {:>9}  {:>8}  {:>8}  {:<50}  {}\n", "n", "analytic", "simulated",
                  "|diff|", "2pi/w", "regime below: K3/K1, amplitude A, period T", "regime above");
  auto verdict = [](const Verdict& v, double ratio) {
    std::string s = fmt::format("{} at {:.4f}", to_string(v.regime), ratio);
    if (v.regime == Regime::oscillator)
      s += fmt::format(", A = {:.4g}, T = {:.4g}", v.amplitude, v.period);
    return s;
  };
  for (const auto& r : rows) {
    const bool both = r.analytic.found && r.simulated.found;
    out += fmt::format("{:>2}  {:>8}  {:>9}  {:>8}  {:>8}  {:<50}  {}\n", r.n,
                       r.analytic.found ? fmt::format("{:.4f}", r.analytic.ratio) : "none",
                       r.simulated.found ? fmt::format("{:.4f}", r.simulated.ratio) : "none",
                       both ? fmt::format("{:.1e}", std::abs(r.analytic.ratio - r.simulated.ratio))
                            : (r.analytic.found == r.simulated.found ? "-" : "MISMATCH"),
                       r.analytic.found && r.analytic.omega > 0.0
                           ? fmt::format("{:.3f}", 2.0 * std::numbers::pi / r.analytic.omega)
                           : "-",
                       verdict(r.below, r.ratio_below), verdict(r.above, r.ratio_above));
  }
  out += fmt::format(
      "('none': max Re lambda keeps its sign on [{}, {}], regimes then shown at the range ends; "
      "otherwise at {}x and {}x the analytic boundary.\n 2pi/w: period of the linear Hopf mode; A: "
      "(max - min) / 2 of element 0 on the limit cycle)\n",
      spec.ratio_lo, spec.ratio_hi, spec.below_factor, spec.above_factor);
  for (const auto& r : rows) {
    for (const auto* v : {&r.below, &r.above})
      if (v->regime == Regime::unstable || v->regime == Regime::undetermined)
        out += fmt::format("  n = {} at {:.4f}: {}: {}\n", r.n,
                           v == &r.below ? r.ratio_below : r.ratio_above, to_string(v->regime),
                           v->detail);
  }
  return out;
}

Regime predicted_regime(const std::vector<std::complex<double>>& lambdas) {
  const auto top = std::max_element(lambdas.begin(), lambdas.end(),
                                    [](auto a, auto b) { return a.real() < b.real(); });
  if (top->real() < 0.0) return Regime::propagator;
  if (top->real() == 0.0) return Regime::undetermined;
  return std::abs(top->imag()) > 1e-12 ? Regime::oscillator : Regime::unstable;
}

double spectral_gap(const std::vector<std::complex<double>>& lambdas) {
  const double top = max_real_part(lambdas);
  double next = -std::numeric_limits<double>::infinity();
  for (const auto& l : lambdas)
    if (l.real() < top - 1e-9 * std::max(1.0, std::abs(top))) next = std::max(next, l.real());
  return top - next;
}

StabilityMap compute_map(const StabilitySpec& spec) {
  const auto eq = make_equation(spec.equation);
  StabilityMap map;
  map.n = spec.n;
  const int R = spec.map_ratio_points, N = static_cast<int>(spec.n.size());
  for (int j = 0; j < R; ++j)
    map.ratio.push_back(spec.ratio_lo + (spec.ratio_hi - spec.ratio_lo) * j / (R - 1));
  map.max_real_eigenvalue.resize(N, R);
  map.regime.resize(N, R);
  map.spectral_gap.resize(N, R);
  map.simulated_rate = Eigen::MatrixXd::Constant(N, R, std::numeric_limits<double>::quiet_NaN());
  parallel_for(N * R, [&](int idx) {
    const int i = idx / R, j = idx % R;
    const Topology topo{spec.n[i], spec.g, spec.k};
    const KParams K = params_at_ratio(*eq, spec.K1, map.ratio[j], spec.fixed_point);
    const auto lambdas = eq->fixed_point_eigenvalues(topo, K);
    map.max_real_eigenvalue(i, j) = max_real_part(lambdas);
    map.regime(i, j) = static_cast<int>(predicted_regime(lambdas));
    map.spectral_gap(i, j) = spectral_gap(lambdas);
    if (spec.map_simulate)
      map.simulated_rate(i, j) = perturbation_growth_rate(*eq, topo, K, spec.simulation).rate;
  });
  return map;
}

// ---- HDF5 ---------------------------------------------------------------------------

void write_stability_h5(const std::string& path, const StabilitySpec& spec,
                        const std::vector<ScanRow>& rows, const StabilityMap& map) {
  using namespace h5;
  write_atomically(path, ::getpid(), [&](hid_t file) {
    Handle root = create_group(file, "stability");
    const auto& sim = spec.simulation;
    attr_string(root, "equation", spec.equation);
    attr_string(root, "spec_file", spec.source);
    attr_string(root, "spec", spec.text);
    attr_string(root, "stepper", sim.stepper);
    attr_string(root, "classify_stepper", sim.classify_stepper);
    attr_string(root, "regime_codes", kRegimeCodes);
    attr_number<int>(root, "g", spec.g);
    attr_number<int>(root, "k", spec.k);
    attr_number<double>(root, "K1", spec.K1);
    attr_number<double>(root, "fixed_point", spec.fixed_point);
    attr_numbers<double>(root, "ratio_range", {spec.ratio_lo, spec.ratio_hi});
    attr_number<double>(root, "bisection_tol", spec.bisection_tol);
    attr_number<double>(root, "h", sim.integration.h);
    attr_numbers<double>(root, "rtol_atol", {sim.integration.rtol, sim.integration.atol});
    attr_number<double>(root, "perturbation", sim.perturbation);
    attr_number<double>(root, "classify_perturbation", sim.classify_perturbation);
    attr_numbers<double>(root, "rate_fit_window", {sim.rate_t_skip, sim.rate_t_end});
    attr_number<unsigned long long>(root, "seed", sim.seed);
    attr_number<double>(root, "below_factor", spec.below_factor);
    attr_number<double>(root, "above_factor", spec.above_factor);
    attr_number<double>(root, "classify_t_max", sim.classify_t_max);
    attr_number<double>(root, "divergence_factor", sim.divergence_factor);
    attr_string(root, "wuxing_version", WUXING_VERSION);

    Handle scan = create_group(root, "scan");
    attr_string(scan, "description",
                "one row per element count n; NaN where there is no boundary in ratio_range");
    const double nan = std::numeric_limits<double>::quiet_NaN();
    column_of<int>(scan, "n", rows, &ScanRow::n, "element count");
    const auto analytic = [](double Boundary::*field) {
      return [field](const ScanRow& r) { return r.analytic.*field; };
    };
    column_of<double>(scan, "analytic_boundary", rows, analytic(&Boundary::ratio),
                      "K3/K1 where closed-form max Re lambda = 0 (NaN: none in range)");
    column_of<double>(
        scan, "simulated_boundary", rows, [](const ScanRow& r) { return r.simulated.ratio; },
        "K3/K1 where the simulated perturbation growth rate changes sign (NaN: none)");
    column_of<double>(
        scan, "difference", rows,
        [](const ScanRow& r) { return std::abs(r.analytic.ratio - r.simulated.ratio); },
        "|analytic - simulated| boundary");
    column_of<double>(scan, "hopf_omega", rows, analytic(&Boundary::omega),
                      "Im lambda of the crossing eigenvalue at the analytic boundary");
    column_of<double>(
        scan, "predicted_period", rows,
        [&](const ScanRow& r) {
          return r.analytic.omega > 0 ? 2 * std::numbers::pi / r.analytic.omega : nan;
        },
        "2 pi / hopf_omega");
    // The columns read at the two simulated ratios, in pairs: each quantity below, then above.
    struct Side {
      std::string name;           // "below" / "above"
      double ScanRow::*ratio;     // where it was simulated
      double ScanRow::*max_re;    // closed-form max Re lambda there
      Verdict ScanRow::*verdict;  // the simulation's verdict there
      std::string where;          // how that ratio was chosen
    };
    const Side sides[] = {{"below", &ScanRow::ratio_below, &ScanRow::max_re_below, &ScanRow::below,
                           "below_factor x boundary, or ratio_range[0]"},
                          {"above", &ScanRow::ratio_above, &ScanRow::max_re_above, &ScanRow::above,
                           "above_factor x boundary, or ratio_range[1]"}};
    for (const Side& s : sides)
      column_of<double>(scan, "ratio_" + s.name, rows, s.ratio,
                        fmt::format("K3/K1 where regime_{} was simulated ({})", s.name, s.where));
    for (const Side& s : sides)
      column_of<int>(
          scan, "regime_" + s.name, rows,
          [&](const ScanRow& r) { return static_cast<int>((r.*s.verdict).regime); }, kRegimeCodes);
    for (const Side& s : sides)
      column_of<double>(scan, "max_re_" + s.name, rows, s.max_re,
                        "closed-form max Re lambda at ratio_" + s.name);
    for (const Side& s : sides)
      column_of<double>(
          scan, "growth_rate_" + s.name, rows,
          [&](const ScanRow& r) { return (r.*s.verdict).growth_rate; },
          "simulated growth rate of a small perturbation at ratio_" + s.name);
    // The limit cycle, simulated at ratio_below (an oscillator lies below the boundary).
    const auto cycle = [](double Verdict::*field) {
      return [field](const ScanRow& r) { return r.below.*field; };
    };
    column_of<double>(
        scan, "amplitude", rows, cycle(&Verdict::amplitude),
        "limit-cycle amplitude (max - min) / 2 of element 0 at ratio_below (NaN: none)");
    column_of<double>(scan, "period", rows, cycle(&Verdict::period),
                      "limit-cycle period at ratio_below, from upward crossings of x* (NaN: none)");

    Handle mg = create_group(root, "map");
    attr_string(mg, "axes", "rows: n (dataset 'n'), columns: K3/K1 (dataset 'ratio')");
    column(mg, "ratio", map.ratio, "K3/K1, the column axis");
    column(mg, "n", map.n, "element count, the row axis");
    const std::vector<hsize_t> dims = {map.n.size(), map.ratio.size()};
    // Eigen is column-major; HDF5 wants row-major.
    using RowD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    using RowI = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const RowD mre = map.max_real_eigenvalue;
    const RowI reg = map.regime;
    dataset(mg, "max_real_eigenvalue", dims, mre.data(),
            "closed-form max Re lambda of the fixed-point Jacobian [n, ratio]");
    dataset(mg, "regime", dims, reg.data(),
            std::string("regime predicted by the eigenvalues [n, ratio]: ") + kRegimeCodes);
    const RowD gap = map.spectral_gap;
    dataset(mg, "spectral_gap", dims, gap.data(),
            "max Re lambda minus the next distinct real part [n, ratio] (inf: one mode only)");
    if (spec.map_simulate) {
      const RowD sr = map.simulated_rate;
      dataset(mg, "simulated_rate", dims, sr.data(),
              "simulated growth rate of a small perturbation [n, ratio]");
    }
  });
}

}  // namespace wuxing
