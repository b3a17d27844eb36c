// The table of steppers (framework/base/registry.hpp explains the mechanism). A stepper is a
// class implementing Stepper (integrator.hpp) whose .cpp in integrators/ registers it,
// at namespace scope inside `namespace wuxing`:
//
//   WUXING_REGISTER_STEPPER(rk4) {
//     return {"rk4", "one line", [](const IntegrationOptions&) -> std::unique_ptr<Stepper> {...}};
//   }
//
// make_stepper() and stepper_names() (integrator.hpp), spec validation of
// integrator.method, `wuxing run --help` and the docs' test read this table.
#pragma once

#include <memory>
#include <string>

#include "framework/base/registry.hpp"
#include "integrators/integrator.hpp"
#include "integrators/layer.hpp"

namespace wuxing {

enum class Batching { whole_state, per_lane };

struct StepperEntry {
  std::string name;         // the spec's integrator.method
  std::string description;  // one line
  // Throws std::invalid_argument for options the stepper cannot use (e.g. rtol <= 0).
  std::unique_ptr<Stepper> (*make)(const IntegrationOptions& options);
  // per_lane: the model integrates this method with its batched kernel
  // (framework/model/heun.hpp), each sample stopping on its own; whole_state: through `make`
  // on the flattened network state, the batch stopping together.
  Batching batching = Batching::whole_state;
};

const Registry<StepperEntry>& stepper_registry();

}  // namespace wuxing

#define WUXING_REGISTER_STEPPER(id) WUXING_DETAIL_REGISTRATION(StepperEntry, stepper, id)
