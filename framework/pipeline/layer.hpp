// Included by every header of framework/pipeline/ (target wuxing_pipeline: specs, sweeps,
// runner, store, ...), the top layer of the library. The layers below (wuxing_base,
// wuxing_integrators, wuxing_model, wuxing_learning) must not depend on it, so a pipeline header
// included by one of their files stops the build here. Targets that link wuxing_pipeline get
// WUXING_PIPELINE_LAYER from it (CMakeLists.txt; docs/architecture.md has the layer picture).
#pragma once

#ifndef WUXING_PIPELINE_LAYER
#error "a lower layer (base ... learning) includes pipeline/: wrong-way include"
#endif
