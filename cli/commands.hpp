// Each subcommand lives in its own cli/cmd_<name>.cpp and registers itself here.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wuxing {
class SpecErrors;
}

namespace wuxing::cli {

// One line per spec error on stderr: "error: file:line:col: key: message" (cmd_run.cpp).
void print_errors(const SpecErrors& e);
// Runs `work`, which reads a spec; its SpecErrors are printed (print_errors) and end the
// command with exit status 2, as in every command that reads a spec (cmd_run.cpp).
void exit_on_spec_errors(const std::function<void()>& work);

// The help text of subcommand `name`: cli/help/<name>.txt, embedded at configure time
// (CMakeLists.txt generates cli_help.cpp from those files).
std::string_view command_help(std::string_view name);

// Subcommand `name` of `app`, described by its help text (command_help).
inline CLI::App* add_command(CLI::App& app, const std::string& name) {
  return app.add_subcommand(name, std::string(command_help(name)));
}
// The same, with the Args its options write into: shared, so that the command's callback
// can hold them after add_<name>_command() returns.
template <class Args>
std::pair<CLI::App*, std::shared_ptr<Args>> add_command(CLI::App& app, const std::string& name) {
  return {add_command(app, name), std::make_shared<Args>()};
}

// A positional argument naming input files that must exist (a spec, a results file, ...).
template <class T>
CLI::Option* add_input_files(CLI::App* cmd, const std::string& name, T& into,
                             const std::string& help) {
  return cmd->add_option(name, into, help)->required()->check(CLI::ExistingFile);
}

// The spec file and its overrides: all that the commands that only read a spec take
// (config, validate).
struct SpecArgs {
  std::string spec;
  std::vector<std::string> overrides;
};

// The positional spec file and its key.path=value overrides, as every command that reads a
// spec takes them.
inline void add_spec_arguments(CLI::App* cmd, std::string& spec,
                               std::vector<std::string>& overrides,
                               const std::string& spec_help = "Experiment spec (YAML)",
                               const std::string& overrides_help = "key.path=value overrides") {
  add_input_files(cmd, "spec", spec, spec_help);
  cmd->add_option("overrides", overrides, overrides_help);
}

// The positional results file of the commands that read one (ls, show, export).
inline void add_results_file(CLI::App* cmd, std::string& file) {
  add_input_files(cmd, "file", file, "Results file (HDF5)");
}

// `-o,--output` of the analyses that write one HDF5 file (stability, response), and the file
// they write: `output`, or by default results/<the spec file's stem>.h5.
inline void add_h5_output(CLI::App* cmd, std::string& output) {
  cmd->add_option("-o,--output", output,
                  "HDF5 file to write (default: results/<spec name>.h5); written to a temporary\n"
                  "file and renamed");
}
inline std::string h5_output_path(const std::string& spec, const std::string& output) {
  if (!output.empty()) return output;
  return (std::filesystem::path("results") / std::filesystem::path(spec).stem()).string() + ".h5";
}
// Wall-clock seconds since `start`, for the analyses' closing "wrote FILE (N s)".
inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
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
