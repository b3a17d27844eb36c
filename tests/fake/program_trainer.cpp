// The trainer of the test programs (build/wuxing_fake, the test build of the Python module):
// the fake one when WUXING_FAKE_TRAINER is set. build/wuxing uses cli/program_trainer.cpp.
#include "framework/pipeline/trainers.hpp"
#include "tests/fake/fake_trainer.hpp"

namespace wuxing {

Trainer program_trainer() { return testing::trainer_from_environment(); }

}  // namespace wuxing
