// Placeholder until the pipeline lands (issue 4): the pipeline helper replaces this file.
#include <stdexcept>

#include "cli/commands.hpp"

namespace wuxing::cli {
void add_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run every run of an experiment spec");
  cmd->callback([] { throw std::runtime_error("run: not built yet"); });
}
void add_validate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("validate", "Check a spec without running it");
  cmd->callback([] { throw std::runtime_error("validate: not built yet"); });
}
}  // namespace wuxing::cli
