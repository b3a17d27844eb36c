// The `wuxing` command line: subcommands (cli/cmd_*.cpp), --version, help wrapped to the
// terminal, and one documented set of exit codes (docs/reliability.md):
//   0 ok; 1 a runtime error or some runs failed; 2 a usage error (bad command line, spec,
//   override or data set: nothing was run); 128 + signal after a clean stop (130 Ctrl-C,
//   143 SIGTERM, 138 SIGUSR1).
#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "framework/pipeline/provenance.hpp"

namespace wuxing::cli {
namespace {

constexpr int kUsageExit = 2;

// Columns of the terminal help is written for: stdout's width if it is a terminal, else
// $COLUMNS, else 80; kept within [60, 160] so that help stays readable.
std::size_t help_width() {
  int width = 0;
  winsize ws{};
  if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) width = ws.ws_col;
  if (width <= 0)
    if (const char* columns = std::getenv("COLUMNS")) width = std::atoi(columns);
  if (width <= 0) width = 80;
  return static_cast<std::size_t>(std::clamp(width, 60, 160));
}

// Wraps each paragraph of `text` at spaces to `width` columns. Lines that start with a
// space are preformatted (the spec example in the footers) and kept as they are.
std::string wrap(std::string_view text, std::size_t width) {
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (line.empty() || line.front() == ' ' || line.size() <= width) {
      out += line;
    } else {
      std::size_t column = 0;
      std::size_t w = 0;
      while (w < line.size()) {
        std::size_t next = line.find(' ', w);
        if (next == std::string_view::npos) next = line.size();
        const std::string_view word = line.substr(w, next - w);
        if (column > 0 && column + 1 + word.size() > width) {
          out += '\n';
          column = 0;
        } else if (column > 0) {
          out += ' ';
          ++column;
        }
        out += word;
        column += word.size();
        w = next + 1;
      }
    }
    if (end == text.size()) break;
    out += '\n';
    start = end + 1;
  }
  return out;
}

// CLI11's formatter with every description wrapped to the terminal: an option's or a
// subcommand's description in the column right of its name (CLI11 indents the lines after
// a '\n' to that column), the command's description and footer across the whole width.
class WrappingFormatter : public CLI::Formatter {
 public:
  explicit WrappingFormatter(std::size_t width) : width_(width) { column_width(28); }
  std::string make_option_desc(const CLI::Option* opt) const override {
    return wrap(CLI::Formatter::make_option_desc(opt), right_width());
  }
  std::string make_description(const CLI::App* app) const override {
    return wrap(CLI::Formatter::make_description(app), width_);
  }
  std::string make_footer(const CLI::App* app) const override {
    return wrap(CLI::Formatter::make_footer(app), width_);
  }
  std::string make_subcommand(const CLI::App* sub) const override {
    std::stringstream out;
    CLI::detail::format_help(out, sub->get_display_name(true),
                             wrap(sub->get_description(), right_width()), get_column_width());
    return out.str();
  }

 private:
  std::size_t right_width() const {
    return width_ > get_column_width() + 20 ? width_ - get_column_width() : 20;
  }
  std::size_t width_;
};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string subcommand_list(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands({})) names.push_back(sub->get_name());
  return fmt::format("subcommands: {}", fmt::join(names, ", "));
}

// "unknown subcommand 'rn'; did you mean 'run'?" when argv[1] names no subcommand.
std::string unknown_subcommand(const CLI::App& app, std::string_view given) {
  std::string best;
  std::size_t best_distance = 3;  // suggest only near misses
  for (const CLI::App* sub : app.get_subcommands({})) {
    const std::size_t d = edit_distance(given, sub->get_name());
    const bool prefix = sub->get_name().rfind(given, 0) == 0;
    if (prefix || d < best_distance) {
      best = sub->get_name();
      best_distance = prefix ? 0 : d;
    }
  }
  std::string message = fmt::format("unknown subcommand '{}'", given);
  if (!best.empty()) message += fmt::format("; did you mean '{}'?", best);
  return message + fmt::format(" ({}; see wuxing --help)", subcommand_list(app));
}

bool has_subcommand(const CLI::App& app, std::string_view name) {
  for (const CLI::App* sub : app.get_subcommands({}))
    if (sub->get_name() == name) return true;
  return false;
}

std::string version_text() {
  const Provenance& p = provenance();
  return fmt::format("wuxing {} (commit {}{})", p.wuxing_version, p.git_commit,
                     p.git_dirty ? ", built with uncommitted changes" : "");
}

}  // namespace
}  // namespace wuxing::cli

int main(int argc, char** argv) {
  using namespace wuxing::cli;
  CLI::App app{"wuxing: Wuxing neural networks, ODE neurons with local learning", "wuxing"};
  app.formatter(std::make_shared<WrappingFormatter>(help_width()));
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text(), "Print the version and the git commit");
  app.footer(
      "Exit codes: 0 ok; 1 runtime error or failed runs; 2 usage error (bad command line, "
      "spec, override or data; nothing was run); 128 + signal after a clean stop (130 Ctrl-C, "
      "143 SIGTERM, 138 SIGUSR1).");
  wuxing::cli::add_run_command(app);
  wuxing::cli::add_validate_command(app);
  wuxing::cli::add_stability_command(app);
  wuxing::cli::add_response_command(app);
  wuxing::cli::add_report_command(app);
  wuxing::cli::add_merge_command(app);
  wuxing::cli::add_ls_command(app);
  wuxing::cli::add_show_command(app);
  wuxing::cli::add_config_command(app);
  wuxing::cli::add_export_command(app);
  wuxing::cli::add_tune_command(app);
  if (argc < 2) {
    fmt::print(stderr, "wuxing: error: a subcommand is required ({}; see wuxing --help)\n",
               subcommand_list(app));
    return kUsageExit;
  }
  const std::string first = argv[1];
  if (!first.empty() && first[0] != '-' && !has_subcommand(app, first)) {
    fmt::print(stderr, "wuxing: error: {}\n", unknown_subcommand(app, first));
    return kUsageExit;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();  // a subcommand's own result (its message is printed)
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints the help, the version or the error
    return code == 0 ? 0 : kUsageExit;
  } catch (const std::exception& e) {
    fmt::print(stderr, "wuxing: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
