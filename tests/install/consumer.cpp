// Links the installed library: the run ID of the default config, as `wuxing` computes it.
#include <cstdio>

#include "framework/base/config.hpp"
#include "framework/pipeline/spec.hpp"

int main() {
  std::printf("%s\n", wuxing::run_id(wuxing::ExperimentConfig{}).c_str());
  return 0;
}
