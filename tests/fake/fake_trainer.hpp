// TEST ONLY: the stand-in trainer of the crash/resume, sharding, MPI and tuning tests, which must
// not depend on the real trainer's speed. Built into the test library `wuxing_testing` (linked by
// the test binary, build/wuxing_fake and the test build of the Python module), never into the
// production library or build/wuxing.
#pragma once

#include "framework/pipeline/runner.hpp"

namespace wuxing::testing {

// A stand-in for train_experiment with no numerics: it sleeps `sleep_ms` per epoch and returns
// metrics that are a deterministic function of the config (never of the thread count).
// learning_rate >= 1 gives status numerical_trouble with a NaN loss; learning_rate >= 2 throws.
RunResult fake_train_experiment(const ExperimentConfig& config, const RunObserver& observer,
                                int threads, int sleep_ms);

// The fake trainer when the environment variable WUXING_FAKE_TRAINER=<sleep_ms> is set
// (announced on stderr), else the real one (production_trainer()).
// With WUXING_FAKE_GATE=<N>:<dir> as well, the process's first N runs go through and every
// later one blocks before its first epoch: it creates <dir>/blocked and waits until
// <dir>/open exists (or a stop is asked), so that a test can kill a process at a known point
// (after N runs, in the middle of the next) however loaded the machine is.
Trainer trainer_from_environment();

}  // namespace wuxing::testing
