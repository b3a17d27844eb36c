// `wuxing tune SPEC ...`: Optuna search with pruning over the spec's `search:` space. The work
// is done by the Python module (analysis/python/wuxing/tune.py, docs/python.md); this command
// runs it with Debian's python3 and this build's module, passing every argument through.
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"

namespace wuxing::cli {

void add_tune_command(CLI::App& app) {
  auto* cmd = add_command(app, "tune");
  cmd->set_help_flag();  // --help goes to the Python tool
  cmd->allow_extras();
  cmd->prefix_command();
  cmd->callback([cmd] {
#ifdef WUXING_PYTHON_PATH
    std::string path = WUXING_PYTHON_PATH;
    if (const char* old = std::getenv("PYTHONPATH"); old && *old) path += std::string(":") + old;
    ::setenv("PYTHONPATH", path.c_str(), 1);
    std::vector<std::string> args{WUXING_PYTHON_EXECUTABLE, "-m", "wuxing.tune"};
    for (const auto& a : cmd->remaining()) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::fflush(stdout);
    ::execv(argv[0], argv.data());
    fmt::print(stderr, "wuxing: error: cannot run {}: {}\n", args[0], std::strerror(errno));
    throw CLI::RuntimeError(1);
#else
    (void)cmd;
    fmt::print(stderr,
               "wuxing: error: built without the Python module (install python3-pybind11 and "
               "rebuild: scripts/setup); `tune` needs it\n");
    throw CLI::RuntimeError(1);
#endif
  });
}

}  // namespace wuxing::cli
