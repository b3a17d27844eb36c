// A file of the model core that includes the pipeline: compiled by the ctest entry layer_guard
// the way wuxing_core compiles its files (without WUXING_PIPELINE_LAYER), it must stop at
// framework/pipeline/layer.hpp's "wrong-way include".
#include "framework/pipeline/spec.hpp"
