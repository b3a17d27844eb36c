// `wuxing stability SPEC.yaml [-o FILE.h5]`: the Hopf boundary scan of one neuron.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/stability_scan.hpp"
#include "cli/commands.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing::cli {
namespace {

struct StabilityArgs {
  std::string spec;
  std::vector<std::string> overrides;
  std::string output;
};

void run_stability(const StabilityArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  StabilitySpec spec;
  exit_on_spec_errors([&] { spec = load_stability_spec(args.spec, args.overrides); });
  const std::string output = h5_output_path(args.spec, args.output);
  const auto rows = run_scan(spec);
  fmt::print("{}", format_scan_table(spec, rows));
  const auto map = compute_map(spec);
  if (spec.map_simulate) {
    // The map doubles as a check of every analytic verdict by simulation. Where two modes
    // decay at nearly the same rate (small spectral gap) the finite fit window sees a
    // blend of both, so the agreement is reported separately there.
    constexpr double kGap = 0.05;
    double worst_separated = 0.0, worst_close = 0.0;
    int separated = 0, sign_mismatch = 0;
    for (int i = 0; i < map.max_real_eigenvalue.rows(); ++i)
      for (int j = 0; j < map.max_real_eigenvalue.cols(); ++j) {
        const double a = map.max_real_eigenvalue(i, j), s = map.simulated_rate(i, j);
        const double diff = std::abs(a - s);
        if (map.spectral_gap(i, j) >= kGap) {
          ++separated;
          worst_separated = std::max(worst_separated, diff);
        } else {
          worst_close = std::max(worst_close, diff);
        }
        if ((a > 0) != (s > 0)) ++sign_mismatch;
      }
    fmt::print(
        "map: {} n x {} ratios, simulated growth rate vs max Re lambda: max |difference| {:.1e} "
        "at the {} points with spectral gap >= {}, {:.1e} at the other {}; sign disagreements: "
        "{}\n",
        map.n.size(), map.ratio.size(), worst_separated, separated, kGap, worst_close,
        map.max_real_eigenvalue.size() - separated, sign_mismatch);
  }
  write_stability_h5(output, spec, rows, map);
  fmt::print("wrote {} ({:.1f} s)\n", output, seconds_since(start));
}

}  // namespace

void add_stability_command(CLI::App& app) {
  auto [cmd, args] = add_command<StabilityArgs>(app, "stability");
  add_spec_arguments(
      cmd, args->spec, args->overrides,
      "YAML spec with a 'stability:' block (may have base: files; keys: equation, n, g, k, K1, "
      "fixed_point,\n"
      "ratio_range, bisection_tol, below_factor, above_factor, stepper, h, rtol, atol,\n"
      "max_steps, seed, perturbation, renorm, rate_t_skip, rate_t_end,\n"
      "classify: {stepper, perturbation, t_max, saturation_cycles, saturation_tolerance,\n"
      "divergence_factor}, map: {ratio_points, simulate})",
      "key.path=value overrides, e.g. stability.n=[5] stability.map.ratio_points=20");
  add_h5_output(cmd, args->output);
  cmd->callback([args] { run_stability(*args); });
}

}  // namespace wuxing::cli
