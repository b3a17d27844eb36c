// Included first by every header of framework/pipeline/: the pipeline (specs, sweeps, runner,
// store, ...) is the layer above the model core (target wuxing_core: framework/model,
// learning, training, the equations, integrators/). The core must not depend on it, so a
// pipeline header included by a file of the core stops the build here. Targets that link
// wuxing_pipeline get WUXING_PIPELINE_LAYER from it (CMakeLists.txt).
#pragma once

#ifndef WUXING_PIPELINE_LAYER
#error "a file of the model core (wuxing_core) includes framework/pipeline/: wrong-way include"
#endif
