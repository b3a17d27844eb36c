// A file of framework/base/ that includes integrators/: compiled by the ctest entry
// layer_guard_base the way wuxing_base compiles its files (no layer macro), it must stop at
// integrators/layer.hpp's "wrong-way include".
#include "integrators/integrator.hpp"
