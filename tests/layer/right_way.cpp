// The control of the layer_guard tests: the top layer's headers, compiled with every layer's
// macro (as wuxing_pipeline's users are), include without error, so the guards stop only the
// wrong way.
#include "framework/learning/loss_functions.hpp"
#include "framework/model/lanes.hpp"
#include "framework/pipeline/spec.hpp"
#include "integrators/integrator.hpp"
