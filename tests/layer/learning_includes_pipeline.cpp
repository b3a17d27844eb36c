// A file of the learning layer that includes the pipeline: compiled by the ctest entry
// layer_guard_learning the way wuxing_learning compiles its files (with the macros of the
// layers up to learning, without WUXING_PIPELINE_LAYER), it must stop at
// framework/pipeline/layer.hpp's "wrong-way include".
#include "framework/pipeline/spec.hpp"
