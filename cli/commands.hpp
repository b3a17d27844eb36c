// Each subcommand lives in its own cli/cmd_<name>.cpp and registers itself here.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace wuxing {
class SpecErrors;
}

namespace wuxing::cli {

// One line per spec error on stderr: "error: file:line:col: key: message" (cmd_run.cpp).
void print_errors(const SpecErrors& e);

// A positional argument naming input files that must exist (a spec, a results file, ...).
template <class T>
CLI::Option* add_input_files(CLI::App* cmd, const std::string& name, T& into,
                             const std::string& help) {
  return cmd->add_option(name, into, help)->required()->check(CLI::ExistingFile);
}

// The positional spec file and its key.path=value overrides, as every command that reads a
// spec takes them.
inline void add_spec_arguments(CLI::App* cmd, std::string& spec,
                               std::vector<std::string>& overrides,
                               const std::string& spec_help = "Experiment spec (YAML)",
                               const std::string& overrides_help = "key.path=value overrides") {
  add_input_files(cmd, "spec", spec, spec_help);
  cmd->add_option("overrides", overrides, overrides_help);
}

void add_run_command(CLI::App& app);        // cmd_run.cpp
void add_validate_command(CLI::App& app);   // cmd_run.cpp
void add_stability_command(CLI::App& app);  // cmd_stability.cpp
void add_response_command(CLI::App& app);   // cmd_response.cpp
void add_report_command(CLI::App& app);     // cmd_report.cpp
void add_merge_command(CLI::App& app);      // cmd_merge.cpp
void add_ls_command(CLI::App& app);         // cmd_ls.cpp
void add_show_command(CLI::App& app);       // cmd_show.cpp
void add_config_command(CLI::App& app);     // cmd_config.cpp
void add_export_command(CLI::App& app);     // cmd_export.cpp
void add_tune_command(CLI::App& app);       // cmd_tune.cpp

}  // namespace wuxing::cli
