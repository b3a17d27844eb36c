// Placeholder until the stability analysis lands (issue 2).
#include <stdexcept>

#include "cli/commands.hpp"

namespace wuxing::cli {
void add_stability_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("stability", "Scan the neuron's stability (Hopf boundary)");
  cmd->callback([] { throw std::runtime_error("stability: not built yet"); });
}
}  // namespace wuxing::cli
