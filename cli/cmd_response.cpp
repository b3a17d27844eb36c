// `wuxing response SPEC [overrides] [--u-min U --u-max U --du D] [-o FILE.h5]`: one neuron's
// steady-state response to a constant drive, its branches, folds and settling time.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis/response_scan.hpp"
#include "cli/commands.hpp"
#include "framework/pipeline/spec.hpp"

namespace wuxing::cli {
namespace {

struct ResponseArgs {
  std::string spec;
  std::vector<std::string> overrides;
  std::string output;
  ResponseOptions options;
};

void run_response(const ResponseArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  Spec spec;
  exit_on_spec_errors([&] { spec = load_spec(args.spec, args.overrides); });
  if (spec.sweep())
    throw std::invalid_argument(fmt::format(
        "{}: `response` analyses one neuron, but the spec has a sweep: choose its values with "
        "overrides (e.g. model.K3=0.3) in a spec without `sweep:`",
        args.spec));
  const ExperimentConfig& c = spec.base;
  const auto eq = make_equation(c.model.variant);
  KParams K{c.model.K1, c.model.K2, c.model.K3};
  if (c.model.fixed_point_target) K = eq->with_fixed_point(K, *c.model.fixed_point_target);
  const DrivenNeuron neuron{eq.get(),
                            Topology{c.model.n, c.model.g, c.model.k},
                            K,
                            c.network.input_element,
                            c.network.output_element,
                            c.network.x_min,
                            c.network.x_max};
  ResponseOptions options = args.options;
  options.method = c.integrator.method;
  options.h = c.integrator.h;
  options.t_max = c.integrator.t_max;
  options.tol = c.integrator.tol;
  const std::string output = h5_output_path(args.spec, args.output);
  const ResponseAnalysis analysis = analyse_response(neuron, options);
  fmt::print("{}", format_response(analysis));
  write_response_h5(output, analysis, {args.spec, canonical_yaml(c)});
  fmt::print("wrote {} ({:.2f} s)\n", output, seconds_since(start));
}

}  // namespace

void add_response_command(CLI::App& app) {
  auto [cmd, args] = add_command<ResponseArgs>(app, "response");
  add_spec_arguments(cmd, args->spec, args->overrides, "Experiment spec (YAML, without a sweep)",
                     "key.path=value overrides, e.g. network.x_min=0.5 network.x_max=1.5");
  cmd->add_option("--u-min", args->options.u_min, "lowest drive of the grid (<= 0)")
      ->capture_default_str();
  cmd->add_option("--u-max", args->options.u_max, "highest drive of the grid (>= 0)")
      ->capture_default_str();
  cmd->add_option("--du", args->options.du, "grid spacing")->capture_default_str();
  cmd->add_option("--arclength-step", args->options.arclength_step,
                  "largest step of the unclamped pseudo-arclength continuation")
      ->capture_default_str();
  add_h5_output(cmd, args->output);
  cmd->callback([args] { run_response(*args); });
}

}  // namespace wuxing::cli
