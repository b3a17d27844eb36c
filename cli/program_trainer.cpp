// The trainer of build/wuxing and of the Python module: the real one, always. (The test
// programs link tests/fake/program_trainer.cpp instead.)
#include "framework/pipeline/trainers.hpp"

namespace wuxing {

Trainer program_trainer() { return production_trainer(); }

}  // namespace wuxing
