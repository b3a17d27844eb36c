// Integrators behind one interface, chosen by name. Steppers (algorithms) are kept
// apart from the state and from the driver loop, as in Boost.Odeint: a system is a
// functor (const State& x, State& dxdt, double t), and the driver reports why it stopped.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "integrators/layer.hpp"

namespace wuxing {

using State = std::vector<double>;
using System = std::function<void(const State& x, State& dxdt, double t)>;

struct IntegrationOptions {
  double h = 0.1;                     // step (initial step for adaptive steppers)
  double t_max = 60.0;                // give up on steady state after this time
  double tol = 1e-6;                  // steady state: max |dx/dt| < tol
  std::size_t max_steps = 1'000'000;  // step cap (hitting it is reported)
  double rtol = 1e-8;                 // adaptive steppers only
  double atol = 1e-10;                // adaptive steppers only
};

// settled: max |dx/dt| < tol. t_max: the time limit was reached (t_max for
// integrate_to_steady, t_end for integrate_until, where it is the normal outcome).
// step_cap: options.max_steps accepted steps were taken first. non_finite: a state
// or rate became NaN or infinite (the state is left as it was, for inspection).
enum class StopReason { settled, t_max, step_cap, non_finite };
std::string_view to_string(StopReason reason);

struct IntegrationReport {
  StopReason reason = StopReason::t_max;
  std::size_t steps = 0;  // accepted steps
  std::size_t rhs_evaluations = 0;
  double t = 0.0;         // time reached
  double max_rate = 0.0;  // max |dx/dt| at the end
};

// Called after every accepted step. It may change the state (clamping to value
// ranges does), so that the integrator continues from what it leaves.
using StepHook = std::function<void(State& x, double t)>;

class Stepper {
 public:
  virtual ~Stepper() = default;
  virtual std::string_view name() const = 0;
  virtual int order() const = 0;
  virtual bool adaptive() const = 0;
  // Advance x from t by one step. Fixed-step steppers use h as given; adaptive ones
  // may shrink it, return the step actually taken through t, and suggest the next h.
  // Returns the number of rhs evaluations it used.
  virtual std::size_t step(const System& system, State& x, double& t, double& h) = 0;
  // Forget anything carried from the previous step (a cached derivative, step-size
  // history). The drivers call it at the start of every integration; call it yourself
  // before stepping a different system with the same stepper.
  virtual void reset() {}
};

// A registered stepper by name (integrators/registry.hpp): "euler", "heun" (improved
// Euler, the default), "rk4" (ours), "odeint_rk4", "odeint_heun" (explicit_generic_rk
// tableau), "dopri5", "cash_karp54", "bulirsch_stoer". Throws std::invalid_argument for
// an unknown name (listing the registered ones) or options the stepper cannot use.
// stepper_names() lists the registered names in registration order.
std::unique_ptr<Stepper> make_stepper(std::string_view name, const IntegrationOptions& options);
std::vector<std::string> stepper_names();
// Whether the model has a per-lane batched kernel for this registered method (the stepper
// table's `batching`, integrators/registry.hpp).
bool integrated_per_lane(std::string_view name);

// Integrate until max |dx/dt| < tol, t >= t_max, the step cap, or a non-finite value.
IntegrationReport integrate_to_steady(Stepper& stepper, const System& system, State& x,
                                      const IntegrationOptions& options, const StepHook& hook = {});

// Integrate from t0 to exactly t_end (the last step is shortened to land on it).
IntegrationReport integrate_until(Stepper& stepper, const System& system, State& x, double t0,
                                  double t_end, const IntegrationOptions& options,
                                  const StepHook& hook = {});

}  // namespace wuxing
