// `wuxing config SPEC [overrides]`: the spec resolved (composition, overrides, defaults) as YAML.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis/inspect.hpp"
#include "cli/commands.hpp"

namespace wuxing::cli {

void add_config_command(CLI::App& app) {
  auto [cmd, args] = add_command<SpecArgs>(app, "config");
  add_spec_arguments(cmd, args->spec, args->overrides);
  cmd->callback([args] {
    exit_on_spec_errors(
        [&] { fmt::print("{}", resolved_spec_yaml(load_spec(args->spec, args->overrides))); });
  });
}

}  // namespace wuxing::cli
