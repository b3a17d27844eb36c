// Included by every header of integrators/ (target wuxing_integrators): the steppers are the
// layer above the base (framework/base/, target wuxing_base), which must not depend on them, so
// an integrators/ header included by a file of the base stops the build here. Targets that link
// wuxing_integrators get WUXING_INTEGRATORS_LAYER from it (CMakeLists.txt; docs/architecture.md
// has the layer picture).
#pragma once

#ifndef WUXING_INTEGRATORS_LAYER
#error "a lower layer (framework/base) includes integrators/: wrong-way include"
#endif
