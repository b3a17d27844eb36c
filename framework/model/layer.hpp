// Included by every header of framework/model/ and framework/equations/ (target wuxing_model:
// the network, the neuron equations, connectivity, the one-neuron analyses). The layers below
// (wuxing_base, wuxing_integrators) must not depend on the model, so a model header included by
// one of their files stops the build here. Targets that link wuxing_model get
// WUXING_MODEL_LAYER from it (CMakeLists.txt; docs/architecture.md has the layer picture).
#pragma once

#ifndef WUXING_MODEL_LAYER
#error "a lower layer (base, integrators) includes the model: wrong-way include"
#endif
