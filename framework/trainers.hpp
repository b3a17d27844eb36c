// What `wuxing run` and the Python module (wuxing.run) share before a sweep starts: the
// trainer they hand to the runner, and the up-front check of the data sets.
#pragma once

#include "framework/runner.hpp"
#include "framework/sweep.hpp"

namespace wuxing {

// train_experiment, or the test-only fake trainer (framework/runner.hpp) when the environment
// variable WUXING_FAKE_TRAINER=<sleep_ms> is set (announced on stderr).
Trainer production_trainer();

// A missing or corrupt data file would fail every run in the same way, after the results file
// was created: loads each distinct data set once, before anything is written, with the largest
// sizes any run asks for (so those are checked too). Throws DataError.
void check_data(const SweepPlan& plan);

}  // namespace wuxing
