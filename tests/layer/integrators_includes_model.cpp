// A file of integrators/ that includes the model: compiled by the ctest entry
// layer_guard_integrators the way wuxing_integrators compiles its files, it must stop at
// framework/model/layer.hpp's "wrong-way include".
#include "framework/model/lanes.hpp"
