// Included by every header of framework/learning/ (target wuxing_learning: losses, training
// rules, optimizers, the epoch loop, the MLP baseline). The layers below (wuxing_base,
// wuxing_integrators, wuxing_model) must not depend on it, so a learning header included by one
// of their files stops the build here. Targets that link wuxing_learning get
// WUXING_LEARNING_LAYER from it (CMakeLists.txt; docs/architecture.md has the layer picture).
#pragma once

#ifndef WUXING_LEARNING_LAYER
#error "a lower layer (base, integrators, model) includes learning/: wrong-way include"
"a file of a lower layer (wuxing_base, wuxing_integrators, wuxing_model) includes "
    "framework/learning/: wrong-way include"
#endif
