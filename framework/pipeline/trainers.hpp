// What `wuxing run` and the Python module (wuxing.run) share before a sweep starts: the
// trainer they hand to the runner, and the up-front check of the data sets.
#pragma once

#include "framework/pipeline/layer.hpp"
#include "framework/pipeline/runner.hpp"
#include "framework/pipeline/sweep.hpp"

namespace wuxing {

// train_experiment as a Trainer.
Trainer production_trainer();

// The trainer of this program: what `wuxing run`, `wuxing tune`'s trials and the Python module
// hand to the runner. Not defined by the library but by each program: cli/program_trainer.cpp
// (production_trainer(), always) in build/wuxing and the Python module, and
// tests/fake/program_trainer.cpp (the test-only fake trainer when WUXING_FAKE_TRAINER is set)
// in build/wuxing_fake and the tests' build of the Python module. So the production binary
// holds no test stand-in.
Trainer program_trainer();

// A missing or corrupt data file would fail every run in the same way, after the results file
// was created: loads each distinct data set once, before anything is written, with the largest
// sizes any run asks for (so those are checked too). Throws DataError.
void check_data(const SweepPlan& plan);

}  // namespace wuxing
