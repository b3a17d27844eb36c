// `wuxing config SPEC [overrides]`: the spec resolved (composition, overrides, defaults) as YAML.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/inspect.hpp"
#include "cli/commands.hpp"

namespace wuxing::cli {

void add_config_command(CLI::App& app) {
  struct Args {
    std::string spec;
    std::vector<std::string> overrides;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "config",
      "Print the spec resolved: `base:` files merged, overrides applied and every key with its "
      "value (defaults included), then its sweep. The output is a spec that `wuxing run` accepts "
      "and that plans the same runs.");
  add_spec_arguments(cmd, args->spec, args->overrides);
  cmd->callback([args] {
    exit_on_spec_errors(
        [&] { fmt::print("{}", resolved_spec_yaml(load_spec(args->spec, args->overrides))); });
  });
}

}  // namespace wuxing::cli
