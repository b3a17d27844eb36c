#include <fmt/format.h>

#include <exception>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"wuxing: Wuxing neural networks, ODE neurons with local learning"};
  app.require_subcommand(1);
  wuxing::cli::add_run_command(app);
  wuxing::cli::add_validate_command(app);
  wuxing::cli::add_stability_command(app);
  wuxing::cli::add_report_command(app);
  wuxing::cli::add_merge_command(app);
  wuxing::cli::add_ls_command(app);
  wuxing::cli::add_show_command(app);
  wuxing::cli::add_config_command(app);
  wuxing::cli::add_export_command(app);
  wuxing::cli::add_tune_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "wuxing: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
