// A file of the model layer that includes the learning layer: compiled by the ctest entry
// layer_guard_model the way wuxing_model compiles its files, it must stop at
// framework/learning/layer.hpp's "wrong-way include".
#include "framework/learning/loss_functions.hpp"
